"""Preferences: compute device, mains frequency, filters, default speed and gain, and
the reviewer's name stamped on each edit."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
)

from beatscope.display.paper import GAINS_MM_PER_MV, SPEEDS_MM_PER_S
from beatscope.ui.settings import BANDS, DEVICES, POWERLINES, Preferences

_DEVICE_TEXT = {"auto": "Automatic (GPU when available)", "cpu": "CPU", "cuda": "CUDA GPU"}
_POWERLINE_TEXT = {"auto": "Detect from the signal", "50": "50 Hz", "60": "60 Hz",
                   "off": "No notch filter"}
_BAND_TEXT = {"default": "0.5–40 Hz (default)", "paper": "0.6–35 Hz (source paper)"}


def _combo(values, texts) -> QComboBox:
    box = QComboBox()
    for v in values:
        box.addItem(texts[v] if texts else str(v), v)
    return box


class PreferencesDialog(QDialog):
    def __init__(self, prefs: Preferences, cuda_available: bool | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.device = _combo(DEVICES, _DEVICE_TEXT)
        if cuda_available is False:  # offer only what can run
            self.device.model().item(DEVICES.index("cuda")).setEnabled(False)
        self.powerline = _combo(POWERLINES, _POWERLINE_TEXT)
        self.band = _combo(BANDS, _BAND_TEXT)
        self.speed = _combo(SPEEDS_MM_PER_S, {s: f"{s:g} mm/s" for s in SPEEDS_MM_PER_S})
        self.gain = _combo(GAINS_MM_PER_MV, {g: f"{g:g} mm/mV" for g in GAINS_MM_PER_MV})
        for box, value in ((self.device, prefs.device), (self.powerline, prefs.powerline),
                           (self.band, prefs.band), (self.speed, prefs.speed_mm_s),
                           (self.gain, prefs.gain_mm_mv)):
            i = box.findData(value)
            box.setCurrentIndex(max(0, i))
        self.reviewer = QLineEdit(prefs.reviewer)
        self.reviewer.setPlaceholderText(prefs.reviewer_name() if not prefs.reviewer
                                         else "")
        self.reviewer.setToolTip("Stamped on every review edit, with the time; empty: "
                                 "the operating-system user name")
        form = QFormLayout(self)
        form.addRow("Classifier device:", self.device)
        form.addRow("Powerline notch:", self.powerline)
        form.addRow("Band-pass filter:", self.band)
        form.addRow("Default speed:", self.speed)
        form.addRow("Default gain:", self.gain)
        form.addRow("Reviewer name:", self.reviewer)
        note = QLabel("Device and filter changes apply to the next analysis "
                      "(Analysis ▸ Re-analyse runs it on the open record).")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def preferences(self) -> Preferences:
        return Preferences(device=self.device.currentData(),
                           powerline=self.powerline.currentData(),
                           band=self.band.currentData(),
                           speed_mm_s=float(self.speed.currentData()),
                           gain_mm_mv=float(self.gain.currentData()),
                           reviewer=self.reviewer.text().strip())
