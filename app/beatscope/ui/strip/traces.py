"""One curve per lead, refilled with only what the visible window needs.

Following mne-qt-browser: the curves never hold the whole record. On every
range change each lead gets the visible samples (float64 seconds on x, so a
24-h record keeps sub-millisecond resolution), or the min/max envelope from
the pyramid when the window holds more samples than pixels.

Beats are coloured by class without one item per beat: per lead, one extra
curve per non-N class carries the visible beats of that class, cut around each
R peak and separated by NaN gaps (``connect="finite"``). Zoomed out, the same
curves carry the envelope's columns (one per pixel) that hold a beat of that class,
so at hours per screen every PVC still shows as an orange stroke; and each lead's
envelope is clipped to its own band, so noise on one lead never paints over the
next.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPen

from beatscope.display import BeatStore, MinMaxPyramid
from beatscope.ui import theme

#: The part of each beat drawn in its class colour, relative to the R peak.
BEAT_SPAN_S = (-0.22, 0.40)
#: Raw samples are drawn while there are at most this many per horizontal pixel
#: (a 10-s window at 1 kHz still shows every sample); beyond, a min/max envelope.
RAW_SAMPLES_PER_PIXEL = 8
#: Envelope detail: one min/max pair per horizontal pixel.
ENVELOPE_POINTS_PER_PIXEL = 2
#: Beats coloured segment by segment in a window of raw samples (zoomed further out
#: the envelope is coloured instead, point by point, at no cost per beat).
MAX_COLOURED_BEATS = 400
#: Zoomed out, each lead's envelope stays within this fraction of the lead spacing
#: above and below its baseline.
BAND_FILL = 0.49


def _pen(color: str, width: float = 1.0) -> QPen:
    pen = QPen(QColor(color))
    pen.setCosmetic(True)
    pen.setWidthF(width)
    return pen


class LeadTraces:
    """The curves of every lead, laid out at ``offsets`` (mV) in one PlotItem."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.curves: list[pg.PlotCurveItem] = []
        self.overlays: list[dict[str, pg.PlotCurveItem]] = []
        self.offsets = np.zeros(0)
        self.pyramid: MinMaxPyramid | None = None
        self.beats: BeatStore | None = None
        self.decimated = False

    def set_pyramid(self, pyramid: MinMaxPyramid | None) -> None:
        for item in self.curves + [c for o in self.overlays for c in o.values()]:
            self.plot.removeItem(item)
        self.curves, self.overlays = [], []
        self.pyramid = pyramid
        if pyramid is None:
            return
        for _ in range(pyramid.n_leads):
            curve = pg.PlotCurveItem(pen=_pen(theme.TRACE), skipFiniteCheck=True)
            curve.setZValue(10)
            self.plot.addItem(curve)
            self.curves.append(curve)
            overlay = {}
            for cls in ("S", "V", "F", "Q"):
                c = pg.PlotCurveItem(pen=_pen(theme.CLASS_COLORS[cls], 1.0), connect="finite")
                c.setZValue(11)
                self.plot.addItem(c)
                overlay[cls] = c
            self.overlays.append(overlay)

    def set_beats(self, beats: BeatStore | None) -> None:
        self.beats = beats

    def set_offsets(self, offsets: np.ndarray) -> None:
        self.offsets = np.asarray(offsets, dtype=np.float64)

    def update(self, t0: float, t1: float, width_px: int) -> None:
        """Refill every curve for the window ``[t0, t1]`` seconds drawn ``width_px`` wide."""
        p = self.pyramid
        if p is None or not self.curves:
            return
        i0 = int(np.floor(t0 * p.fs)) - 1
        i1 = int(np.ceil(t1 * p.fs)) + 2
        raw_limit = max(64, RAW_SAMPLES_PER_PIXEL * int(width_px))
        max_points = max(64, ENVELOPE_POINTS_PER_PIXEL * int(width_px))
        self.decimated = (i1 - i0) > raw_limit
        envelopes = []
        for lead, curve in enumerate(self.curves):
            t, y = p.window(lead, i0, i1, max_points, raw_limit)
            if self.decimated:
                y = np.clip(y, -BAND_FILL * self._spacing(), BAND_FILL * self._spacing())
            envelopes.append((t, y))
            curve.setData(t, y + self.offsets[lead])
        if self.decimated:
            self._colour_envelopes(envelopes, t0, t1)
        else:
            self._update_overlays(t0, t1)

    def _spacing(self) -> float:
        return float(self.offsets[0] - self.offsets[1]) if len(self.offsets) > 1 else np.inf

    def _colour_envelopes(self, envelopes, t0: float, t1: float) -> None:
        """Zoomed out: each envelope column holding a beat of a class, in its colour."""
        beats = self.beats
        window = None if beats is None or not len(beats) else beats.in_range(t0, t1)
        for lead, overlay in enumerate(self.overlays):
            t, y = envelopes[lead]
            labels = None if window is None else beats.label[window]
            times = None if window is None else beats.sample[window] / self.pyramid.fs
            for cls, curve in overlay.items():
                if labels is None or not (labels == cls).any() or len(t) < 2:
                    curve.setData([], [])
                    continue
                mine = columns_holding(t, times[labels == cls])
                curve.setData(t, np.where(mine, y + self.offsets[lead], np.nan))

    def _update_overlays(self, t0: float, t1: float) -> None:
        p, beats = self.pyramid, self.beats
        segments: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if beats is not None and len(beats):
            window = beats.in_range(t0 + BEAT_SPAN_S[0], t1 + BEAT_SPAN_S[1])
            if 0 < window.stop - window.start <= MAX_COLOURED_BEATS:
                starts, stops = beat_spans(beats.sample, window, p.fs)
                labels = beats.label[window]
                for cls in ("S", "V", "F", "Q"):
                    mine = labels == cls
                    segments[cls] = (starts[mine], stops[mine])
        for lead, overlay in enumerate(self.overlays):
            for cls, curve in overlay.items():
                spans = segments.get(cls)
                if spans is None or len(spans[0]) == 0:
                    curve.setData([], [])
                    continue
                t, y = _beat_segments(p, lead, *spans)
                curve.setData(t, y + self.offsets[lead])


def beat_spans(sample: np.ndarray, window: slice, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample spans ``[start, stop)`` of the beats in ``window``.

    Each beat runs from ``BEAT_SPAN_S`` around its R peak, but never past the
    midpoint to a neighbour, so a premature beat's colour does not spill onto
    the normal beat next to it.
    """
    r = sample[window].astype(np.int64)
    before = sample[window.start - 1] if window.start > 0 else r[0] - 10 * fs
    after = sample[window.stop] if window.stop < len(sample) else r[-1] + 10 * fs
    prev = np.concatenate([[before], r[:-1]])
    nxt = np.concatenate([r[1:], [after]])
    starts = np.maximum(r + int(round(BEAT_SPAN_S[0] * fs)), (prev + r) // 2)
    stops = np.minimum(r + int(round(BEAT_SPAN_S[1] * fs)), (r + nxt) // 2)
    return starts.astype(np.int64), stops.astype(np.int64)


def columns_holding(t: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Boolean per envelope point: its column holds one of ``times``. The envelope
    comes in (min, max) pairs, one per column (``MinMaxPyramid.window``); both points
    of a column are marked, so the coloured curve draws the column's whole stroke."""
    first = np.clip(np.searchsorted(t, times, side="right") - 1, 0, len(t) - 1) // 2 * 2
    mark = np.zeros(len(t), bool)
    mark[first] = True
    mark[np.minimum(first + 1, len(t) - 1)] = True
    return mark


def _beat_segments(p: MinMaxPyramid, lead: int, starts: np.ndarray,
                   stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The samples of each span, one NaN between spans so they are not joined."""
    ts, ys = [], []
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        t, y = p.window(lead, a, b + 1, 1 << 30)
        ts += [t, [np.nan]]
        ys += [y, [np.nan]]
    return np.concatenate(ts), np.concatenate(ys).astype(np.float32)
