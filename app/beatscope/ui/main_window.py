"""The main window: composes the views and forwards commands.

It holds no analysis logic: the worker runs the engine, the
:class:`~beatscope.display.ViewerSession` holds the state, answers where
navigation lands and announces every change; each widget subscribes to the
session's events in its own constructor and redraws itself, so the window only
forwards the worker's reports and the user's commands to the session. The Edit
menu (the review's commands) is :class:`~beatscope.ui.review_actions.ReviewActions`.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from beatscope.aami import AAMI_CLASSES
from beatscope.display import (
    GAINS_MM_PER_MV,
    SPEEDS_MM_PER_S,
    ViewerSession,
    format_clock,
    format_duration,
    parse_clock,
)
from beatscope.display.paper import FALLBACK_PIXELS_PER_MM
from beatscope.display.twelve_lead import is_resting_twelve_lead
from beatscope.rhythm.vocabulary import RHYTHM_NAMES
from beatscope.ui.beat_table import BeatTable
from beatscope.ui.disagreements_panel import DisagreementsPanel
from beatscope.ui.keys_help import KEYS_HELP
from beatscope.ui.legend import ClassLegend, ElidedLabel
from beatscope.ui.overview import OverviewStrip
from beatscope.ui.preferences_dialog import PreferencesDialog
from beatscope.ui.report_export import ReportExporter
from beatscope.ui.review_actions import ReviewActions
from beatscope.ui.rhythm_panel import RhythmPanel
from beatscope.ui.rhythm_refresh import RhythmRefresher
from beatscope.ui.screen import screen_pixels_per_mm
from beatscope.ui.settings import Settings
from beatscope.ui.status_bar import ReadoutBar
from beatscope.ui.strip import StripView
from beatscope.ui.templates_panel import TemplatesPanel
from beatscope.ui.twelve_lead_view import TwelveLeadView
from beatscope.ui.worker import AnalysisRunner, Finished, ReviewRequest

log = logging.getLogger(__name__)

#: GIL switch interval for the GUI process (Python's default is 5 ms).
SWITCH_INTERVAL_S = 0.001
FILE_FILTER = ("ECG records (*.hea *.edf *.bdf *.csv *.mat *.ecg *.dcm *.xml);;WFDB (*.hea);;"
               "EDF/BDF (*.edf *.bdf);;ISHNE Holter (*.ecg);;DICOM waveform (*.dcm);;"
               "HL7 aECG, GE MUSE, Philips XML (*.xml);;CSV (*.csv);;MATLAB (*.mat);;"
               "All files (*)")


def user_review_dir() -> Path:
    """Where reviews of records in read-only folders are kept (per user)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".beatscope") / "reviews"


class MainWindow(QMainWindow):
    #: Emitted when an analysis finished and its result is painted (tests, --screenshot).
    analysis_finished = Signal()
    #: Emitted with the one-line reason whenever an error is shown to the user.
    error_shown = Signal(str)

    def __init__(self, settings: Settings | None = None, weights: Path | None = None):
        super().__init__()
        # While a worker thread runs Python code (loading a record, relaying the
        # engine's blocks), every Python callback of a repaint
        # (pyqtgraph paints through many) waits up to the GIL switch interval; at
        # the default 5 ms the first paint of a 24-h record took ~60 ms.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.settings = settings or Settings()
        self.prefs = self.settings.preferences()
        self.weights = weights
        self.session = ViewerSession()
        self.runner = AnalysisRunner(self)
        self.last_error: str | None = None
        #: why the open record's review could not be opened (edits disabled), or None
        self.review_error: str | None = None
        self._other_recording: Path | None = None  # a review of another recording found
        self._error_box: QMessageBox | None = None
        self._open_started = 0.0
        self._pending_path: Path | None = None
        self._record_path: Path | None = None  # the file the record on screen came from
        self.time_to_signal_s: float | None = None
        self.setWindowTitle("BeatScope")
        self.setAcceptDrops(True)
        self.resize(1500, 920)

        session = self.session
        self.strip = StripView(session, self.prefs.paper_scale(FALLBACK_PIXELS_PER_MM))
        self.overview = OverviewStrip(session)
        self.legend = ClassLegend(session)
        self.rhythm = RhythmPanel(session)
        self.table = BeatTable(session)
        self.disagreements = DisagreementsPanel(session)
        self.templates = TemplatesPanel(session)
        self.rhythm_refresher = RhythmRefresher(session, self)
        self.status = ReadoutBar(session, self.runner)
        self.setStatusBar(self.status)
        # the readouts the tests and the screenshot read
        self.position_label, self.hr_label = self.status.position_label, self.status.hr_label
        self.caliper_label, self.model_label = self.status.caliper_label, self.status.model_label
        self.progress, self.cancel_button = self.status.progress, self.status.cancel_button
        self._build_central()
        self._build_actions()
        self._connect()
        self._render_phase()
        self.runner.warm_up(self.prefs.classifier(self.weights))

    # ================================================================= layout
    def _build_central(self) -> None:
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        header = QWidget()
        hl = QHBoxLayout(header)
        hl.setContentsMargins(0, 0, 8, 0)
        hl.addWidget(self.legend)
        self.review_label = ElidedLabel()  # "reviewed: K of N beats changed"
        hl.addWidget(self.review_label, 1)
        lv.addWidget(header)
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(self.strip)
        vsplit.addWidget(self.overview)
        vsplit.setStretchFactor(0, 5)
        vsplit.setStretchFactor(1, 1)
        vsplit.setSizes([640, 170])
        lv.addWidget(vsplit)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.rhythm, "Rhythm")
        self.tabs.addTab(self.table, "Beats")
        self.tabs.addTab(self.disagreements, "Disagreements")
        self.tabs.addTab(self.templates, "Templates")
        hsplit = QSplitter(Qt.Orientation.Horizontal)
        hsplit.addWidget(left)
        hsplit.addWidget(self.tabs)
        hsplit.setStretchFactor(0, 4)
        hsplit.setStretchFactor(1, 1)
        hsplit.setSizes([1130, 370])
        self.setCentralWidget(hsplit)

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        # triggered(bool checked) would fill a slot's first default argument (the
        # class of "Next V beat" arrived as False): every action slot takes none
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work wherever the focus is in the window
        return action

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("Fi&le")  # Alt+N S V F Q relabel: no mnemonic on them
        self.open_action = self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        file_menu.addSeparator()
        self.review_actions = ReviewActions(self)
        file_menu.addAction(self.review_actions.export_action)
        self.report_exporter = ReportExporter(self)
        file_menu.addAction(self.report_exporter.action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Preferences…", self.open_preferences,
                                         QKeySequence.StandardKey.Preferences))
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        menu.addMenu(self.review_actions.menu)

        analysis = menu.addMenu("&Analysis")
        self.reanalyse_action = self._action("&Re-analyse", self.reanalyse, "Ctrl+R",
                                             "Run the analysis again with the current preferences")
        self.cancel_action = self._action("&Cancel analysis", self.cancel_analysis, "Esc")
        analysis.addAction(self.reanalyse_action)
        analysis.addAction(self.cancel_action)

        nav = menu.addMenu("Navi&gate")
        items = [
            ("Page forward", lambda: self.strip.page(1), ["PgDown", "Space"]),
            ("Page back", lambda: self.strip.page(-1), ["PgUp", "Shift+Space"]),
            ("Next beat", lambda: self.step_beat(1), "Right"),
            ("Previous beat", lambda: self.step_beat(-1), "Left"),
            ("Start of record", lambda: self.strip.show_window(0, self._span()), "Home"),
            ("End of record", lambda: self.strip.show_window(self.session.duration_s,
                                                             self._span()), "End"),
            ("Next episode", lambda: self.jump_episode(True), "]"),
            ("Previous episode", lambda: self.jump_episode(False), "["),
            ("Zoom in", lambda: self.strip.zoom(1.25), ["+", "="]),
            ("Zoom out", lambda: self.strip.zoom(1 / 1.25), "-"),
            ("Nominal speed", self.strip.reset_zoom, "0"),
            ("Go to time…", self.go_to_time_dialog, "Ctrl+G"),
        ]
        for text, slot, keys in items:
            nav.addAction(self._action(text, slot, keys))
        nav.addSeparator()
        for cls in AAMI_CLASSES:
            nav.addAction(self._action(f"Next {cls} beat", lambda c=cls: self.jump_class(c, True),
                                       cls))
            nav.addAction(self._action(f"Previous {cls} beat",
                                       lambda c=cls: self.jump_class(c, False), f"Shift+{cls}"))

        view = menu.addMenu("Vie&w")  # not &View: Alt+V relabels as V
        self.twelve_lead_action = self._action(
            "&12-lead page", self.show_twelve_lead, "Ctrl+L",
            "The standard 3 x 4 layout and a lead II rhythm strip (resting 12-lead records)")
        view.addAction(self.twelve_lead_action)
        self.twelve_lead_window: TwelveLeadView | None = None

        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("&Keys and mouse", self.show_help, "F1"))
        help_menu.addAction(self._action("&About BeatScope", self.show_about))

        tools = QToolBar("View")
        tools.setMovable(False)
        self.addToolBar(tools)
        tools.addAction(self.open_action)
        tools.addSeparator()
        tools.addWidget(QLabel(" Speed "))
        self.speed_box = QComboBox()
        for s in SPEEDS_MM_PER_S:
            self.speed_box.addItem(f"{s:g} mm/s", s)
        tools.addWidget(self.speed_box)
        tools.addWidget(QLabel(" Gain "))
        self.gain_box = QComboBox()
        for g in GAINS_MM_PER_MV:
            self.gain_box.addItem(f"{g:g} mm/mV", g)
        tools.addWidget(self.gain_box)
        self.speed_box.setCurrentIndex(max(0, self.speed_box.findData(self.prefs.speed_mm_s)))
        self.gain_box.setCurrentIndex(max(0, self.gain_box.findData(self.prefs.gain_mm_mv)))
        tools.addSeparator()
        tools.addWidget(QLabel(" Jump to "))
        self.class_box = QComboBox()
        self.class_box.addItems(list(AAMI_CLASSES))
        self.class_box.setCurrentText("V")
        tools.addWidget(self.class_box)
        tools.addAction(self._action("◀ Prev", lambda: self.jump_class(
            self.class_box.currentText(), False), tip="Previous beat of this class (Shift+letter)"))
        tools.addAction(self._action("Next ▶", lambda: self.jump_class(
            self.class_box.currentText(), True), tip="Next beat of this class (its letter key)"))
        tools.addSeparator()
        tools.addAction(self._action("Go to…", self.go_to_time_dialog))
        self.speed_label = QLabel()
        tools.addWidget(self.speed_label)

    def _connect(self) -> None:
        r = self.runner
        r.loaded.connect(self._on_loaded)
        r.model_ready.connect(self._on_model_ready)
        r.beats.connect(self.session.add_beats)
        r.finished.connect(self._on_finished)
        r.failed.connect(self._on_failed)
        r.open_failed.connect(self._on_open_failed)
        r.cancelled.connect(self._on_cancelled)
        self.cancel_button.clicked.connect(self.cancel_analysis)
        self.strip.range_changed.connect(self._on_strip_range)
        self.strip.cursor_moved.connect(self.status.show_cursor)
        self.strip.pointer_left.connect(self.status.clear_cursor)
        self.strip.caliper_measured.connect(self.status.show_calipers)
        self.strip.context_requested.connect(self.review_actions.context_menu)
        self.overview.window_moved.connect(lambda t0, t1: self.strip.show_window(t0, t1 - t0))
        self.overview.clicked_at.connect(self.strip.center_on)
        self.rhythm.episode_activated.connect(self.show_episode)
        self.disagreements.go_to_sample.connect(self.go_to_sample)
        self.speed_box.currentIndexChanged.connect(self._on_scale_changed)
        self.gain_box.currentIndexChanged.connect(self._on_scale_changed)
        e = self.session.events
        e.phase_changed.connect(self._render_phase)
        e.review_changed.connect(self._render_review)

    def showEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        super().showEvent(ev)
        self._on_scale_changed()  # the screen is known only once shown

    # =============================================================== commands
    def open_path(self, path: str | Path) -> None:
        """Open ``path`` and analyse it; the running analysis stops once it has loaded."""
        path = Path(path)
        self._open_started = time.perf_counter()
        self.time_to_signal_s = None
        self.runner.start(path=path, options=self.prefs.analysis_options(),
                          classifier=self.prefs.classifier(self.weights),
                          review=self._review_request())
        self._pending_path = path
        self.statusBar().showMessage(f"Opening {path.name}…")
        self._render_phase()

    def open_dialog(self) -> None:
        start = str(self.settings.recent_files()[0]) if self.settings.recent_files() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open ECG record",
                                              str(Path(start).parent) if start else "",
                                              FILE_FILTER)
        if path:
            self.open_path(path)

    def reanalyse(self) -> None:
        if self.session.record is None:
            return
        self.session.restart()
        self.runner.start(record=self.session.record, path=self._record_path,
                          options=self.prefs.analysis_options(),
                          classifier=self.prefs.classifier(self.weights),
                          review=self._review_request())
        self._render_phase()

    def _review_request(self) -> ReviewRequest:
        return ReviewRequest(user_review_dir(), self.prefs.reviewer_name())

    def cancel_analysis(self) -> None:
        if self.runner.busy:
            self.runner.cancel()
        else:
            self.strip.calipers.hide()
            self.caliper_label.clear()

    def open_preferences(self) -> None:
        # the engine process's torch is asked, not imported here (seconds, ~250 MB)
        dialog = PreferencesDialog(self.prefs, self.runner.engines.cuda_available(), self)
        if dialog.exec():
            self.prefs = dialog.preferences()
            self.settings.set_preferences(self.prefs)
            self.speed_box.setCurrentIndex(max(0, self.speed_box.findData(self.prefs.speed_mm_s)))
            self.gain_box.setCurrentIndex(max(0, self.gain_box.findData(self.prefs.gain_mm_mv)))
            if self.session.review is not None:  # the next edit carries the new name
                self.session.review.reviewer = self.prefs.reviewer_name()

    def step_beat(self, step: int) -> None:
        self.session.step_beat(step)

    def jump_class(self, cls: str, forward: bool) -> None:
        if self.session.beats is None:
            return
        t = self._reference_time()
        if self.session.jump_to_class(cls, t, forward) is None:
            self.statusBar().showMessage(
                f"No {'later' if forward else 'earlier'} {cls} beat", 3000)

    def jump_episode(self, forward: bool) -> None:
        t0, t1 = self.strip.visible_range()
        episode = self.session.jump_to_episode(t0 + 0.05 * (t1 - t0), forward)
        if episode is None:
            self.statusBar().showMessage("No further rhythm episode", 3000)
            return
        self.show_episode(episode["start_s"], episode["end_s"])

    def show_episode(self, start_s: float, end_s: float) -> None:
        """Put the episode's onset near the left of the strip at the current zoom,
        shade it there, and say which finding it is."""
        span = self._span()
        self.strip.show_window(start_s - 0.05 * span, span)
        episode = self.session.episode_at(start_s)
        label = episode.get("label", "") if episode else ""
        self.strip.show_episode(start_s, end_s, label)
        if label:
            self.review_actions.last_episode = (label, float(start_s))
        name = RHYTHM_NAMES.get(label, label or "Episode")
        self.statusBar().showMessage(
            f"{name} ({label}) {format_clock(start_s)}–{format_clock(end_s)}, "
            f"{format_duration(end_s - start_s)} · ] / [: next / previous finding", 8000)

    def show_twelve_lead(self) -> None:
        """The 12-lead page of the record on screen, in its own window (it is printed
        size: wider than the strip)."""
        record = self.session.record
        if record is None or not is_resting_twelve_lead(record):
            self.statusBar().showMessage("The 12-lead page needs a resting 12-lead record "
                                         "(leads I to V6, at most 60 s)", 5000)
            return
        if self.twelve_lead_window is None:
            self.twelve_lead_window = TwelveLeadView()
            self.twelve_lead_window.resize(1100, 560)
            self.session.events.loaded.connect(
                lambda: self.twelve_lead_window.set_record(self.session.record))
        self.twelve_lead_window.setWindowTitle(f"BeatScope — {record.name} — 12-lead")
        self.twelve_lead_window.set_record(record)
        self.twelve_lead_window.show()
        self.twelve_lead_window.raise_()

    def select_beat(self, index: int) -> None:
        self.session.select(index)

    def go_to_sample(self, sample: int) -> None:
        """Select the beat at ``sample``; a deleted beat (not on the strip) is centred."""
        beats = self.session.beats
        if beats is None or self.session.record is None:
            return
        t = sample / self.session.record.fs
        index = beats.nearest(t) if len(beats) else None
        if index is not None and int(beats.sample[index]) == int(sample):
            self.session.select(index)
        else:
            self.session.select(None)
            self.strip.center_on(t)
            self.strip.select_time(t)
            self.statusBar().showMessage(f"Deleted beat at {format_clock(t, 3)} "
                                         "(Ctrl+Z or the Disagreements tab to review it)", 5000)

    def go_to_time(self, t: float) -> None:
        self.strip.center_on(t)

    def go_to_time_dialog(self) -> None:
        if self.session.record is None:
            return
        text, ok = QInputDialog.getText(self, "Go to time",
                                        "Time from the start (hh:mm:ss, mm:ss or seconds):")
        if not ok:
            return
        try:
            self.go_to_time(parse_clock(text))
        except ValueError as err:
            self.statusBar().showMessage(str(err), 5000)

    def show_help(self) -> None:
        QMessageBox.information(self, "Keys and mouse", KEYS_HELP)

    def show_about(self) -> None:
        from beatscope.about import about_text

        self.about_box = QMessageBox(QMessageBox.Icon.Information, "About BeatScope",
                                     about_text(), QMessageBox.StandardButton.Ok, self)
        self.about_box.open()

    # ========================================================== worker reports
    def _on_loaded(self, record, pyramid) -> None:
        self.session.loaded(record, pyramid)
        self.time_to_signal_s = time.perf_counter() - self._open_started
        path = self._pending_path or record.source_path
        self._record_path = self._pending_path
        if path is not None:
            self.settings.add_recent_file(str(path))
            self._rebuild_recent_menu()
        self.setWindowTitle(f"BeatScope — {record.name}")
        self.review_error = None
        self._on_scale_changed()
        self.statusBar().showMessage(f"{record.name}: analysing…")
        self._render_phase()

    def _on_model_ready(self, description: dict | None) -> None:
        self.session.model = description
        self.status.render_model()

    def _on_finished(self, finished: Finished) -> None:
        result, review = finished.result, finished.review
        self.review_error = finished.review_error
        self._other_recording = finished.other_recording
        self.session.finish(result, review)
        # The rhythm list (thousands of episodes on a 24-h record) is built in its
        # own event-loop turn (the panel defers it), so this message and the
        # signal wait for it too.
        QTimer.singleShot(0, lambda: self._announce_finished(result))

    def _announce_finished(self, result) -> None:
        if self.session.result is not result:  # another record took over meanwhile
            return
        hr = result.heart_rate.get("mean_bpm")
        msg = f"{len(result.beats):,} beats" + (f", mean {hr:.0f} bpm" if hr else "")
        notes = [n for n in (self.review_error,
                             getattr(self.session.review, "notice", "") or None) if n]
        if result.warnings:
            notes.append(result.warnings[-1])
        if notes:
            msg += " — " + "; ".join(notes)
        if self._other_recording is not None:
            self.review_actions.offer_new_review(self._other_recording, self.review_error)
        elif self.review_error:
            self.show_error(self.review_error)
        self.statusBar().showMessage(msg, 15000)
        self.analysis_finished.emit()

    def _on_failed(self, message: str) -> None:
        if self.session.fail(message):
            self.review_actions.reopen_review()
        self._render_phase()
        self.show_error(message)

    def _on_open_failed(self, message: str) -> None:
        self._render_phase()  # the record on screen, if any, carries on as it was
        self.show_error(message)

    def _on_cancelled(self) -> None:
        if self.session.cancel():  # a re-analysis: the previous result is back
            self.review_actions.reopen_review()  # its review was closed for the new job
            self.statusBar().showMessage("Re-analysis cancelled: the previous result is kept",
                                         15000)
        self._render_phase()

    def show_error(self, message: str) -> None:
        """A message box with the one-line reason; never blocks the event loop."""
        self.last_error = message
        log.warning("%s", message)
        self.statusBar().showMessage(message, 15000)
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, "BeatScope", message,
                          QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self._error_box = box
        self.error_shown.emit(message)

    # ============================================================== rendering
    def _render_phase(self) -> None:
        # nothing is re-analysed while a load is half done or no record is open
        self.reanalyse_action.setEnabled(self.session.record is not None
                                         and not self.runner.opening)
        self.status.render_phase()

    def _on_scale_changed(self, *_args) -> None:
        scale = self.prefs.paper_scale(screen_pixels_per_mm(self)).with_speed(
            float(self.speed_box.currentData())).with_gain(float(self.gain_box.currentData()))
        self.strip.set_scale(scale)
        self._on_strip_range(*self.strip.visible_range())

    def _on_strip_range(self, t0: float, t1: float) -> None:
        self.overview.show_window(t0, t1)
        self.table.follow(t0, t1)
        self.speed_label.setText(f"  {self.strip.effective_speed():.3g} mm/s on screen · "
                                 f"window {t1 - t0:.1f} s")

    def _render_review(self) -> None:
        review = self.session.review
        if review is not None:
            self.review_label.set_full_text(review.summary())
        elif self.review_error and self.session.result is not None:
            self.review_label.set_full_text("review not open: edits disabled")
        else:
            self.review_label.set_full_text("")

    def _reference_time(self) -> float:
        """Where class jumps start from: the selected beat, else the window's left edge."""
        if self.session.selected_beat is not None:
            return self.session.beat_time(self.session.selected_beat)
        t0, t1 = self.strip.visible_range()
        return t0

    def record_folder(self) -> Path | None:
        """The folder of the record on screen (None: not from a file)."""
        return None if self._record_path is None else self._record_path.parent

    def _span(self) -> float:
        t0, t1 = self.strip.visible_range()
        return t1 - t0

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for path in files:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(files))

    # ======================================================== drag, drop, exit
    def dragEnterEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        files = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if files:
            ev.acceptProposedAction()
            self.open_path(files[0])

    def closeEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        self.runner.cancel()
        # a job finishing its current step must not signal into a deleted window
        self.runner.wait_idle(15_000)
        self.rhythm_refresher.wait(15_000)
        self.session.close()  # the review's lock goes with the window
        if self.twelve_lead_window is not None:
            self.twelve_lead_window.close()
        super().closeEvent(ev)
