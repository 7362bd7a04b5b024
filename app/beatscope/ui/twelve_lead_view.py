"""The resting 12-lead page on screen, at true size on ECG paper.

It paints :class:`~beatscope.display.twelve_lead.TwelveLeadLayout` with plain
QPainter calls: the page is a fixed drawing in millimetres, so one widget of
page size inside a scroll area is all it needs (no pan or zoom to manage as
the strip's plot does). Millimetres become pixels with the screen's own
density, so a ruler held to the screen reads 25 mm per second and 10 mm per
millivolt, as on the strip and the printed report. The traces are turned into
painter paths once per record, screen or page start, not on every repaint.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from beatscope.display.paper import grid_visible
from beatscope.display.twelve_lead import (
    MAX_RESTING_S,
    N_ROWS,
    PAGE_S,
    TwelveLeadLayout,
    cell_samples,
    is_resting_twelve_lead,
    twelve_lead_layout,
)
from beatscope.ui import theme
from beatscope.ui.screen import screen_pixels_per_mm

#: Trace and calibration pulse line width (a thermal printer's is about 0.2-0.3 mm).
TRACE_WIDTH_MM = 0.25
#: Lead names this tall: readable, and clear of the 1-mV pulse in the next cell.
LABEL_HEIGHT_MM = 3.5
LABEL_MIN_PX = 9
NOT_RESTING = (f"Not a resting 12-lead record: the 12-lead page needs the leads I-V6 "
               f"and at most {MAX_RESTING_S:.0f} s.")


def _pen(color: str, width_px: float) -> QPen:
    pen = QPen(QColor(color))
    pen.setWidthF(width_px)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


class PaperPage(QWidget):
    """One page of the layout, exactly its size in pixels."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.page: TwelveLeadLayout | None = None
        self.pixels_per_mm = 1.0
        self.traces: list[QPainterPath] = []
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def show_page(self, record, page: TwelveLeadLayout, pixels_per_mm: float) -> None:
        self.page, self.pixels_per_mm = page, pixels_per_mm
        self.traces = []
        for cell in (*page.cells, page.rhythm):
            t, mv = cell_samples(record, cell)
            if len(t) < 2:
                continue
            x = page.x_mm(cell.t0_s + t) * pixels_per_mm
            y = page.y_mm(cell.row, mv) * pixels_per_mm
            self.traces.append(pg.arrayToQPath(x, y, connect="all"))
        self.setFixedSize(self.sizeHint())
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        if self.page is None:
            return QSize(0, 0)
        return QSize(math.ceil(self.page.width_mm * self.pixels_per_mm),
                     math.ceil(self.page.height_mm * self.pixels_per_mm))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor(theme.PAPER_BACKGROUND))
        page = self.page
        if page is None:
            return
        self._paint_grid(painter, page, QRectF(event.rect()))
        ppmm = self.pixels_per_mm
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(_pen(theme.TRACE, max(1.0, TRACE_WIDTH_MM * ppmm)))
        for row in range(N_ROWS):
            painter.drawPolyline(QPolygonF([QPointF(x * ppmm, y * ppmm)
                                            for x, y in page.calibration_pulse_mm(row)]))
        painter.drawLines([QLineF(x0 * ppmm, y0 * ppmm, x1 * ppmm, y1 * ppmm)
                           for x0, y0, x1, y1 in page.lead_change_ticks_mm()])
        for path in self.traces:
            painter.drawPath(path)
        self._paint_labels(painter, page)

    def _paint_grid(self, painter: QPainter, page: TwelveLeadLayout, dirty: QRectF) -> None:
        """1-mm and 5-mm lines from the page's corner (t = 0 and every baseline on a 5-mm line)."""
        ppmm = self.pixels_per_mm
        # The viewer's paper: a small box is 1 mm at any speed and gain.
        scale = page.paper_scale(ppmm)
        small_mm = scale.small_box_s * scale.speed_mm_s
        step = small_mm if grid_visible(small_mm, ppmm) else 5 * small_mm
        small: list[QLineF] = []
        large: list[QLineF] = []
        right, bottom = page.width_mm * ppmm, page.height_mm * ppmm
        for extent, vertical in ((page.width_mm, True), (page.height_mm, False)):
            for k in range(int(round(extent / step)) + 1):
                v = k * step * ppmm
                if vertical and not dirty.left() - 1 <= v <= dirty.right() + 1:
                    continue
                if not vertical and not dirty.top() - 1 <= v <= dirty.bottom() + 1:
                    continue
                line = QLineF(v, 0, v, bottom) if vertical else QLineF(0, v, right, v)
                is_large = round(k * step / small_mm) % 5 == 0
                (large if is_large else small).append(line)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if small:
            painter.setPen(_pen(theme.GRID_SMALL, 1.0))
            painter.drawLines(small)
        painter.setPen(_pen(theme.GRID_LARGE, 1.0))
        painter.drawLines(large)

    def _paint_labels(self, painter: QPainter, page: TwelveLeadLayout) -> None:
        ppmm = self.pixels_per_mm
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(max(LABEL_MIN_PX, round(LABEL_HEIGHT_MM * ppmm)))
        painter.setFont(font)
        painter.setPen(QColor(theme.TRACE))
        for cell in (*page.cells, page.rhythm):
            x, y = page.label_mm(cell)
            painter.drawText(QRectF(x * ppmm, y * ppmm, 20 * ppmm, 2 * LABEL_HEIGHT_MM * ppmm),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, cell.lead)


class TwelveLeadView(QWidget):
    """The standard 3 x 4 resting 12-lead page and its lead II rhythm strip.

    ``set_record`` shows a record (or a one-line reason when it is not a resting
    12-lead ECG); records longer than 10 s get a start box to pick the 10 s shown.
    ``pixels_per_mm`` fixes the scale (tests, print previews); by default it is
    the screen's.
    """

    def __init__(self, parent=None, pixels_per_mm: float | None = None):
        super().__init__(parent)
        self.record = None
        self.page: TwelveLeadLayout | None = None
        self._fixed_pixels_per_mm = pixels_per_mm
        self.pixels_per_mm = pixels_per_mm or 0.0

        self.caption = QLabel()
        self.start_box = QDoubleSpinBox()
        self.start_box.setSuffix(" s")
        self.start_box.setDecimals(1)
        self.start_box.setSingleStep(1.0)
        self.start_box.setKeyboardTracking(False)  # one page per typed value, not per digit
        self.start_box.setToolTip("Where the 10-s page starts in the record")
        self.start_box.valueChanged.connect(self.set_start)
        self.start_label = QLabel("from")
        header = QHBoxLayout()
        header.setContentsMargins(6, 2, 6, 2)
        header.addWidget(self.caption, 1)
        header.addWidget(self.start_label)
        header.addWidget(self.start_box)

        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.paper = PaperPage()
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.paper)
        self.scroll.setWidgetResizable(False)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.scroll, 1)
        self.set_record(None)

    def set_record(self, record) -> None:
        """Show ``record``'s first 10 s, or say why it has no 12-lead page."""
        self.record = record
        resting = record is not None and is_resting_twelve_lead(record)
        for widget in (self.scroll, self.start_label, self.start_box):
            widget.setVisible(resting)
        self.message.setVisible(not resting)
        if not resting:
            self.page = None
            self.caption.clear()
            self.message.setText("No record open." if record is None else NOT_RESTING)
            return
        longest_start = max(0.0, record.duration_s - PAGE_S)
        self.start_box.blockSignals(True)
        self.start_box.setRange(0.0, longest_start)
        self.start_box.setValue(0.0)
        self.start_box.blockSignals(False)
        self.start_box.setEnabled(longest_start > 0)
        self.set_start(0.0)

    def set_start(self, start_s: float) -> None:
        """Show the 10 s from ``start_s`` (moved back where fewer are left)."""
        if self.record is None or not is_resting_twelve_lead(self.record):
            return
        self.page = twelve_lead_layout(self.record, start_s)
        self._repaint_page()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._fixed_pixels_per_mm is None and self.page is not None:
            # the window may have moved to a screen of another density since
            if screen_pixels_per_mm(self) != self.pixels_per_mm:
                self._repaint_page()

    def lead_labels(self) -> list[str]:
        """The lead names on the page, cells then rhythm strip (empty without a page)."""
        if self.page is None:
            return []
        return [c.lead for c in (*self.page.cells, self.page.rhythm)]

    def _repaint_page(self) -> None:
        page, record = self.page, self.record
        self.pixels_per_mm = self._fixed_pixels_per_mm or screen_pixels_per_mm(self)
        self.paper.show_page(record, page, self.pixels_per_mm)
        shown_end = min(page.end_s, record.duration_s)
        self.caption.setText(
            f"{record.name}: {page.start_s:.1f}-{shown_end:.1f} s of {record.duration_s:.1f} s"
            f" · {page.speed_mm_s:g} mm/s · {page.gain_mm_mv:g} mm/mV")

