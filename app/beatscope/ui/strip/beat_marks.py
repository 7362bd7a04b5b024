"""A coloured letter above every beat: one scatter item per AAMI class.

Each letter is a symbol path, so one ``ScatterPlotItem`` paints all the beats
of a class in one call; only the marks inside the visible window (thinned to
one per pixel bucket when zoomed out, see ``display.marks``) are handed over.
A beat the reviewer relabelled or inserted gets a dark box around its letter
(one more item), so the reviewer's beats stand apart from the model's.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPainterPath, QPen, QTransform

from beatscope.aami import AAMI_CLASSES
from beatscope.display import BeatStore, marks_in_view
from beatscope.ui import theme

MARK_SIZE_PX = 13
#: Horizontal pixels per mark when thinning a zoomed-out window.
PIXELS_PER_MARK = 20  # a letter and a gap: thinned marks never touch ("NN" read as a word)


def letter_symbol(letter: str) -> QPainterPath:
    """A glyph as a path centred on (0, 0) and one unit tall, for ScatterPlotItem."""
    font = QFont()
    font.setBold(True)
    font.setPointSize(12)
    path = QPainterPath()
    path.addText(0, 0, font, letter)
    box = path.boundingRect()
    scale = 1.0 / max(box.width(), box.height())
    transform = QTransform()
    transform.scale(scale, scale)
    transform.translate(-box.x() - box.width() / 2, -box.y() - box.height() / 2)
    return transform.map(path)


class BeatMarks:
    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.items: dict[str, pg.ScatterPlotItem] = {}
        for cls in AAMI_CLASSES:
            color = QColor(theme.CLASS_COLORS[cls])
            # filled glyphs, no outline: a pen would be scaled with the symbol and blot it
            item = pg.ScatterPlotItem(symbol=letter_symbol(cls), size=MARK_SIZE_PX,
                                      pen=QPen(Qt.PenStyle.NoPen), brush=color, pxMode=True)
            item.setZValue(20)
            plot.addItem(item)
            self.items[cls] = item
        pen = QPen(QColor(theme.EDITED_BEAT))
        pen.setWidthF(1.6)
        pen.setCosmetic(True)  # else it is scaled with the symbol, and blots the letter
        self.edited = pg.ScatterPlotItem(symbol="s", size=MARK_SIZE_PX + 6, pen=pen,
                                         brush=pg.mkBrush(0, 0, 0, 0), pxMode=True)
        self.edited.setZValue(19)
        plot.addItem(self.edited)
        self.y = 0.0
        self.shown: dict[str, np.ndarray] = {c: np.zeros(0, np.int64) for c in AAMI_CLASSES}
        self.shown_edited = np.zeros(0, np.int64)

    def set_height(self, y: float) -> None:
        self.y = y

    def update(self, beats: BeatStore | None, t0: float, t1: float, width_px: int) -> None:
        if beats is None or len(beats) == 0:
            for cls, item in self.items.items():
                item.setData([], [])
                self.shown[cls] = np.zeros(0, np.int64)
            self.edited.setData([], [])
            self.shown_edited = np.zeros(0, np.int64)
            return
        max_marks = max(1, int(width_px) // PIXELS_PER_MARK)
        chosen = marks_in_view(beats.sample, beats.label, beats.fs, t0, t1, max_marks)
        for cls, item in self.items.items():
            index = chosen[cls]
            self.shown[cls] = index
            t = beats.sample[index] / beats.fs
            item.setData(t, np.full(len(t), self.y))
        shown = np.sort(np.concatenate(list(chosen.values())))
        self.shown_edited = shown[beats.edited[shown]]
        t = beats.sample[self.shown_edited] / beats.fs
        self.edited.setData(t, np.full(len(t), self.y))
