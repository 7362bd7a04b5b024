"""The class legend: each AAMI letter in its colour, with its name and count."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from beatscope.aami import AAMI_CLASSES
from beatscope.ui import theme


class ClassLegend(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        self.labels: dict[str, QLabel] = {}
        for cls in AAMI_CLASSES:
            label = QLabel()
            label.setToolTip(f"{cls}: {theme.CLASS_NAMES[cls]}")
            layout.addWidget(label)
            self.labels[cls] = label
        layout.addStretch(1)
        self.set_counts(None)

    def set_counts(self, counts: dict[str, int] | None) -> None:
        for cls, label in self.labels.items():
            n = "" if counts is None else f" {counts.get(cls, 0):,}"
            label.setText(f"<span style='color:{theme.CLASS_COLORS[cls]}; font-weight:bold'>"
                          f"{cls}</span> {theme.CLASS_NAMES[cls]}<b>{n}</b>&nbsp;&nbsp;")
