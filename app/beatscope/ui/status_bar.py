"""The status bar: the pointer's readout, the calipers, the model, the analysis's
progress, and what the selected beat is.

It follows the :class:`~beatscope.display.ViewerSession` (its events) and the
analysis runner (its progress) by itself; the window only forwards the strip's
pointer and caliper reports to it.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from beatscope.display import Phase, ViewerSession, format_clock, heart_rate_at

STAGE_TEXT = {"quality": "Checking signal quality", "detect": "Detecting beats",
              "denoise": "Filtering", "classify": "Classifying beats",
              "templates": "Grouping beats into templates", "rhythm": "Rhythm findings"}


class ReadoutBar(QStatusBar):
    def __init__(self, session: ViewerSession, runner, parent=None):
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.position_label = QLabel()
        self.hr_label = QLabel()
        self.caliper_label = QLabel()
        self.model_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running analysis (Esc)")
        for w in (self.position_label, self.hr_label, self.caliper_label):
            self.addWidget(w)
        self.addPermanentWidget(self.model_label)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.cancel_button)
        # The hover readout is refreshed at most every 30 ms, not on every mouse event.
        self._cursor_timer = QTimer(self, singleShot=True, interval=30)
        self._cursor_timer.timeout.connect(self._render_cursor)
        self._cursor = (0.0, 0, 0.0)
        runner.progress.connect(self.show_progress)
        session.events.phase_changed.connect(self.render_phase)
        session.events.selection_changed.connect(self._on_selection)
        # the selected beat's line names its label: a relabel must not leave it stale
        session.events.labels_changed.connect(self._on_labels)
        session.events.loaded.connect(self.caliper_label.clear)  # they were on another record

    # --------------------------------------------------------------- progress
    def show_progress(self, stage: str, fraction: float) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"{STAGE_TEXT.get(stage, stage)} %p%")

    def render_phase(self) -> None:
        busy, opening = self.runner.busy, self.runner.opening
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if opening and self.session.phase is not Phase.ANALYSING:
            self.progress.setValue(0)
            self.progress.setFormat("Opening %p%")
        phase = self.session.phase
        if phase in (Phase.CANCELLED, Phase.FAILED) and not busy:
            self.showMessage(f"{self.session.record.name}: {phase.value} — Analysis ▸ "
                             "Re-analyse to retry", 0)
        self.render_model()

    def render_model(self) -> None:
        d = self.session.model
        if self.session.record is None:
            self.model_label.setText("")
        elif d is None:
            text = "no classifier" if self.session.phase == Phase.DONE else "loading model…"
            self.model_label.setText(text)
        else:
            device = d.get("device", "?")
            precision = d.get("precision", "")
            name = d.get("name") or "ensemble"
            self.model_label.setText(f"Model: {name} · {device.upper()} {precision}")

    # ---------------------------------------------------------------- pointer
    def show_cursor(self, t: float, lead: int, mv: float) -> None:
        self._cursor = (t, lead, mv)
        if not self._cursor_timer.isActive():
            self._cursor_timer.start()

    def clear_cursor(self) -> None:
        """The pointer left the strip: its readout is no longer about anything."""
        self._cursor_timer.stop()
        self.position_label.clear()
        self.hr_label.clear()

    def show_calipers(self, measurement) -> None:
        self.caliper_label.setText("Calipers: " + measurement.text())

    def _render_cursor(self) -> None:
        t, lead, mv = self._cursor
        record = self.session.record
        if record is None:
            return
        self.position_label.setText(
            f"{format_clock(t, 3)}  {record.lead_names[lead]} {mv:+.2f} mV")
        beats = self.session.beats
        hr = None if beats is None else heart_rate_at(beats.sample, beats.fs, t)
        self.hr_label.setText("HR —" if hr is None else f"HR {hr:.0f} bpm")

    # -------------------------------------------------------------- selection
    def _on_labels(self, *_changed) -> None:
        if self.currentMessage().startswith("Beat "):
            self._on_selection()

    def _on_selection(self) -> None:
        session = self.session
        index = session.selected_beat
        if index is None:
            return
        t = session.beat_time(index)
        b = session.beats
        p = b.probability[index]
        prob = "" if p != p else f" (model p {p:.2f})"
        edited = " · changed by the reviewer" if b.edited[index] else ""
        many = len(session.selection)
        also = f" · {many:,} beats selected" if many > 1 else ""
        hint = "" if session.review is None else " · Alt+N/S/V/F/Q relabels, Del deletes"
        self.showMessage(f"Beat {index + 1:,} at {format_clock(t, 3)}: "
                         f"{b.label[index]}{prob}{edited}{also}{hint}", 8000)
