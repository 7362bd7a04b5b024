"""The report's drawings as reportlab flowables: ECG strips on paper at true scale, and
the heart-rate trend with the ectopy per hour.

The strips use the viewer's paper geometry (:mod:`beatscope.display.paper`: 25 mm/s,
10 mm/mV, 1-mm and 5-mm lines) and colours (:mod:`beatscope.display.palette`), so a
printed strip measures like the screen's. Everything is vector; the trend is at most
one point per minute (a few thousand for 48 h), never one per beat.
"""

from __future__ import annotations

import numpy as np
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from beatscope.display.clock import format_clock
from beatscope.display.palette import (
    CLASS_COLORS,
    GRID_LARGE,
    GRID_SMALL,
    PAPER_BACKGROUND,
    TRACE,
)
from beatscope.display.paper import DEFAULT_GAIN, DEFAULT_SPEED
from beatscope.report.numbers import Trend
from beatscope.report.strips import STRIP_S, Strip

#: Millimetres a strip gives each lead: a 3-mV QRS fits at 10 mm/mV (taller ones are
#: clipped at the band's edge rather than drawn over the next lead).
LEAD_MM = 30.0
#: Leads a strip prints (the first of the record: the ones the classifier reads).
STRIP_LEADS = 2


def _hex(color: str):
    return colors.HexColor(color)


def paper_grid(canvas, x0: float, y0: float, width_mm: float, height_mm: float) -> None:
    """1-mm and 5-mm lines over ``width_mm`` x ``height_mm`` from (x0, y0) in points."""
    canvas.saveState()
    for step, color, line in ((1, GRID_SMALL, 0.25), (5, GRID_LARGE, 0.5)):
        canvas.setStrokeColor(_hex(color))
        canvas.setLineWidth(line)
        path = canvas.beginPath()
        for i in range(0, int(width_mm) + 1, step):
            path.moveTo(x0 + i * mm, y0)
            path.lineTo(x0 + i * mm, y0 + height_mm * mm)
        for j in range(0, int(height_mm) + 1, step):
            path.moveTo(x0, y0 + j * mm)
            path.lineTo(x0 + width_mm * mm, y0 + j * mm)
        canvas.drawPath(path, stroke=1, fill=0)
    canvas.restoreState()


def trace(canvas, x0: float, baseline_y: float, t: np.ndarray, mv: np.ndarray,
          speed: float = DEFAULT_SPEED, gain: float = DEFAULT_GAIN,
          clip_mm: float | None = None) -> None:
    """A trace at true scale: ``t`` seconds from the left edge, ``mv`` millivolts."""
    if len(t) < 2:
        return
    y = np.asarray(mv, dtype=np.float64) * gain
    if clip_mm is not None:
        y = np.clip(y, -clip_mm, clip_mm)
    xs = x0 + np.asarray(t) * speed * mm
    ys = baseline_y + y * mm
    path = canvas.beginPath()
    path.moveTo(float(xs[0]), float(ys[0]))
    for x, yy in zip(xs[1:].tolist(), ys[1:].tolist(), strict=True):
        path.lineTo(x, yy)
    canvas.setStrokeColor(_hex(TRACE))
    canvas.setLineWidth(0.5)
    canvas.drawPath(path, stroke=1, fill=0)


def calibration_pulse(canvas, x0: float, baseline_y: float,
                      gain: float = DEFAULT_GAIN) -> None:
    """The 1-mV, 200-ms calibration pulse printed at the left of each row."""
    w = 0.2 * DEFAULT_SPEED * mm
    h = 1.0 * gain * mm
    path = canvas.beginPath()
    path.moveTo(x0, baseline_y)
    path.lineTo(x0 + w * 0.25, baseline_y)
    path.lineTo(x0 + w * 0.25, baseline_y + h)
    path.lineTo(x0 + w * 0.75, baseline_y + h)
    path.lineTo(x0 + w * 0.75, baseline_y)
    path.lineTo(x0 + w, baseline_y)
    canvas.setStrokeColor(_hex(TRACE))
    canvas.setLineWidth(0.6)
    canvas.drawPath(path, stroke=1, fill=0)


class StripFlowable(Flowable):
    """One strip: its title line, then ``STRIP_LEADS`` leads over ``STRIP_S`` seconds on
    paper, each beat's label above it in its class colour, the event marked."""

    def __init__(self, strip: Strip, record, samples: np.ndarray, labels: np.ndarray,
                 font: str):
        super().__init__()
        self.strip, self.record, self.font = strip, record, font
        fs = float(record.fs)
        t0 = strip.start_s
        inside = (samples >= t0 * fs) & (samples < (t0 + STRIP_S) * fs)
        self.beat_t = samples[inside] / fs - t0
        self.beat_label = labels[inside]
        rr = np.diff(samples[inside]) / fs
        self.hr = None if len(rr) == 0 else 60.0 / float(np.median(rr))
        self.leads = list(range(min(STRIP_LEADS, record.n_leads)))
        self.width = STRIP_S * DEFAULT_SPEED * mm + 6 * mm
        self.height = (len(self.leads) * LEAD_MM + 14) * mm

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self) -> None:
        c, record, fs = self.canv, self.record, float(self.record.fs)
        strip_w = STRIP_S * DEFAULT_SPEED
        paper_h = len(self.leads) * LEAD_MM
        x0 = 6 * mm
        title = (f"{self.strip.title}  ·  {format_clock(self.strip.start_s)}"
                 + ("" if self.hr is None else f"  ·  strip {self.hr:.0f} bpm")
                 + "  ·  25 mm/s, 10 mm/mV")
        c.setFont(self.font, 8.5)
        c.setFillColor(colors.black)
        c.drawString(0, self.height - 4 * mm, title)
        c.setFillColor(_hex(PAPER_BACKGROUND))
        c.rect(x0, 0, strip_w * mm, paper_h * mm, stroke=0, fill=1)
        paper_grid(c, x0, 0, strip_w, paper_h)
        a = int(self.strip.start_s * fs)
        b = min(record.n_samples, int((self.strip.start_s + STRIP_S) * fs) + 1)
        for k, lead in enumerate(self.leads):
            base = (paper_h - (k + 0.5) * LEAD_MM) * mm
            y = np.asarray(record.signals[a:b, lead], dtype=np.float64)
            y = y - np.median(y) if len(y) else y
            t = np.arange(len(y)) / fs
            trace(c, x0, base, t, y, clip_mm=LEAD_MM / 2 - 0.5)
            c.setFont(self.font, 7)
            c.setFillColor(colors.black)
            c.drawString(x0 + 1 * mm, base + (LEAD_MM / 2 - 3.5) * mm,
                         record.lead_names[lead])
        focus = (self.strip.focus_s - self.strip.start_s) * DEFAULT_SPEED * mm + x0
        c.setStrokeColor(_hex("#009E73"))
        c.setLineWidth(0.8)
        c.line(focus, paper_h * mm, focus, paper_h * mm + 1.5 * mm)
        c.setFont(self.font, 7.5)
        for t, label in zip(self.beat_t.tolist(), self.beat_label.tolist(), strict=True):
            c.setFillColor(_hex(CLASS_COLORS.get(label, TRACE)))
            c.drawCentredString(x0 + t * DEFAULT_SPEED * mm, paper_h * mm + 2.2 * mm, label)


class TrendFlowable(Flowable):
    """The heart rate per bin (the min-max band and the mean), and beneath it the
    ventricular and supraventricular beats per bin, over the whole recording."""

    def __init__(self, trend: Trend, duration_s: float, width: float, font: str):
        super().__init__()
        self.trend, self.duration_s, self.font = trend, duration_s, font
        self.width, self.height = width, 95 * mm

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def _x(self, t: float) -> float:
        return 14 * mm + (self.width - 16 * mm) * t / max(self.duration_s, 1e-9)

    def draw(self) -> None:
        c, tr = self.canv, self.trend
        top, hr_h, gap, ect_h = self.height - 6 * mm, 52 * mm, 10 * mm, 22 * mm
        hr_y0 = top - hr_h
        finite = np.isfinite(tr.mean_bpm)
        hi = float(np.nanmax(tr.max_bpm)) if finite.any() else 120.0
        lo = float(np.nanmin(tr.min_bpm)) if finite.any() else 40.0
        lo, hi = max(0.0, np.floor(lo / 20) * 20), np.ceil(hi / 20) * 20 + 1e-9

        def y_hr(b: float) -> float:
            return hr_y0 + hr_h * (b - lo) / max(hi - lo, 1e-9)
        c.setFont(self.font, 8.5)
        c.drawString(0, self.height - 3 * mm,
                     f"Heart rate (min, mean, max per {tr.bin_s / 60:.0f} min, 8-beat rate)")
        c.setFont(self.font, 6.5)
        c.setStrokeColor(colors.lightgrey)
        c.setLineWidth(0.3)
        for b in np.arange(lo, hi + 1, 20):
            c.line(self._x(0), y_hr(b), self._x(self.duration_s), y_hr(b))
            c.drawRightString(12 * mm, y_hr(b) - 2, f"{b:.0f}")
        start = tr.start_s + tr.bin_s / 2
        c.setStrokeColor(_hex("#e8a0b4"))
        c.setLineWidth(0.6)
        for t, a, b in zip(start[finite], tr.min_bpm[finite], tr.max_bpm[finite], strict=True):
            c.line(self._x(t), y_hr(a), self._x(t), y_hr(b))
        c.setStrokeColor(_hex("#b03060"))
        c.setLineWidth(0.8)
        path, pen_down = c.beginPath(), False
        for t, m in zip(start.tolist(), tr.mean_bpm.tolist(), strict=True):
            if m != m:
                pen_down = False
                continue
            (path.lineTo if pen_down else path.moveTo)(self._x(t), y_hr(m))
            pen_down = True
        c.drawPath(path, stroke=1, fill=0)
        # ectopy per bin, V up and S down from a middle line
        ect_y0 = hr_y0 - gap - ect_h
        mid = ect_y0 + ect_h / 2
        peak = max(1, int(tr.v_count.max(initial=0)), int(tr.s_count.max(initial=0)))
        c.setFont(self.font, 7)
        c.setFillColor(colors.black)
        c.drawString(0, hr_y0 - gap + 2 * mm,
                     f"Ectopic beats per {tr.bin_s / 60:.0f} min: V above the line, S below "
                     f"(largest {peak})")
        bar = max(0.3, (self.width - 16 * mm) / max(len(tr.start_s), 1) * 0.8)
        for counts, sign, color in ((tr.v_count, 1, CLASS_COLORS["V"]),
                                    (tr.s_count, -1, CLASS_COLORS["S"])):
            c.setFillColor(_hex(color))
            for t, n in zip(tr.start_s.tolist(), counts.tolist(), strict=True):
                if n:
                    h = (ect_h / 2) * n / peak
                    c.rect(self._x(t), mid if sign > 0 else mid - h, bar, h, stroke=0, fill=1)
        c.setStrokeColor(colors.grey)
        c.line(self._x(0), mid, self._x(self.duration_s), mid)
        # the hours under both
        c.setFont(self.font, 6.5)
        c.setFillColor(colors.black)
        step = 3600.0 if self.duration_s > 4 * 3600 else 600.0 if self.duration_s > 1800 \
            else 60.0
        for t in np.arange(0, self.duration_s + 1, step * max(1, int(self.duration_s
                                                                      / step / 12))):
            c.drawCentredString(self._x(t), ect_y0 - 4 * mm, format_clock(t)[:5]
                                if step >= 600 else format_clock(t))
