"""Calipers drawn on the strip: two verticals, a bracket and the measurement."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen

from beatscope.display import CaliperMeasurement, measure
from beatscope.ui import theme


class CaliperOverlay:
    """Shift+drag on the strip measures from the press point to the pointer."""

    def __init__(self, plot: pg.PlotItem):
        pen = QPen(QColor(theme.CALIPER))
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.start_line = pg.InfiniteLine(angle=90, pen=pen, movable=False)
        self.end_line = pg.InfiniteLine(angle=90, pen=pen, movable=False)
        self.bracket = pg.PlotCurveItem(pen=pen)
        self.label = pg.TextItem(color=theme.CALIPER, anchor=(0, 1),
                                 fill=pg.mkBrush(255, 255, 255, 220))
        self.items = (self.start_line, self.end_line, self.bracket, self.label)
        for item in self.items:
            item.setZValue(30)
            plot.addItem(item)
        self.start: tuple[float, float] | None = None
        self.measurement: CaliperMeasurement | None = None
        self.hide()

    def begin(self, t: float, v: float) -> None:
        self.start = (t, v)
        self.update(t, v)
        for item in self.items:
            item.show()

    def update(self, t: float, v: float) -> CaliperMeasurement | None:
        if self.start is None:
            return None
        t0, v0 = self.start
        self.measurement = measure(t0, v0, t, v)
        self.start_line.setValue(t0)
        self.end_line.setValue(t)
        self.bracket.setData([t0, t0, t, t], [v0, v0, v0, v])
        self.label.setText(self.measurement.text())
        self.label.setPos(min(t0, t), max(v0, v))
        return self.measurement

    def hide(self) -> None:
        self.start = None
        for item in self.items:
            item.hide()
