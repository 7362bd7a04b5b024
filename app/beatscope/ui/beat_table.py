"""The beat table: time, class, probability and RR of every beat, filterable by class.

The model reads straight from the :class:`BeatStore` arrays. Filtering keeps a
numpy index of the matching rows instead of a ``QSortFilterProxyModel``, whose
per-row Python callback would take seconds over a 100k-beat Holter record.

The table follows the :class:`~beatscope.display.ViewerSession` (it connects to its
events in the constructor) and tells it which rows the user selected: several rows
(Shift/Ctrl+click) are one selection for a review edit. A beat the reviewer changed
shows a pencil beside its class.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSignalBlocker,
    Qt,
)
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
from beatscope.display import BeatStore, ViewerSession, format_clock
from beatscope.ui import theme
from beatscope.ui.table_model import ColumnsTableModel

COLUMNS = ("Time", "Class", "Prob.", "RR (ms)")
ALL = "All"
EDITED_MARK = " \u270e"  # a pencil: the reviewer changed this beat


class BeatTableModel(ColumnsTableModel):
    columns = COLUMNS

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

    def labels_changed(self, beats: np.ndarray) -> None:
        """These beats were relabelled in place: refresh them, or refilter."""
        if self.class_filter != ALL:
            self.set_class_filter(self.class_filter)  # a relabelled beat may leave the filter
            return
        if len(beats) and len(self.rows):
            top = self.index(int(np.min(beats)), 0)
            bottom = self.index(int(np.max(beats)), len(COLUMNS) - 1)
            self.dataChanged.emit(top, bottom)

    def row_of_beat(self, beat: int) -> int | None:
        row = int(np.searchsorted(self.rows, beat))
        return row if row < len(self.rows) and self.rows[row] == beat else None

    # --- Qt model API
    def _row_count(self) -> int:
        return len(self.rows)

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
                return str(b.label[beat]) + (EDITED_MARK if b.edited[beat] else "")
            if col == 2:
                p = float(b.probability[beat])
                return "" if np.isnan(p) else f"{p:.2f}"
            if col == 3 and beat > 0:
                return f"{(b.sample[beat] - b.sample[beat - 1]) / b.fs * 1000:.0f}"
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return self._brushes.get(str(b.label[beat]))
        if role == Qt.ItemDataRole.ToolTipRole and col == 1 and b.edited[beat]:
            return "changed by the reviewer"
        if role == Qt.ItemDataRole.TextAlignmentRole and col != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class BeatTable(QWidget):
    """The table with its class filter, following and selecting in ``session``."""

    def __init__(self, session: ViewerSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.model = BeatTableModel(self)
        self.filter = QComboBox()
        self.filter.addItems([ALL, *AAMI_CLASSES])
        self.filter.setToolTip("Show only the beats of one class")
        self.count_label = QLabel()
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
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
        # clicks and arrow keys in the table select on the strip too
        self.view.selectionModel().selectionChanged.connect(self._on_user_selection)
        self._update_count()
        e = session.events
        e.beats_reset.connect(lambda: self.set_beats(session.beats))
        e.beats_added.connect(lambda first, count: self.beats_added())
        e.labels_changed.connect(self._on_labels_changed)
        e.selection_changed.connect(self._on_session_selection)

    def set_beats(self, beats: BeatStore | None) -> None:
        self.model.set_beats(beats)
        self._update_count()

    def beats_added(self) -> None:
        self.model.beats_added()
        self._update_count()

    def _on_labels_changed(self, beats) -> None:
        self.model.labels_changed(np.asarray(beats))
        self._update_count()

    def _on_session_selection(self) -> None:
        """Show the session's selection (the strip or a key made it) without echoing it
        back as the user's choice."""
        session = self.session
        beats = self.model.beats
        if beats is None or not len(beats):
            return
        index = np.searchsorted(beats.sample, session.selection)
        rows = np.searchsorted(self.model.rows, index)
        ok = rows < len(self.model.rows)
        ok[ok] = self.model.rows[rows[ok]] == index[ok]
        rows = rows[ok]
        if np.array_equal(np.sort(rows), self._selected_rows()):
            return  # the user's own selection coming back
        selection = QItemSelection()
        if len(rows):  # contiguous runs of rows as ranges: a 1,000-beat band is a few
            breaks = np.flatnonzero(np.diff(rows) != 1)
            starts = np.concatenate([[0], breaks + 1])
            ends = np.concatenate([breaks, [len(rows) - 1]])
            last = len(COLUMNS) - 1
            for a, b in zip(rows[starts].tolist(), rows[ends].tolist(), strict=True):
                selection.select(self.model.index(a, 0), self.model.index(b, last))
        blocker = QSignalBlocker(self.view.selectionModel())
        self.view.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        cursor = session.selected_beat
        row = None if cursor is None else self.model.row_of_beat(cursor)
        if row is not None:
            self.view.selectionModel().setCurrentIndex(
                self.model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
            self.view.scrollTo(self.model.index(row, 0),
                               QAbstractItemView.ScrollHint.EnsureVisible)
        blocker.unblock()
        self.view.viewport().update()

    def follow(self, t0: float, t1: float) -> None:
        """The strip moved (paging, Go to, the overview): bring its first beat to the
        top of the table, unless the selected beat is on screen there already."""
        beats = self.model.beats
        if beats is None or not len(beats) or not len(self.model.rows):
            return
        cursor = self.session.selected_beat
        if cursor is not None and t0 <= beats.sample[cursor] / beats.fs <= t1:
            return
        first = int(np.searchsorted(beats.sample, t0 * beats.fs))
        row = min(int(np.searchsorted(self.model.rows, first)), len(self.model.rows) - 1)
        self.view.scrollTo(self.model.index(row, 0),
                           QAbstractItemView.ScrollHint.PositionAtTop)

    def _selected_rows(self) -> np.ndarray:
        return np.array(sorted(i.row() for i in self.view.selectionModel().selectedRows()),
                        np.int64)

    def _on_filter(self, cls: str) -> None:
        self.model.set_class_filter(cls)
        self._update_count()

    def _on_user_selection(self, *_args) -> None:
        rows = self._selected_rows()
        current = self.view.selectionModel().currentIndex()
        beats = self.model.rows[rows].tolist()
        if current.isValid() and current.row() in set(rows.tolist()):
            cursor = int(self.model.rows[current.row()])
            beats = [b for b in beats if b != cursor] + [cursor]  # the cursor last
        if beats:
            self.session.select_many(beats)

    def _update_count(self) -> None:
        n = len(self.model.rows)
        total = 0 if self.model.beats is None else len(self.model.beats)
        self.count_label.setText(f"{n:,} of {total:,} beats" if total else "no beats")
