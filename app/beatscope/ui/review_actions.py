"""The Edit menu: the reviewer's edits as actions, keys and a context menu.

Every action builds a review command through the session's
:class:`~beatscope.review.session.ReviewSession` and pushes it; the views update
themselves from the session's events once the command is committed to the review
database. An edit that cannot be saved (disk full, the database gone) is not
applied and is reported in one line.

Keys: Alt+N/S/V/F/Q relabel the selection (plain N S V F Q navigate, as before);
Del deletes it; Ins inserts a beat at the pointer (snapped to the R peak and
classified by the model); Ctrl+M annotates; D / Shift+D step through the
disagreements; Ctrl+Z / Ctrl+Shift+Z undo and redo.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from beatscope.aami import AAMI_CLASSES
from beatscope.display import Phase, format_clock
from beatscope.review.commands import episode_key
from beatscope.ui import theme
from beatscope.ui.worker import (
    BeatCallJob,
    BeatCallSignals,
    ReviewOpenJob,
    ReviewOpenSignals,
)

log = logging.getLogger(__name__)

#: An inserted beat closer than this to an existing one is refused (same beat).
MIN_BEAT_GAP_S = 0.12
#: Longest list of edits shown in Edit ▸ History.
HISTORY_SHOWN = 40


class ReviewActions(QObject):
    """Owns the Edit menu's actions for ``window`` (a MainWindow)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.call_signals = BeatCallSignals(self)
        self.call_signals.done.connect(self._on_beat_called)
        self.call_signals.failed.connect(self._on_beat_call_failed)
        #: inserted beats being classified: sample -> the review they were asked for
        self._calling: dict[int, object] = {}
        self.open_signals = ReviewOpenSignals(self)
        self.open_signals.opened.connect(self._on_review_opened)
        self.last_episode: tuple[str, float] | None = None  # (label, start_s) last shown
        self._build()
        self.session.events.review_changed.connect(self._render)
        self.session.events.selection_changed.connect(self._render)
        self.session.events.phase_changed.connect(self._render)
        self._render()

    # ------------------------------------------------------------------ menu
    def _build(self) -> None:
        w = self.window
        menu = self.menu = QMenu("&Edit", w)
        self.undo_action = w._action("Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = w._action("Redo", self.redo,
                                     [QKeySequence.StandardKey.Redo, "Ctrl+Shift+Z"])
        menu.addAction(self.undo_action)
        menu.addAction(self.redo_action)
        self.history_action = w._action("History…", self.show_history)
        menu.addAction(self.history_action)
        menu.addSeparator()
        self.relabel_actions = {}
        for cls in AAMI_CLASSES:
            action = w._action(f"Relabel as {cls} ({theme.CLASS_NAMES[cls]})",
                               lambda c=cls: self.relabel(c), f"Alt+{cls}")
            menu.addAction(action)
            self.relabel_actions[cls] = action
        self.delete_action = w._action("Delete beat(s)", self.delete, ["Del", "Backspace"])
        self.insert_action = w._action("Insert beat at the pointer", self.insert_at_pointer,
                                       "Ins")
        menu.addAction(self.delete_action)
        menu.addAction(self.insert_action)
        menu.addSeparator()
        self.note_action = w._action("Note on the selected beat(s)…", self.note_on_beats,
                                     "Ctrl+M")
        self.record_note_action = w._action("Note on the record…", self.note_on_record)
        self.episode_note_action = w._action("Note on the episode shown…",
                                             self.note_on_episode)
        for action in (self.note_action, self.record_note_action, self.episode_note_action):
            menu.addAction(action)
        menu.addSeparator()
        #: File ▸ Export annotations (the window puts it in its File menu)
        self.export_action = w._action("&Export annotations…", self.export_annotations,
                                       "Ctrl+E", "The review as WFDB annotations (rev, ai) "
                                       "and a CSV of every beat")
        self.next_action = w._action("Next disagreement", lambda: self.step(True), "D")
        self.previous_action = w._action("Previous disagreement", lambda: self.step(False),
                                         "Shift+D")
        menu.addAction(self.next_action)
        menu.addAction(self.previous_action)
        self._edit_actions = [*self.relabel_actions.values(), self.delete_action,
                              self.insert_action, self.note_action, self.record_note_action,
                              self.episode_note_action, self.export_action]

    def _render(self, *_args) -> None:
        review = self.session.review
        editable = review is not None and self.session.phase is Phase.DONE
        for action in self._edit_actions:
            # enabled on an analysed record even without its review, so that a key
            # press says why nothing changed instead of doing nothing
            action.setEnabled(self.session.phase is Phase.DONE)
        stack = None if review is None else review.stack
        self.undo_action.setEnabled(editable and stack.can_undo)
        self.redo_action.setEnabled(editable and stack.can_redo)
        self.undo_action.setText(stack.undo_text if stack is not None else "Undo")
        self.redo_action.setText(stack.redo_text if stack is not None else "Redo")
        self.history_action.setEnabled(stack is not None)

    def context_menu(self, t: float, where: QPoint) -> None:
        """The strip's right-click menu at time ``t``."""
        menu = QMenu(self.window)
        n = len(self.session.selection)
        if n:
            title = menu.addAction(f"{n:,} beat{'s' * (n != 1)} selected")
            title.setEnabled(False)
            for cls in AAMI_CLASSES:
                menu.addAction(self.relabel_actions[cls])
            menu.addAction(self.delete_action)
            menu.addAction(self.note_action)
            menu.addSeparator()
        insert = menu.addAction(f"Insert a beat at {format_clock(t, 2)}",
                                lambda: self.insert_at(t))
        insert.setEnabled(self.session.review is not None)
        menu.addSeparator()
        menu.addAction(self.undo_action)
        menu.addAction(self.redo_action)
        menu.popup(where)
        self.last_menu = menu

    # ----------------------------------------------------------------- edits
    def _review(self, needs_selection: bool = True):
        """The open review, or None with the reason in the status bar."""
        review = self.session.review
        if review is None or self.session.phase is not Phase.DONE:
            self._say("Edits are possible once the analysis has finished and its review "
                      "is open" + (f" ({self.window.review_error})"
                                   if self.window.review_error else ""))
            return None
        if needs_selection and not len(self.session.selection):
            self._say("Select beats first: click one, Ctrl+drag across several, or pick "
                      "rows in the Beats table")
            return None
        return review

    def _run(self, edit, done: str) -> bool:
        """Push one command; an edit that cannot be saved is not applied."""
        try:
            command = edit()
        except (sqlite3.Error, OSError) as err:
            self.window.show_error(f"The edit could not be saved ({err}); it was not applied")
            return False
        except (ValueError, KeyError) as err:
            self._say(str(err).strip("'\""))
            return False
        self._say(done if command is not None else "Nothing to change")
        return command is not None

    def relabel(self, cls: str) -> None:
        review = self._review()
        if review is not None:
            samples = self.session.selected_samples()
            self._run(lambda: review.relabel(samples, cls),
                      f"Relabelled {len(samples):,} beat{'s' * (len(samples) != 1)} as {cls}"
                      " · Ctrl+Z undoes")

    def delete(self) -> None:
        review = self._review()
        if review is not None:
            samples = self.session.selected_samples()
            self._run(lambda: review.delete(samples),
                      f"Deleted {len(samples):,} beat{'s' * (len(samples) != 1)}"
                      " · Ctrl+Z undoes")

    def insert_at_pointer(self) -> None:
        t = self.window.strip.hover_time
        if t is None:
            self._say("Point at the missed beat on the strip, then press Ins")
            return
        self.insert_at(t)

    def insert_at(self, t: float) -> None:
        """Add a beat at the R peak nearest ``t``, with the model's call on it."""
        review = self._review(needs_selection=False)
        if review is None:
            return
        from beatscope.detect.locate import snap_to_r_peak

        record = self.session.record
        click = int(round(t * record.fs))
        known = review.store.sample  # deleted beats too: pointing at one restores it
        near = known[np.abs(known - click) < record.fs]
        sample = snap_to_r_peak(record.signals, record.fs, click, avoid=near)
        beats = self.session.beats
        nearest = beats.nearest(sample / record.fs) if len(beats) else None
        if nearest is not None and abs(int(beats.sample[nearest]) - sample) < \
                MIN_BEAT_GAP_S * record.fs:
            self._say(f"There is already a beat at {format_clock(sample / record.fs, 3)}")
            return
        deleted = review.deleted_near(sample, int(MIN_BEAT_GAP_S * record.fs))
        if deleted is not None:  # the reviewer deleted this beat before: take it back
            self._run(lambda: review.restore([deleted]),
                      f"Restored the deleted beat at {format_clock(deleted / record.fs, 3)}"
                      " · Ctrl+Z undoes")
            return
        if sample in self._calling:
            return
        describe = self.session.model
        if describe is None:  # no classifier ran: the beat is unclassified, as the rest
            self._insert(sample, "Q", None)
            return
        self._calling[sample] = review
        self._say(f"Classifying the beat at {format_clock(sample / record.fs, 3)}…")
        w = self.window
        job = BeatCallJob(self.call_signals, w.runner.engines, record,
                          review.store.sample[~review.store.rows.deleted], sample,
                          w.prefs.analysis_options(), w.prefs.classifier(w.weights))
        w.runner.pool.start(job)

    def _on_beat_called(self, sample: int, label: str, probability) -> None:
        asked_for = self._calling.pop(sample, None)
        if asked_for is not None and asked_for is self.session.review:
            self._insert(sample, label, probability)  # else another record took over

    def _on_beat_call_failed(self, sample: int, message: str) -> None:
        if self._calling.pop(sample, None) is not self.session.review:
            return
        self.window.show_error(f"The inserted beat could not be classified ({message}); "
                               "it was not inserted")

    def _insert(self, sample: int, label: str, probability) -> None:
        review = self._review(needs_selection=False)
        if review is None or review.store.has_beat(sample):
            return
        t = sample / self.session.record.fs
        done = (f"Inserted a beat at {format_clock(t, 3)}: the model calls it {label}"
                " · Alt+letter relabels it · Ctrl+Z undoes")
        if self._run(lambda: review.insert(sample, label, probability), done):
            self.session.select(self.session.beats.nearest(t))
            self._say(done)  # over the selection's own message

    def undo(self) -> None:
        self._replay("undo")

    def redo(self) -> None:
        self._replay("redo")

    def _replay(self, which: str) -> None:
        review = self.session.review
        if review is None:
            return
        stack = review.stack
        text = stack.undo_text if which == "undo" else stack.redo_text
        try:
            command = stack.undo() if which == "undo" else stack.redo()
        except (sqlite3.Error, OSError) as err:
            self.window.show_error(f"{which.capitalize()} could not be saved ({err}); "
                                   "nothing was changed")
            return
        self._say(text if command is not None else f"Nothing to {which}")

    # ----------------------------------------------------------------- notes
    def _ask(self, title: str, current: str) -> str | None:
        text, ok = QInputDialog.getMultiLineText(self.window, title,
                                                 "Note (empty clears it):", current)
        return text.strip() if ok else None

    def note_on_beats(self) -> None:
        review = self._review()
        if review is None:
            return
        samples = self.session.selected_samples()
        notes = review.store.snapshot(samples).note
        text = self._ask(f"Note on {len(samples):,} beat{'s' * (len(samples) != 1)}",
                         str(notes[0]) if len(set(notes.tolist())) == 1 else "")
        if text is not None:
            self._run(lambda: review.note(samples, text), "Note saved")

    def note_on_record(self) -> None:
        review = self._review(needs_selection=False)
        if review is None:
            return
        text = self._ask("Note on the record", review.store.notes.get("record", ""))
        if text is not None:
            self._run(lambda: review.text_note("record", text), "Note on the record saved")

    def note_on_episode(self) -> None:
        review = self._review(needs_selection=False)
        if review is None:
            return
        if self.last_episode is None:
            self._say("Show an episode first (Rhythm tab, or ] and [)")
            return
        label, start_s = self.last_episode
        key = episode_key(label, start_s)
        text = self._ask(f"Note on the {label} episode at {format_clock(start_s)}",
                         review.store.notes.get(key, ""))
        if text is not None:
            self._run(lambda: review.text_note(key, text), "Note on the episode saved")

    # ---------------------------------------------------- a mismatching review
    def offer_new_review(self, found: Path, message: str) -> QMessageBox:
        """The review beside the record belongs to another recording: set it aside
        and start a new one, or view the record without editing (the default)."""
        box = QMessageBox(QMessageBox.Icon.Question, "BeatScope", message,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                          self.window)
        box.setInformativeText(f"Start a new review of this recording? The review found is "
                               f"kept, renamed to {found.name}.other-recording-DATE.")
        box.button(QMessageBox.StandardButton.Yes).setText("Start a new review")
        box.button(QMessageBox.StandardButton.No).setText("View without editing")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        result = self.session.result
        box.finished.connect(lambda code: self._start_new_review(found, result) if code ==
                             QMessageBox.StandardButton.Yes else None)
        box.open()
        self.conflict_box = box
        return box

    def _start_new_review(self, found: Path, result) -> None:
        from beatscope.review.sidecar import set_aside

        if self.session.result is not result:  # another record is on screen now
            return
        try:
            kept = set_aside(found)
        except OSError as err:
            self.window.show_error(f"{found.name} could not be set aside ({err}); the record "
                                   "is shown without editing")
            return
        self._say(f"The other review was kept as {kept.name}; opening a new review…")
        w = self.window
        w.runner.pool.start(ReviewOpenJob(self.open_signals, self.session.record, result,
                                          w._review_request()))

    def reopen_review(self) -> None:
        """Open the review of the result on screen again (a cancelled re-analysis
        brought the previous result back; its review was closed for the new job)."""
        if self.session.review is None and self.session.result is not None:
            w = self.window
            w.runner.pool.start(ReviewOpenJob(self.open_signals, self.session.record,
                                              self.session.result, w._review_request()))

    def _on_review_opened(self, finished) -> None:
        if finished.review is None:
            self.window.show_error(finished.review_error or "the review could not be opened")
        elif self.session.result is not finished.result or \
                not self.session.attach_review(finished.review):
            finished.discard()  # the user moved on to another record meanwhile
        else:
            self.window.review_error = None
            self._say(f"New review started: {self.session.review.summary()}")

    # ---------------------------------------------------------------- export
    def export_annotations(self, folder: str | None = None) -> list[Path]:
        """Write NAME.rev, NAME.ai and NAME_beats.csv into a folder the user picks
        (each file atomically: written aside, then renamed into place)."""
        review = self._review(needs_selection=False)
        if review is None:
            return []
        if folder is None:
            start = self.window.record_folder()
            folder = QFileDialog.getExistingDirectory(self.window, "Export annotations to",
                                                      str(start) if start else "")
            if not folder:
                return []
        from beatscope.review.export import write_csv, write_wfdb

        name = self.session.record.name
        try:
            written = write_wfdb(review.store, name, Path(folder), self.session.rhythm)
            written.append(write_csv(review.store, name, Path(folder)))
        except OSError as err:
            self.window.show_error(f"Cannot write to {folder}: {err.strerror or err}")
            return []
        self._say("Exported " + ", ".join(p.name for p in written) + f" to {folder}")
        return written

    # ------------------------------------------------------------ navigation
    def step(self, forward: bool) -> None:
        """Select the next (previous) disagreement after (before) the selected beat."""
        panel = self.window.disagreements
        session = self.session
        here = None
        if session.selected_beat is not None:
            here = int(session.beats.sample[session.selected_beat])
        elif session.record is not None:
            here = int(self.window.strip.visible_range()[0] * session.record.fs)
        sample = panel.neighbour(here, forward)
        if sample is None:
            self._say(f"No {'later' if forward else 'earlier'} disagreement")
            return
        self.window.go_to_sample(sample)

    def show_history(self) -> None:
        review = self.session.review
        if review is None:
            return
        history = review.stack.history()
        shown = history[-HISTORY_SHOWN:]
        lines = [f"{len(history) - len(shown) + i + 1}. {text}" for i, text in enumerate(shown)]
        undone = review.stack.redo_history()
        if undone:
            lines.append("")
            lines += [f"(undone) {text}" for text in undone]
        QMessageBox.information(self.window, "Review history",
                                "\n".join(lines) if lines else "No edits yet.")

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 6000)

