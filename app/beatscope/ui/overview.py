"""The whole record at a glance: min/max envelope, heart-rate trend, viewport.

Two rows share the time axis: the first lead's peak envelope (from the same
pyramid the strip uses), and the median heart rate per bin. The shaded region
is the strip's window; drag it to move there, or click anywhere to centre it.
It follows the session's record and beats through the session's events.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal

from beatscope.display import (
    BeatStore,
    MinMaxPyramid,
    Phase,
    ViewerSession,
    heart_rate_trend,
)
from beatscope.ui import theme
from beatscope.ui.strip.time_axis import TimeAxis

#: Heart-rate bins across the record (a median rate each), at most...
TREND_BINS = 600
#: ...and none shorter than this, so a short record's trend is a line of a few
#: beats per bin rather than scattered single intervals.
MIN_TREND_BIN_S = 5.0
#: Envelope points across the record.
ENVELOPE_POINTS = 3000


class OverviewStrip(pg.GraphicsLayoutWidget):
    window_moved = Signal(float, float)  # the user moved the viewport to t0, t1
    clicked_at = Signal(float)

    def __init__(self, session: ViewerSession, parent=None):
        super().__init__(parent=parent)
        self.session = session
        self.setBackground("#fafafa")
        self.ecg_plot = self.addPlot(row=0, col=0)
        self.hr_plot = self.addPlot(row=1, col=0, axisItems={"bottom": TimeAxis("bottom")})
        self.ci.layout.setRowStretchFactor(0, 1)
        self.ci.layout.setRowStretchFactor(1, 1)
        for plot in (self.ecg_plot, self.hr_plot):
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.getAxis("left").setWidth(44)
        self.ecg_plot.hideAxis("bottom")
        self.ecg_plot.getAxis("left").setTicks([[]])
        self.ecg_plot.getAxis("left").enableAutoSIPrefix(False)  # no "(x0.001)" on a label
        self.ecg_plot.setLabel("left", "ECG")
        self.hr_plot.setLabel("left", "bpm")
        self.hr_plot.setXLink(self.ecg_plot)
        self.envelope = pg.PlotCurveItem(pen=pg.mkPen(theme.OVERVIEW_TRACE, width=1))
        self.ecg_plot.addItem(self.envelope)
        self.hr_curve = pg.PlotCurveItem(pen=pg.mkPen(theme.HEART_RATE, width=1.5),
                                         connect="finite")
        self.hr_plot.addItem(self.hr_curve)
        brush = pg.mkBrush(0, 114, 178, 50)
        self.regions = [pg.LinearRegionItem(brush=brush, pen=pg.mkPen("#0072B2")),
                        pg.LinearRegionItem(brush=brush, pen=pg.mkPen("#0072B2"))]
        for plot, region in zip((self.ecg_plot, self.hr_plot), self.regions, strict=True):
            region.setZValue(10)
            plot.addItem(region, ignoreBounds=True)
            region.sigRegionChanged.connect(self._on_region_changed)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.duration_s = 0.0
        self._syncing = False
        self.setMinimumHeight(110)
        # Streamed blocks refresh the trend at most twice a second.
        self._trend_timer = QTimer(self, singleShot=True, interval=500)
        self._trend_timer.timeout.connect(lambda: self.set_beats(session.beats))
        e = session.events
        e.loaded.connect(lambda: self.set_record(session.pyramid, session.duration_s))
        e.beats_reset.connect(lambda: self.set_beats(session.beats))
        e.beats_added.connect(lambda first, count: self._trend_timer.isActive()
                              or self._trend_timer.start())
        e.phase_changed.connect(self._on_phase)

    def _on_phase(self) -> None:
        """The analysis is complete: the whole trend now, not after the stream's timer
        (a screenshot taken at once showed none)."""
        if self.session.phase is Phase.DONE:
            self._trend_timer.stop()
            self.set_beats(self.session.beats)

    def set_record(self, pyramid: MinMaxPyramid | None, duration_s: float) -> None:
        self.duration_s = float(duration_s)
        self.hr_curve.setData([], [])
        if pyramid is None:
            self.envelope.setData([], [])
            return
        t, y = pyramid.window(0, 0, pyramid.n_samples, ENVELOPE_POINTS)
        self.envelope.setData(t, y)
        lo, hi = np.percentile(y, [0.5, 99.5]) if len(y) else (0.0, 1.0)
        self.ecg_plot.setYRange(lo, hi, padding=0.05)
        for plot in (self.ecg_plot, self.hr_plot):
            # limits first: the previous record's limits would clamp a longer range
            plot.setLimits(xMin=0, xMax=max(duration_s, 1e-3))
            plot.setXRange(0, max(duration_s, 1e-3), padding=0)
        for region in self.regions:
            region.setBounds((0, duration_s))

    def set_beats(self, beats: BeatStore | None) -> None:
        if beats is None or len(beats) < 2 or self.duration_s <= 0:
            self.hr_curve.setData([], [])
            return
        n_bins = int(np.clip(self.duration_s / MIN_TREND_BIN_S, 1, TREND_BINS))
        t, hr = heart_rate_trend(beats.sample, beats.fs, self.duration_s, n_bins)
        self.hr_curve.setData(t, hr)
        finite = hr[np.isfinite(hr)]
        if len(finite):
            lo, hi = float(finite.min()), float(finite.max())
            self.hr_plot.setYRange(max(0.0, lo - 10), hi + 10, padding=0)

    def show_window(self, t0: float, t1: float) -> None:
        """Follow the strip (does not emit ``window_moved``)."""
        self._syncing = True
        try:
            for region in self.regions:
                region.setRegion((t0, t1))
        finally:
            self._syncing = False

    def _on_region_changed(self, region) -> None:
        if self._syncing:
            return
        t0, t1 = region.getRegion()
        self.show_window(t0, t1)  # keep both rows' regions together
        self.window_moved.emit(float(t0), float(t1))

    def _on_click(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.isAccepted():
            return
        for plot in (self.ecg_plot, self.hr_plot):
            if plot.vb.sceneBoundingRect().contains(ev.scenePos()):
                self.clicked_at.emit(float(plot.vb.mapSceneToView(ev.scenePos()).x()))
                return
