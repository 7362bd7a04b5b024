"""The beat table: time, class, probability and RR of every beat, filterable by class.

The model reads straight from the :class:`BeatStore` arrays. Filtering keeps a
numpy index of the matching rows instead of a ``QSortFilterProxyModel``, whose
per-row Python callback would take seconds over a 100k-beat Holter record.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from beatscope.aami import AAMI_CLASSES
from beatscope.display import BeatStore, format_clock
from beatscope.ui import theme

COLUMNS = ("Time", "Class", "Prob.", "RR (ms)")
ALL = "All"


class BeatTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.beats: BeatStore | None = None
        self.class_filter = ALL
        self.rows = np.zeros(0, np.int64)  # beat index of each visible row
        self._brushes = {c: QBrush(QColor(theme.CLASS_COLORS[c])) for c in AAMI_CLASSES}

    # --- data source
    def set_beats(self, beats: BeatStore | None) -> None:
        self.beginResetModel()
        self.beats = beats
        self.rows = self._matching(0)
        self.endResetModel()

    def beats_added(self) -> None:
        """New beats were appended to the store: insert the matching rows."""
        if self.beats is None:
            return
        start = int(self.rows[-1]) + 1 if len(self.rows) else 0
        new = self._matching(start)
        if len(new) == 0:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self.rows = np.concatenate([self.rows, new])
        self.endInsertRows()

    def set_class_filter(self, cls: str) -> None:
        self.beginResetModel()
        self.class_filter = cls
        self.rows = self._matching(0)
        self.endResetModel()

    def _matching(self, start: int) -> np.ndarray:
        if self.beats is None:
            return np.zeros(0, np.int64)
        labels = self.beats.label[start:]
        if self.class_filter == ALL:
            return np.arange(start, start + len(labels), dtype=np.int64)
        return start + np.flatnonzero(labels == self.class_filter)

    def row_of_beat(self, beat: int) -> int | None:
        row = int(np.searchsorted(self.rows, beat))
        return row if row < len(self.rows) and self.rows[row] == beat else None

    # --- Qt model API
    def rowCount(self, parent=None) -> int:  # noqa: N802 (Qt API)
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None) -> int:  # noqa: N802 (Qt API)
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.beats is None:
            return None
        beat = int(self.rows[index.row()])
        col = index.column()
        b = self.beats
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return format_clock(b.sample[beat] / b.fs, 3)
            if col == 1:
                return str(b.label[beat])
            if col == 2:
                p = float(b.probability[beat])
                return "" if np.isnan(p) else f"{p:.2f}"
            if col == 3 and beat > 0:
                return f"{(b.sample[beat] - b.sample[beat - 1]) / b.fs * 1000:.0f}"
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return self._brushes.get(str(b.label[beat]))
        if role == Qt.ItemDataRole.TextAlignmentRole and col != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class BeatTable(QWidget):
    """The table with its class filter; emits the beat index the user picks."""

    beat_activated = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = BeatTableModel(self)
        self.filter = QComboBox()
        self.filter.addItems([ALL, *AAMI_CLASSES])
        self.filter.setToolTip("Show only the beats of one class")
        self.count_label = QLabel()
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        # fixed row height: the view can then scroll 100k rows without measuring them
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.view.setAlternatingRowColors(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Class:"))
        top.addWidget(self.filter)
        top.addStretch(1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view)
        self.filter.currentTextChanged.connect(self._on_filter)
        self.view.clicked.connect(self._on_clicked)
        # arrow keys in the table move through the beats on the strip too
        self.view.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._on_clicked(current))
        self._update_count()

    def set_beats(self, beats: BeatStore | None) -> None:
        self.model.set_beats(beats)
        self._update_count()

    def beats_added(self) -> None:
        self.model.beats_added()
        self._update_count()

    def select_beat(self, beat: int | None) -> None:
        """Highlight ``beat`` (if the filter shows it) without emitting ``beat_activated``."""
        row = None if beat is None else self.model.row_of_beat(beat)
        # the strip already shows this beat: do not echo it back as a user choice
        blocker = QSignalBlocker(self.view.selectionModel())
        if row is None:
            self.view.clearSelection()
        else:
            self.view.selectRow(row)
            self.view.scrollTo(self.model.index(row, 0),
                               QAbstractItemView.ScrollHint.EnsureVisible)
        blocker.unblock()

    def _on_filter(self, cls: str) -> None:
        self.model.set_class_filter(cls)
        self._update_count()

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.beat_activated.emit(int(self.model.rows[index.row()]))

    def _update_count(self) -> None:
        n = len(self.model.rows)
        total = 0 if self.model.beats is None else len(self.model.beats)
        self.count_label.setText(f"{n:,} of {total:,} beats" if total else "no beats")
