"""The Disagreements tab: every beat the reviewer's call differs from the model's.

Grouped counts by (model → reviewer) pair ("V → N 212", "inserted S 3", "deleted 40")
on top; a click on a group shows only its beats. Below, one row per beat (time,
model → reviewer, who, when, note); a click goes there. Beats a re-analysis could
no longer find are listed after them. The panel follows the session's review
through its events and rebuilds at most every 150 ms, so a burst of edits costs one
rebuild.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from beatscope.display import ViewerSession, format_clock
from beatscope.review.session import Disagreement, group_counts
from beatscope.ui.table_model import ColumnsTableModel

COLUMNS = ("Time", "Change", "Reviewer", "Edited", "Note")
ALL_GROUPS = "All disagreements"
NOT_FOUND = "not found by the new analysis"


class DisagreementModel(ColumnsTableModel):
    columns = COLUMNS

    def __init__(self, fs: float = 1.0, parent=None):
        super().__init__(parent)
        self.items: list[Disagreement] = []
        self.fs = fs

    def set_items(self, items: list[Disagreement], fs: float) -> None:
        self.beginResetModel()
        self.items, self.fs = items, fs
        self.endResetModel()

    def _row_count(self) -> int:
        return len(self.items)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        d = self.items[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            col = index.column()
            if col == 0:
                return format_clock(d.sample / self.fs, 3)
            if col == 1:
                return d.pair
            if col == 2:
                return d.reviewer
            if col == 3:
                return "" if d.edited_at != d.edited_at else time.strftime(
                    "%Y-%m-%d %H:%M", time.localtime(d.edited_at))
            if col == 4:
                return d.note
        return None


class DisagreementsPanel(QWidget):
    """Lists the review's disagreements; ``go_to_sample`` asks to show one."""

    go_to_sample = Signal(int)

    def __init__(self, session: ViewerSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.summary = QLabel("No review open.")
        self.summary.setWordWrap(True)
        self.groups = QListWidget()
        self.groups.setMaximumHeight(130)
        self.groups.setToolTip("Click a group to list only its beats")
        self.model = DisagreementModel(parent=self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(20)
        header = self.view.horizontalHeader()
        # widths from the font, not ResizeToContents: that measures every row, and
        # took 120 ms for a few thousand disagreements
        metrics = self.view.fontMetrics()
        for col, sample in enumerate(("00:00:00.000", "inserted V → N", "reviewer name",
                                      "2026-12-31 23:59")):
            header.resizeSection(col, metrics.horizontalAdvance(sample) + 16)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.groups)
        layout.addWidget(self.view, 1)
        self._all: list[Disagreement] = []
        self._group = ALL_GROUPS
        self.groups.currentItemChanged.connect(self._on_group)
        self.view.clicked.connect(self._on_clicked)
        self.view.activated.connect(self._on_clicked)
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self.rebuild)
        session.events.review_changed.connect(self._timer.start)

    # ---------------------------------------------------------------- content
    def rebuild(self) -> None:
        review = self.session.review
        if review is None:
            self._all = []
            self.summary.setText("No review open: the beats are shown as the model "
                                 "called them." if self.session.beats is not None
                                 else "No review open.")
            self._fill_groups({})
            self._show()
            return
        self._all = review.disagreements()
        unmatched = review.unmatched
        lost = [Disagreement(int(s), "unmatched", str(m), str(lab), str(n), str(r), float(t))
                for s, m, lab, n, r, t in zip(unmatched.sample, unmatched.model_label,
                                              unmatched.label, unmatched.note,
                                              unmatched.reviewer, unmatched.edited_at,
                                              strict=True)]
        counts = group_counts(self._all)
        if lost:
            counts[NOT_FOUND] = len(lost)
        self._lost = lost
        self.summary.setText(review.summary() + (f". {review.notice}." if review.notice else "")
                             + "\nD / Shift+D: next / previous disagreement.")
        self._fill_groups(counts)
        self._show()

    _lost: list[Disagreement] = []

    def _fill_groups(self, counts: dict[str, int]) -> None:
        keep = self._group
        self.groups.blockSignals(True)
        self.groups.clear()
        total = sum(counts.values())
        for name, n in [(ALL_GROUPS, total), *counts.items()]:
            item = QListWidgetItem(f"{name}   {n:,}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.groups.addItem(item)
            if name == keep:
                self.groups.setCurrentItem(item)
        if self.groups.currentItem() is None and self.groups.count():
            self._group = ALL_GROUPS
            self.groups.setCurrentRow(0)
        self.groups.blockSignals(False)

    def _show(self) -> None:
        if self._group == ALL_GROUPS:
            items = self._all + self._lost
        elif self._group == NOT_FOUND:
            items = self._lost
        else:
            items = [d for d in self._all if d.pair == self._group]
        fs = self.session.record.fs if self.session.record is not None else 1.0
        self.model.set_items(items, fs)

    def _on_group(self, item, _previous=None) -> None:
        if item is not None:
            self._group = item.data(Qt.ItemDataRole.UserRole)
            self._show()

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.go_to_sample.emit(self.model.items[index.row()].sample)

    # -------------------------------------------------------------- stepping
    def neighbour(self, sample: int | None, forward: bool) -> int | None:
        """The next (previous) disagreement's sample after (before) ``sample``."""
        if self.session.review is not None and self._timer.isActive():
            self._timer.stop()
            self.rebuild()  # a key pressed right after an edit sees that edit
        samples = np.array(sorted(d.sample for d in self._all + self._lost), np.int64)
        if not len(samples):
            return None
        if sample is None:
            return int(samples[0] if forward else samples[-1])
        i = np.searchsorted(samples, sample, side="right" if forward else "left")
        i = i if forward else i - 1
        return int(samples[i]) if 0 <= i < len(samples) else None
