"""The PDF summary report: a Qt-free model of everything a Holter report states
(:mod:`.model`), and its pages (:mod:`.pdf`)."""

from __future__ import annotations

from pathlib import Path

from beatscope.report.model import Report, build_report, counted_beats


def report_pdf(record, result, review=None, *, rhythm: dict | None = None,
               paper: str = "a4", deidentify: bool = False) -> tuple[Report, bytes]:
    """The report model and its PDF's bytes."""
    from beatscope.report.pdf import render_pdf

    report = build_report(record, result, review, rhythm, deidentify)
    samples, labels, _ = counted_beats(result, review)
    return report, render_pdf(report, record, samples, labels, paper,
                              twelve_lead=_twelve_lead_page(record))


def _twelve_lead_page(record):
    """The 3 x 4 page's builder for a resting 12-lead record, else None."""
    try:
        from beatscope.display.twelve_lead import is_resting_twelve_lead
    except ImportError:
        return None
    if not is_resting_twelve_lead(record):
        return None
    from beatscope.report.twelve_lead_page import twelve_lead_flowables

    return lambda styles, font: twelve_lead_flowables(record, styles, font)


def write_report(path: Path, record, result, review=None, **options) -> Report:
    from beatscope.report.pdf import write_pdf

    report, data = report_pdf(record, result, review, **options)
    write_pdf(path, data)
    return report


__all__ = ["Report", "build_report", "report_pdf", "write_report"]
