"""The strip view: leads stacked on ECG paper at a chosen speed and gain.

The time span on screen follows from the plot width and the speed, the
millivolts from its height and the gain, so 25 mm/s and 10 mm/mV mean real
millimetres on the display (see ``display.paper``). Wheel and +/- zoom the time
axis only; dragging pans it; Shift+drag measures with calipers; Ctrl+drag selects
the beats under a band (for a review edit); a click selects a beat; a right click
asks for the review menu. Amplitude is fixed by the gain, as on paper.

The view follows its :class:`~beatscope.display.ViewerSession`: it connects to the
session's events in its constructor and redraws itself; it tells the session what
the user picked (a beat, a band) and nothing else.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPen

from beatscope.display import (
    BeatStore,
    CaliperMeasurement,
    MinMaxPyramid,
    PaperScale,
    ViewerSession,
)
from beatscope.ui import theme
from beatscope.ui.strip.beat_marks import BeatMarks
from beatscope.ui.strip.calipers import CaliperOverlay
from beatscope.ui.strip.paper_grid import PaperGrid
from beatscope.ui.strip.time_axis import TimeAxis
from beatscope.ui.strip.traces import LeadTraces

#: Shortest window the wheel can zoom into.
MIN_SPAN_S = 0.5
#: One wheel notch or one +/- press zooms by this factor.
ZOOM_STEP = 1.25


class StripViewBox(pg.ViewBox):
    """Wheel zooms time only; drag pans (time, and the lead stack when it is taller
    than the window); Shift+left-drag is handed to the calipers instead, and
    Ctrl+left-drag to the beat selection band."""

    caliper_drag = Signal(object, object, bool, bool)  # start (x,y), now (x,y), first, last
    band_drag = Signal(float, float, bool)  # start t, now t, finished

    def __init__(self):
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)

    def wheelEvent(self, ev, axis=None):  # noqa: N802 (Qt API)
        super().wheelEvent(ev, axis=0)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt API)
        shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if ev.button() == Qt.MouseButton.LeftButton and shift:
            ev.accept()
            start = self.mapSceneToView(ev.buttonDownScenePos(ev.button()))
            now = self.mapSceneToView(ev.scenePos())
            self.caliper_drag.emit((start.x(), start.y()), (now.x(), now.y()),
                                   ev.isStart(), ev.isFinish())
            return
        ctrl = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if ev.button() == Qt.MouseButton.LeftButton and ctrl:
            ev.accept()
            start = self.mapSceneToView(ev.buttonDownScenePos(ev.button()))
            now = self.mapSceneToView(ev.scenePos())
            self.band_drag.emit(start.x(), now.x(), ev.isFinish())
            return
        super().mouseDragEvent(ev)  # the y pan is enabled only when leads overflow


class StripView(pg.PlotWidget):
    """The main ECG strip of the open record."""

    range_changed = Signal(float, float)  # t0, t1 seconds
    cursor_moved = Signal(float, int, float)  # t seconds, lead, mV relative to its baseline
    caliper_measured = Signal(object)  # CaliperMeasurement
    #: a right click at time t: the window offers the review menu there
    context_requested = Signal(float, QPoint)
    pointer_left = Signal()

    def __init__(self, session: ViewerSession, scale: PaperScale | None = None, parent=None):
        self.box = StripViewBox()
        super().__init__(parent=parent, viewBox=self.box, axisItems={"bottom": TimeAxis("bottom")},
                         background=theme.PAPER_BACKGROUND)
        self.scale = scale or PaperScale()
        plot = self.getPlotItem()
        plot.hideButtons()
        plot.hideAxis("left")
        plot.setMenuEnabled(False)
        plot.getAxis("bottom").setPen(pg.mkPen("#888"))
        plot.getAxis("bottom").setTextPen(pg.mkPen("#333"))
        self.grid = PaperGrid(self.scale)
        plot.addItem(self.grid, ignoreBounds=True)
        self.traces = LeadTraces(plot)
        self.marks = BeatMarks(plot)
        self.calipers = CaliperOverlay(plot)
        pen = QPen(QColor(theme.SELECTED_BEAT))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        self.selected_line = pg.InfiniteLine(angle=90, pen=pen, movable=False)
        self.selected_line.setZValue(5)
        self.selected_line.hide()
        plot.addItem(self.selected_line, ignoreBounds=True)
        self.band = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*theme.SELECTION_BAND),
                                        pen=pg.mkPen(theme.SELECTED_BEAT))
        self.band.setZValue(4)
        self.band.hide()
        plot.addItem(self.band, ignoreBounds=True)
        # the rhythm episode last shown (] and [, the Rhythm tab), shaded in its colour
        self.episode_band = pg.LinearRegionItem(movable=False)
        self.episode_band.setZValue(3)
        self.episode_band.hide()
        plot.addItem(self.episode_band, ignoreBounds=True)
        #: where the pointer last was on the strip (seconds): Insert adds a beat there
        self.hover_time: float | None = None
        self.lead_labels: list[pg.TextItem] = []
        self.pyramid: MinMaxPyramid | None = None
        self.beats: BeatStore | None = None
        self.duration_s = 0.0
        self.spacing_mv = 3.0
        self._lead_names: list[str] = []
        self.box.sigXRangeChanged.connect(self._on_x_range)
        self.box.caliper_drag.connect(self._on_caliper_drag)
        self.box.band_drag.connect(self._on_band_drag)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        # Coalesce bursts (a wheel spin, a streamed block) into one refill per frame.
        self._refresh_timer = QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self.refresh)
        self.setMinimumHeight(200)
        self.session = session
        e = session.events
        e.loaded.connect(self._on_loaded)
        e.beats_reset.connect(lambda: self.set_beats(session.beats))
        e.beats_added.connect(lambda first, count: self.schedule_refresh())
        e.labels_changed.connect(lambda index: self.schedule_refresh())
        e.selection_changed.connect(self._on_selection)

    def show_episode(self, start_s: float, end_s: float, label: str) -> None:
        color = QColor(theme.rhythm_color(label))
        color.setAlpha(45)
        self.episode_band.setBrush(pg.mkBrush(color))
        edge = QColor(theme.rhythm_color(label))
        self.episode_band.lines[0].setPen(pg.mkPen(edge, width=2))
        self.episode_band.lines[1].setPen(pg.mkPen(edge, width=2))
        self.episode_band.setRegion((start_s, max(end_s, start_s + 0.05)))
        self.episode_band.show()

    def _on_loaded(self) -> None:
        self.episode_band.hide()
        record = self.session.record
        self.set_record(self.session.pyramid, record.lead_names, record.duration_s)
        self.refresh()  # paint the signal now, not on the next event-loop pass

    def _on_selection(self) -> None:
        session = self.session
        if session.selected_beat is None:
            self.select_time(None)
        else:
            t = session.beat_time(session.selected_beat)
            self.select_time(t)
            self.ensure_visible(t)
        self._show_band()

    def _show_band(self) -> None:
        chosen = self.session.selection
        if len(chosen) < 2 or self.beats is None:
            self.band.hide()
            return
        pad = 0.1  # seconds either side, so the first and last beats sit inside it
        self.band.setRegion((chosen[0] / self.beats.fs - pad, chosen[-1] / self.beats.fs + pad))
        self.band.show()

    # ------------------------------------------------------------------ content
    def set_record(self, pyramid: MinMaxPyramid | None, lead_names: list[str],
                   duration_s: float) -> None:
        self.pyramid = pyramid
        self.duration_s = float(duration_s)
        self._lead_names = list(lead_names)
        self.traces.set_pyramid(pyramid)
        for label in self.lead_labels:
            self.removeItem(label)
        self.lead_labels = []
        for name in lead_names:
            label = pg.TextItem(name, color="#333", anchor=(0, 0))  # hangs below the band top
            label.setZValue(25)
            self.addItem(label, ignoreBounds=True)
            self.lead_labels.append(label)
        self.calipers.hide()
        self.select_time(None)
        if pyramid is None:
            return
        self.box.setLimits(xMin=0.0, xMax=max(self.duration_s, MIN_SPAN_S),
                           minXRange=MIN_SPAN_S, maxXRange=max(self.duration_s, MIN_SPAN_S))
        self._layout_leads()
        self.show_window(0.0, self.scale.seconds_for_width(self._plot_width()))

    def set_beats(self, beats: BeatStore | None) -> None:
        self.beats = beats
        self.traces.set_beats(beats)
        self.schedule_refresh()

    def set_scale(self, scale: PaperScale) -> None:
        """New nominal speed/gain: the window keeps its left edge, the span follows."""
        t0 = self.visible_range()[0]
        self.scale = scale
        self.grid.set_scale(scale)
        self._layout_leads()
        if self.pyramid is not None:
            self.show_window(t0, scale.seconds_for_width(self._plot_width()))

    # --------------------------------------------------------------- navigation
    def visible_range(self) -> tuple[float, float]:
        (t0, t1), _ = self.box.viewRange()
        return float(t0), float(t1)

    def show_window(self, t0: float, span: float) -> None:
        span = float(np.clip(span, MIN_SPAN_S, max(self.duration_s, MIN_SPAN_S)))
        t0 = float(np.clip(t0, 0.0, max(0.0, self.duration_s - span)))
        self.box.setXRange(t0, t0 + span, padding=0)

    def center_on(self, t: float) -> None:
        t0, t1 = self.visible_range()
        self.show_window(t - (t1 - t0) / 2, t1 - t0)

    def ensure_visible(self, t: float, margin: float = 0.1) -> None:
        t0, t1 = self.visible_range()
        span = t1 - t0
        if not (t0 + margin * span <= t <= t1 - margin * span):
            self.center_on(t)

    def page(self, pages: float) -> None:
        """Scroll by ``pages`` windows (0.9 of a window each, so context overlaps)."""
        t0, t1 = self.visible_range()
        self.show_window(t0 + 0.9 * pages * (t1 - t0), t1 - t0)

    def zoom(self, factor: float, center: float | None = None) -> None:
        """Zoom in (factor > 1) or out around ``center`` (default: the window centre)."""
        t0, t1 = self.visible_range()
        c = 0.5 * (t0 + t1) if center is None else center
        span = (t1 - t0) / factor
        frac = (c - t0) / max(t1 - t0, 1e-9)
        self.show_window(c - frac * span, span)

    def reset_zoom(self) -> None:
        """Back to the nominal speed, keeping the window centre."""
        t0, t1 = self.visible_range()
        span = self.scale.seconds_for_width(self._plot_width())
        self.show_window(0.5 * (t0 + t1) - span / 2, span)

    def effective_speed(self) -> float:
        t0, t1 = self.visible_range()
        return self.scale.effective_speed(self._plot_width(), t1 - t0)

    def select_time(self, t: float | None) -> None:
        if t is None:
            self.selected_line.hide()
        else:
            self.selected_line.setValue(t)
            self.selected_line.show()

    # ------------------------------------------------------------------ drawing
    def schedule_refresh(self) -> None:
        self._refresh_timer.start()

    def refresh(self) -> None:
        """Refill the curves and marks for the visible window."""
        if self.pyramid is None:
            return
        t0, t1 = self.visible_range()
        width = self._plot_width()
        self.traces.update(t0, t1, width)
        self.marks.update(self.beats, t0, t1, width)
        for label, offset in zip(self.lead_labels, self.traces.offsets, strict=False):
            label.setPos(t0, offset + 0.5 * self.spacing_mv)

    def scroll_leads(self, first_lead: int) -> None:
        """Show the stack from ``first_lead`` down (when it is taller than the window)."""
        (y0, y1) = self.box.viewRange()[1]
        top = 0.5 * self.spacing_mv - first_lead * self.spacing_mv
        self.box.setYRange(top - (y1 - y0), top, padding=0)

    def visible_leads(self) -> list[int]:
        """Leads whose baseline is inside the window."""
        (y0, y1) = self.box.viewRange()[1]
        return [i for i, off in enumerate(self.traces.offsets) if y0 <= off <= y1]

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(ev)
        if getattr(self, "box", None) is None:  # called from the base constructor
            return
        if self.pyramid is not None:
            t0, t1 = self.visible_range()
            self._layout_leads()
            # keep the paper scale: a wider window shows more time, not stretched time
            span = (t1 - t0) * self._plot_width() / max(1, self._last_width)
            self.show_window(t0, span)
        self._last_width = self._plot_width()

    _last_width = 1
    pyramid = None

    def _plot_width(self) -> int:
        return max(1, int(self.box.width()) or self.width())

    def _plot_height(self) -> int:
        return max(1, int(self.box.height()) or self.height())

    def _layout_leads(self) -> None:
        """Stack the leads and set the amplitude range the gain implies.

        The gain is never bent to fit: when the stack is taller than the window
        (12 leads at 10 mm/mV), the first leads show and a vertical drag scrolls.
        """
        n = max(1, len(self._lead_names))
        height_mv = self.scale.millivolts_for_height(self._plot_height())
        self.spacing_mv = self.scale.lead_spacing_mv(self._plot_height(), n)
        offsets = -np.arange(n) * self.spacing_mv
        self.traces.set_offsets(offsets)
        stack_top = 0.5 * self.spacing_mv
        stack_bottom = stack_top - n * self.spacing_mv
        overflow = n * self.spacing_mv > height_mv + 1e-9
        self.box.setMouseEnabled(x=True, y=overflow)
        if overflow:
            self.box.setLimits(yMin=stack_bottom, yMax=stack_top)
            self.box.setYRange(stack_top - height_mv, stack_top, padding=0)
        else:
            top = stack_top + (height_mv - n * self.spacing_mv) / 2
            self.box.setLimits(yMin=None, yMax=None)
            self.box.setYRange(top - height_mv, top, padding=0)
        self.marks.set_height(0.42 * self.spacing_mv)
        self.schedule_refresh()

    def _on_x_range(self, *_args) -> None:
        t0, t1 = self.visible_range()
        self.range_changed.emit(t0, t1)
        self.schedule_refresh()

    # -------------------------------------------------------------------- mouse
    def lead_at(self, y: float) -> int:
        n = max(1, len(self._lead_names))
        return int(np.clip(round(-y / self.spacing_mv), 0, n - 1))

    def _on_mouse_moved(self, pos: QPointF) -> None:
        if self.pyramid is None or not self.box.sceneBoundingRect().contains(pos):
            return
        p = self.box.mapSceneToView(pos)
        self.hover_time = float(p.x())
        lead = self.lead_at(p.y())
        self.cursor_moved.emit(p.x(), lead, p.y() - self.traces.offsets[lead])

    def leaveEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        super().leaveEvent(ev)
        self.hover_time = None
        self.pointer_left.emit()

    def _on_mouse_clicked(self, ev) -> None:
        if self.pyramid is None:
            return
        p = self.box.mapSceneToView(ev.scenePos())
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            index = None if self.beats is None else self.beats.nearest(p.x())
            # a right click on an unselected beat selects it first, as file managers do
            if index is not None and not np.isin(self.beats.sample[index],
                                                 self.session.selection).any():
                if abs(self.beats.sample[index] / self.beats.fs - p.x()) < 0.3:
                    self.session.select(index)
            self.context_requested.emit(float(p.x()), ev.screenPos().toPoint())
            return
        if self.beats is None or len(self.beats) == 0 or ev.button() != Qt.MouseButton.LeftButton:
            return
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            return
        index = self.beats.nearest(p.x())
        if index is not None:
            self.session.select(index)

    def _on_band_drag(self, t_start: float, t_now: float, finished: bool) -> None:
        self.band.setRegion((min(t_start, t_now), max(t_start, t_now)))
        self.band.show()
        if finished:
            if self.session.select_between(t_start, t_now) < 2:
                self.band.hide()

    def _on_caliper_drag(self, start, now, first: bool, last: bool) -> None:
        if first:
            self.calipers.begin(*start)
        m: CaliperMeasurement | None = self.calipers.update(*now)
        if m is not None:
            self.caliper_measured.emit(m)
