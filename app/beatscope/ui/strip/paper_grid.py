"""The ECG paper: 1-mm and 5-mm lines, drawn only over the visible rectangle.

One item paints the whole grid with two ``drawLines`` calls per repaint, in
data coordinates: lines are placed at multiples of the small box (1/speed s,
1/gain mV), so they stay put while the trace pans under them. Lines closer
than a few pixels are skipped (zoomed out, 1-mm lines would be a pink smear).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen

from beatscope.display.paper import PaperScale, grid_visible
from beatscope.ui import theme


class PaperGrid(pg.GraphicsObject):
    def __init__(self, scale: PaperScale):
        super().__init__()
        self.scale = scale
        self._small_pen = QPen(QColor(theme.GRID_SMALL))
        self._small_pen.setCosmetic(True)
        self._small_pen.setWidthF(1.0)
        self._large_pen = QPen(QColor(theme.GRID_LARGE))
        self._large_pen.setCosmetic(True)
        self._large_pen.setWidthF(1.0)
        self.setZValue(-100)
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def set_scale(self, scale: PaperScale) -> None:
        self.scale = scale
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        view = self.getViewBox()
        if view is None:
            return QRectF()
        return view.viewRect()

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        self.prepareGeometryChange()
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        view = self.getViewBox()
        if view is None:
            return
        rect = view.viewRect()
        px_w, px_h = view.viewPixelSize()  # data units per pixel
        if px_w <= 0 or px_h <= 0:
            return
        s = self.scale
        lines_small: list[QLineF] = []
        lines_large: list[QLineF] = []
        for step, big, horizontal in ((s.small_box_s, s.large_box_s, False),
                                      (s.small_box_mv, s.large_box_mv, True)):
            per_px = px_h if horizontal else px_w
            lo, hi = (rect.top(), rect.bottom()) if horizontal else (rect.left(), rect.right())
            lo, hi = min(lo, hi), max(lo, hi)
            draw_small = grid_visible(step, 1.0 / per_px)
            draw_large = grid_visible(big, 1.0 / per_px)
            if not draw_large:
                continue
            grid = step if draw_small else big
            k0, k1 = math.floor(lo / grid), math.ceil(hi / grid)
            if k1 - k0 > 5000:  # never reached at the scales above; a guard, not a limit
                continue
            values = np.arange(k0, k1 + 1) * grid
            ratio = round(big / grid)
            is_large = (np.arange(k0, k1 + 1) % ratio) == 0
            for v, large in zip(values.tolist(), is_large.tolist(), strict=True):
                if horizontal:
                    line = QLineF(rect.left(), v, rect.right(), v)
                else:
                    line = QLineF(v, rect.top(), v, rect.bottom())
                (lines_large if large else lines_small).append(line)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if lines_small:
            painter.setPen(self._small_pen)
            painter.drawLines(lines_small)
        if lines_large:
            painter.setPen(self._large_pen)
            painter.drawLines(lines_large)
