"""The class legend: each AAMI letter in its colour, with its name and count.

The counts are the beats on screen (the reviewed ones once a review is open), kept
current through the session's events.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from beatscope.aami import AAMI_CLASSES
from beatscope.display import ViewerSession
from beatscope.ui import theme


class ClassLegend(QWidget):
    def __init__(self, session: ViewerSession, parent=None):
        super().__init__(parent)
        self.session = session
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
        e = session.events
        for event in (e.beats_reset, e.labels_changed, e.beats_added):
            event.connect(self._on_beats)

    def _on_beats(self, *_args) -> None:
        beats = self.session.beats
        self.set_counts(None if beats is None or not len(beats) else beats.counts())

    def set_counts(self, counts: dict[str, int] | None) -> None:
        for cls, label in self.labels.items():
            n = "" if counts is None else f" {counts.get(cls, 0):,}"
            label.setText(f"<span style='color:{theme.CLASS_COLORS[cls]}; font-weight:bold'>"
                          f"{cls}</span> {theme.CLASS_SHORT_NAMES[cls]}<b>{n}</b>&nbsp;&nbsp;")


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" rather than widen the window
    (the full text stays in the tooltip)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("reviewed: 0,000 of 000,000"))

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(ev)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                                   max(0, self.width() - 2)))
