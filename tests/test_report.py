"""The PDF report: its text holds the numbers the analysis and the review hold; a
de-identified report holds nothing that identifies the patient; odd records (no beats,
no classifier, one lead, 10 s, non-ASCII names) give a correct report, not a traceback."""

from __future__ import annotations

import datetime as _dt
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb

from beatscope.aami import AAMI_CLASSES
from beatscope.analysis import AnalysisOptions, analyze
from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
from beatscope.cli.main import main
from beatscope.io import load_record
from beatscope.report import report_pdf
from beatscope.review.session import ReviewSession

pypdf = pytest.importorskip("pypdf")


def pdf_text(data: bytes) -> str:
    """The PDF's text with runs of white space as one space (table cells come out one
    per line)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture(scope="module")
def analysed_119(data_dir):
    record = load_record(data_dir / "mitdb_119.hea")
    result = analyze(record, AnalysisOptions(classifier=load_classifier(ClassifierSpec())))
    result.record = record
    return record, result


def test_the_report_states_the_numbers_the_analysis_holds(analysed_119):
    record, result = analysed_119
    report, data = report_pdf(record, result)
    text = pdf_text(data)
    assert data.startswith(b"%PDF") and len(pypdf.PdfReader(io.BytesIO(data)).pages) >= 3
    for cls in AAMI_CLASSES:  # the beat table, one row per class with its count
        n = int((result.beats.label == cls).sum())
        assert f" {cls} {n:,} " in text, cls
    v = result.rhythm["events"]["ventricular"]
    assert f"Ventricular {v['beats']:,} " in text
    assert f"{len(result.beats):,}" in text
    hr = result.heart_rate
    assert f"{hr['min_bpm']:.0f} bpm" in text and f"{hr['max_bpm']:.0f} bpm" in text
    assert "the model's labels (not reviewed)" in text
    assert "Bigeminy (BIGU)" in text  # 119 is in ventricular bigeminy
    assert "Ventricular ectopic beats are" in text  # > 10 %: an urgent finding, on top
    assert report.strips and "Example of a ventricular beat" in text


def test_a_reviewed_report_counts_the_reviewed_beats_beside_the_models(analysed_119, tmp_path):
    record, result = analysed_119
    review = ReviewSession.open(record, tmp_path / "r.sqlite", result, "Dr. Report")
    v = result.beats.sample[result.beats.label == "V"]
    review.relabel(v[:5], "N")
    review.delete(v[5:7])
    review.text_note("record", "Frequent PVCs in bigeminy; no sustained arrhythmia.")
    report, data = report_pdf(record, result, review)
    text = pdf_text(data)
    model_v = int((result.beats.label == "V").sum())
    assert report.reviewed_counts["V"] == model_v - 7
    assert f"V {model_v:,} {model_v - 7:,}" in text
    assert "Reviewed by Dr. Report: 7 of" in text and "V → N 5" in text
    assert "Frequent PVCs in bigeminy; no sustained arrhythmia." in text
    assert "reviewed labels" in text
    review.close()


def write_named_record(folder: Path, name: str, seconds: float = 60.0) -> Path:
    """A copy of MITDB 100's first minute with a patient's name, ID and date in its
    header, as a hospital export would carry them."""
    x = load_record(Path(__file__).parent / "data" / "mitdb_100.hea").signals[
        : int(seconds * 360)]
    wfdb.wrsamp("holter_jdoe", fs=360, units=["mV", "mV"], sig_name=["MLII", "V5"],
                p_signal=x.astype(np.float64), fmt=["16", "16"], adc_gain=[200.0, 200.0],
                baseline=[0, 0], write_dir=str(folder),
                comments=[f"name: {name}", "patient id: MRN-4471-2209", "age: 67",
                          "sex: female"],
                base_date=_dt.date(2025, 3, 14), base_time=_dt.time(8, 30, 5))
    return folder / "holter_jdoe.hea"


def test_a_deidentified_report_holds_no_name_id_file_name_or_date(tmp_path):
    path = write_named_record(tmp_path, "Zoë Mäkinen-Okafor")
    out = tmp_path / "report.pdf"
    assert main(["report", str(path), "--out", str(out), "--deidentify"]) == 0
    data = out.read_bytes()
    text = pdf_text(data)
    for secret in ("Zoë", "Mäkinen", "Okafor", "MRN-4471-2209", "holter_jdoe", "2025-03-14",
                   "14 Mar 2025"):
        assert secret.encode() not in data and secret not in text, secret
    assert "anonymous" in text and "67 / female" in text and "08:30:05" in text
    meta = pypdf.PdfReader(out).metadata
    assert "Zoë" not in str(meta) and "holter_jdoe" not in str(meta)
    # the same record, identified: the name is printed (non-ASCII intact)
    named = tmp_path / "named.pdf"
    assert main(["report", str(path), "--out", str(named)]) == 0
    assert "Zoë Mäkinen-Okafor" in pdf_text(named.read_bytes())


@pytest.mark.parametrize("case", ["flat", "one_lead_10s", "no_classifier"])
def test_odd_records_get_a_report_that_says_what_is_absent(tmp_path, case, data_dir):
    from beatscope.io import Record

    x = load_record(data_dir / "mitdb_100.hea").signals
    if case == "flat":
        record = Record("flat", np.zeros((360 * 30, 2), np.float32), 360.0, ["I", "II"],
                        ["mV", "mV"])
    elif case == "one_lead_10s":
        record = Record("short", x[: 3600, :1].copy(), 360.0, ["MLII"], ["mV"])
    else:
        record = Record("plain", x[: 360 * 60].copy(), 360.0, ["MLII", "V5"], ["mV", "mV"])
    classifier = None if case != "one_lead_10s" else load_classifier(ClassifierSpec())
    result = analyze(record, AnalysisOptions(classifier=classifier))
    result.record = record
    report, data = report_pdf(record, result)
    text = pdf_text(data)
    assert data.startswith(b"%PDF")
    if case == "flat":
        assert report.total_beats == 0 and "Minimum —" in text
    if case in ("flat", "no_classifier"):
        assert "No beat classifier ran" in text
    if case == "one_lead_10s":
        assert "MLII" in text and report.total_beats > 5


def test_report_from_an_earlier_analysis_matches_a_fresh_one(tmp_path, data_dir):
    record = data_dir / "mitdb_119.hea"
    assert main(["analyze", str(record), "--out", str(tmp_path / "out")]) == 0
    fresh, saved = tmp_path / "fresh.pdf", tmp_path / "saved.pdf"
    assert main(["report", str(record), "--out", str(fresh)]) == 0
    assert main(["report", str(record), "--from", str(tmp_path / "out"),
                 "--out", str(saved)]) == 0
    a, b = pdf_text(fresh.read_bytes()), pdf_text(saved.read_bytes())
    assert a[a.index("Beats —"):a.index("Rhythm findings")] == \
        b[b.index("Beats —"):b.index("Rhythm findings")]


def test_report_errors_are_one_line(tmp_path, capsys, data_dir):
    shutil.copy(data_dir / "mitdb_100.hea", tmp_path / "x.hea")  # no .dat beside it
    assert main(["report", str(tmp_path / "x.hea"), "--out", str(tmp_path / "x.pdf")]) != 0
    assert main(["report", str(data_dir / "mitdb_100.hea"), "--out", str(tmp_path / "y.pdf"),
                 "--review", str(tmp_path / "none.sqlite")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("beatscope") or ":" in line for line in err)
    assert not (tmp_path / "x.pdf").exists()


def test_a_resting_twelve_lead_record_gets_the_3_by_4_page(tmp_path, resting_twelve_lead):
    from conftest import TWELVE_LEADS as names

    out = tmp_path / "rest12.pdf"
    assert main(["report", str(resting_twelve_lead), "--out", str(out),
                 "--paper", "letter"]) == 0
    reader = pypdf.PdfReader(out)
    last = reader.pages[-1]
    width, height = float(last.mediabox.width), float(last.mediabox.height)
    assert width > height  # landscape
    assert abs(float(reader.pages[0].mediabox.width) - 612) < 1  # US Letter
    text = " ".join(last.extract_text().split())
    assert "12-lead ECG" in text
    for lead in names:
        assert f" {lead} " in f" {text} ", lead


def test_a_48_hour_record_reports_every_hour(tmp_path):
    from types import SimpleNamespace

    from beatscope.analysis.result import BeatTable
    from beatscope.io import Record

    fs, hours = 50.0, 48
    n = int(hours * 3600 * fs)
    t = np.arange(n, dtype=np.float32) / fs
    signals = (0.05 * np.sin(2 * np.pi * 0.3 * t))[:, None].astype(np.float32)
    sample = np.arange(int(0.5 * fs), n - int(fs), int(0.8 * fs), dtype=np.int64)
    signals[sample, 0] += 1.0  # a spike per beat, for the strips to show
    labels = np.where(np.arange(len(sample)) % 97 == 0, "V", "N")
    record = Record("two_days", signals, fs, ["ECG"], ["mV"])
    result = SimpleNamespace(beats=BeatTable(sample, labels, None), rhythm=None,
                             classifier=None, rhythm_model=None, rhythm_inputs=None,
                             warnings=[])
    report, data = report_pdf(record, result)
    text = pdf_text(data)
    assert len(report.hourly) == hours and report.total_beats == len(sample)
    assert " 48 47:00 60 4,499 75 75 75 " in text  # the last hour (its last beat is cut)
    assert "No rhythm finding." in text and report.heart_rate.mean_bpm == 75.0


def test_the_report_command_reads_the_records_review_and_never_changes_it(data_dir,
                                                                           tmp_path):
    from beatscope.review.sidecar import review_path

    record = load_record(data_dir / "mitdb_119.hea")
    result = analyze(record, AnalysisOptions(classifier=load_classifier(ClassifierSpec()),
                                             rhythm_model=None))  # another analysis
    path = review_path(record)  # where the viewer keeps it (this test's own folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    review = ReviewSession.open(record, path, result, "Dr. Side")
    review.relabel(result.beats.sample[result.beats.label == "V"][:3], "N")
    review.close()
    before = path.read_bytes()
    out = tmp_path / "r.pdf"
    assert main(["report", str(data_dir / "mitdb_119.hea"), "--out", str(out)]) == 0
    text = pdf_text(out.read_bytes())
    assert "Reviewed by Dr. Side: 3 of" in text and "V → N 3" in text
    assert path.read_bytes() == before  # no re-analysis moved onto it, no history lost
