"""File ▸ Export PDF report: the dialog, and the report written on a pool thread.

The report is built from what the window shows at the moment of the export: the
result, a snapshot of the review (the reviewer may go on editing meanwhile) and the
rhythm findings on screen; the PDF is written by the same code as ``beatscope
report``. A busy indicator runs until it is written; the window stays responsive.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QWidget,
)

from beatscope.display import Phase
from beatscope.errors import BeatScopeError

log = logging.getLogger(__name__)


class ExportDialog(QDialog):
    """Where to, which paper, de-identified or not."""

    def __init__(self, suggested: Path, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export PDF report")
        self.path = QLineEdit(str(suggested))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.path, 1)
        rl.addWidget(browse)
        self.paper = QComboBox()
        self.paper.addItem("A4", "a4")
        self.paper.addItem("US Letter", "letter")
        self.deidentify = QCheckBox("De-identify (no name, ID, file name or true date)")
        form = QFormLayout(self)
        form.addRow("File:", row)
        form.addRow("Paper:", self.paper)
        form.addRow(self.deidentify)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PDF report", self.path.text(),
                                              "PDF (*.pdf)")
        if path:
            self.path.setText(path if path.lower().endswith(".pdf") else path + ".pdf")


class _Signals(QObject):
    done = Signal(str, str)  # path, one-line summary
    failed = Signal(str)


class _WriteReport(QRunnable):
    def __init__(self, signals: _Signals, path: Path, record, result, review, rhythm,
                 paper: str, deidentify: bool):
        super().__init__()
        self.signals = signals
        self.args = (path, record, result, review, rhythm, paper, deidentify)

    def run(self) -> None:  # on a pool thread
        from beatscope.report import write_report

        path, record, result, review, rhythm, paper, deidentify = self.args
        try:
            report = write_report(path, record, result, review, rhythm=rhythm, paper=paper,
                                  deidentify=deidentify)
            self.signals.done.emit(str(path), f"{report.total_beats:,} beats, "
                                              f"{len(report.strips)} strips")
        except OSError as err:
            self.signals.failed.emit(f"cannot write {path}: {err.strerror or err}")
        except BeatScopeError as err:
            self.signals.failed.emit(str(err))
        except Exception as err:  # a bug: one line for the user, the traceback in the log
            log.error("report failed:\n%s", traceback.format_exc())
            self.signals.failed.emit(f"the report failed ({type(err).__name__}: {err})")


class ReportExporter(QObject):
    """Owns File ▸ Export PDF report for ``window`` (a MainWindow)."""

    written = Signal(str)  # the path, once the PDF is in place (tests)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.signals = _Signals(self)
        self.signals.done.connect(self._on_done)
        self.signals.failed.connect(self._on_failed)
        self.busy: QProgressDialog | None = None
        self.action = window._action("Export PDF &report…", self.export_dialog, "Ctrl+P",
                                     "The summary report a cardiologist signs, as a PDF")

    def export_dialog(self) -> None:
        session = self.window.session
        if session.result is None or session.phase is not Phase.DONE:
            self.window.statusBar().showMessage("The report needs a finished analysis", 5000)
            return
        folder = self.window.record_folder() or Path.home()
        dialog = ExportDialog(folder / f"{session.record.name}_report.pdf", self.window)
        if dialog.exec():
            self.export(Path(dialog.path.text()), dialog.paper.currentData(),
                        dialog.deidentify.isChecked())

    def export(self, path: Path, paper: str = "a4", deidentify: bool = False) -> None:
        """Write the report of what is on screen to ``path``, off the GUI thread."""
        session = self.window.session
        review = None if session.review is None else session.review.snapshot()
        # findings still being derived after the last edit: the report derives its own
        rhythm = None if self.window.rhythm_refresher.pending else session.rhythm
        job = _WriteReport(self.signals, path, session.record, session.result, review,
                           rhythm, paper, deidentify)
        self.busy = QProgressDialog("Writing the report…", "", 0, 0, self.window)
        self.busy.setCancelButton(None)
        self.busy.setWindowModality(Qt.WindowModality.NonModal)
        self.busy.setMinimumDuration(300)
        self.window.runner.pool.start(job)

    def _finish(self) -> None:
        if self.busy is not None:
            self.busy.close()
            self.busy = None

    def _on_done(self, path: str, summary: str) -> None:
        self._finish()
        self.window.statusBar().showMessage(f"Report written to {path} ({summary})", 15000)
        self.written.emit(path)

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.window.show_error(message)
