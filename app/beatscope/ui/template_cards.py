"""The Templates tab's grid of cards: a list model of template groups, a delegate that
paints each card, and the grid view (a QListView in icon mode).

A card is one template's beats superimposed: up to :data:`MEMBERS_DRAWN` members,
spread in time and taken from the record's first model lead, drawn faintly, their
median bold, in the class colour; then the class letter, the count and share of
the record's beats, the purity and the current class mix. One delegate paints every
card and the waveforms are cached as pixmaps, built only when a card first comes
into view: a 24-h record's 300 templates open at once and scroll smoothly (a plot
widget per card took seconds).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from beatscope.review.template_view import TemplateGroup, member_waveforms, spread_sample
from beatscope.ui import theme

#: Members drawn faintly on a card, and those its bold median is taken from.
MEMBERS_DRAWN = 50
MEDIAN_FROM = 150
#: A card's size: as many columns of at least MIN_CARD_W as the grid's width holds,
#: widened to fill it.
MIN_CARD_W, CARD_H = 150, 140
HEADER_H, FOOTER_H = 22, 34
GroupRole = Qt.ItemDataRole.UserRole


class CardModel(QAbstractListModel):
    """The groups shown, in order; ``total`` is the record's beat count (for the %)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.groups: list[TemplateGroup] = []
        self.total = 0

    def set_groups(self, groups: list[TemplateGroup], total: int) -> None:
        self.beginResetModel()
        self.groups, self.total = groups, total
        self.endResetModel()

    def rowCount(self, parent=None) -> int:  # noqa: N802 (Qt API)
        return 0 if parent is not None and parent.isValid() else len(self.groups)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        g = self.groups[index.row()]
        if role == GroupRole:
            return g
        if role == Qt.ItemDataRole.DisplayRole:
            return g.name
        if role == Qt.ItemDataRole.ToolTipRole:
            mix = ", ".join(f"{c} {n:,}" for c, n in g.class_counts.items())
            purity = "" if g.purity is None else f"\npurity {g.purity:.2f} (mean correlation " \
                                                  "to the median)"
            return (f"{g.name}: {g.count:,} beats ({mix}){purity}\n"
                    "Click: its most typical beat · ] / [: its next / previous beat\n"
                    "Ctrl/Shift+click: several · right click: relabel, split")
        return None

    def row_of(self, key: str) -> int | None:
        for row, g in enumerate(self.groups):
            if g.key == key:
                return row
        return None


class CardDelegate(QStyledItemDelegate):
    """Paints a card; the waveform part comes from a pixmap cache."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.signal: np.ndarray | None = None
        self.fs = 1.0
        self.half_range_mv = 1.0
        self._cache: dict[tuple, QPixmap] = {}
        self.card_width = MIN_CARD_W

    def set_signal(self, signal: np.ndarray | None, fs: float, half_range_mv: float) -> None:
        """The lead the cards draw and the one vertical scale they share (a large V
        beat must look large beside an N beat)."""
        self.signal, self.fs, self.half_range_mv = signal, float(fs), float(half_range_mv)
        self._cache.clear()

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt API)
        return QSize(self.card_width, CARD_H)

    def paint(self, painter: QPainter, option, index) -> None:
        g: TemplateGroup = index.data(GroupRole)
        if g is None:
            return
        total = index.model().total
        rect = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(theme.SELECTED_BEAT if selected else "#c8c8c8"),
                            3 if selected else 1))
        painter.setBrush(QColor("#eaf6f1" if selected else theme.PAPER_BACKGROUND))
        painter.drawRoundedRect(rect, 5, 5)
        color = theme.class_color(g.label)
        # header: the class letter on its colour, the name, the count and share
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        badge = QRect(rect.left() + 5, rect.top() + 4, 18, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(badge, 3, 3)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, g.label)
        painter.setPen(QColor("#222"))
        title = "#" + g.key if not g.moved else "1 beat"
        header = QRect(badge.right() + 5, rect.top() + 3, rect.width() - 30, 18)
        painter.drawText(header, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         title)
        font.setBold(False)
        painter.setFont(font)
        share = 100.0 * g.count / max(total, 1)
        painter.drawText(header.adjusted(0, 0, -4, 0),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"{g.count:,} · {share:.1f}%" if share >= 0.1 else f"{g.count:,}")
        wave = QRect(rect.left() + 3, rect.top() + HEADER_H, rect.width() - 6,
                     rect.height() - HEADER_H - FOOTER_H)
        painter.drawPixmap(wave.topLeft(), self._waveform(g, wave.size(), option.widget))
        # footer: purity (or what the card is), then the class mix
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() - 1))
        painter.setFont(small)
        painter.setPen(QColor("#444"))
        line1 = QRect(rect.left() + 6, wave.bottom() + 1, rect.width() - 12, 15)
        what = (f"purity {g.purity:.2f}" if g.purity is not None
                else "taken out of #" + str(g.template_id) if g.moved
                else "part of #" + str(g.template_id))
        if g.label != g.model_label:
            what += f" · was {g.model_label}"
        painter.drawText(line1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, what)
        line2 = line1.translated(0, 15)
        mix = "  ".join(f"{c} {n:,}" for c, n in g.class_counts.items())
        painter.drawText(line2, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(mix, Qt.TextElideMode.ElideRight,
                                                          line2.width()))
        painter.restore()

    # --------------------------------------------------------------- waveform
    def _waveform(self, g: TemplateGroup, size: QSize, widget) -> QPixmap:
        ratio = widget.devicePixelRatioF() if widget is not None else 1.0
        key = (g.key, g.count, g.label, int(g.samples[0]), int(g.samples[-1]),
               size.width(), size.height(), ratio)
        pixmap = self._cache.get(key)
        if pixmap is None:
            if len(self._cache) > 3000:  # resized many times: start again
                self._cache.clear()
            pixmap = self._cache[key] = self._draw(g, size, ratio)
        return pixmap

    def _draw(self, g: TemplateGroup, size: QSize, ratio: float) -> QPixmap:
        pixmap = QPixmap(size * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        if self.signal is None or not len(g.samples):
            return pixmap
        w, h = size.width(), size.height()
        t, waves = member_waveforms(self.signal, self.fs, spread_sample(g.samples, MEDIAN_FROM))
        median = np.median(waves, axis=0)
        drawn = waves[np.unique(np.linspace(0, len(waves) - 1,
                                            min(MEMBERS_DRAWN, len(waves))).round().astype(int))]
        x = (t - t[0]) / max(t[-1] - t[0], 1e-9) * (w - 1)
        scale = (h / 2 - 2) / max(self.half_range_mv, 1e-6)

        def to_y(v):
            return np.clip(h / 2 - v * scale, -h, 2 * h)

        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setClipRect(0, 0, w, h)
        painter.setPen(QPen(QColor(theme.GRID_SMALL), 1))
        painter.drawLine(0, h // 2, w, h // 2)  # the PR-segment level
        r_x = int(round((0 - t[0]) / max(t[-1] - t[0], 1e-9) * (w - 1)))
        painter.drawLine(r_x, 0, r_x, h)  # the R peak
        color = theme.class_color(g.label)
        if len(drawn) > 1:
            faint = QColor(color)
            faint.setAlpha(max(25, min(90, int(900 / len(drawn)))))
            connect = np.ones(drawn.size, np.int32)
            connect[drawn.shape[1] - 1::drawn.shape[1]] = 0  # no line from one to the next
            path = pg.arrayToQPath(np.tile(x, len(drawn)), to_y(drawn).ravel(), connect)
            painter.setPen(QPen(faint, 1))
            painter.drawPath(path)
        painter.setPen(QPen(color, 2.2))
        painter.drawPath(pg.arrayToQPath(x, to_y(median)))
        painter.end()
        return pixmap


class CardGrid(QListView):
    """The cards in a wrapping grid. ] and [ step through the current card's beats
    while the grid has the focus (the window's own ] and [ step through rhythm
    findings elsewhere); Enter shows its typical beat."""

    step_requested = Signal(int)
    typical_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setGridSize(QSize(MIN_CARD_W, CARD_H))
        self.setSpacing(0)
        # always there, so that its coming and going does not change the columns
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setMouseTracking(False)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(ev)
        width = max(self.viewport().width() - 2, MIN_CARD_W)
        columns = max(1, width // MIN_CARD_W)
        card = width // columns
        delegate = self.itemDelegate()
        if isinstance(delegate, CardDelegate) and card != delegate.card_width:
            delegate.card_width = card
            self.setGridSize(QSize(card, CARD_H))
            self.doItemsLayout()

    _STEP_KEYS = {Qt.Key.Key_BracketRight: 1, Qt.Key.Key_BracketLeft: -1}

    def event(self, ev) -> bool:
        # claim ] and [ before the window's shortcuts see them
        if ev.type() == QEvent.Type.ShortcutOverride and ev.key() in self._STEP_KEYS \
                and not ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            ev.accept()
            return True
        return super().event(ev)

    def keyPressEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        if ev.key() in self._STEP_KEYS:
            self.step_requested.emit(self._STEP_KEYS[ev.key()])
            return
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.typical_requested.emit()
            return
        super().keyPressEvent(ev)

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 (Qt API)
        pass  # letters are the window's class keys, not a search through the names
