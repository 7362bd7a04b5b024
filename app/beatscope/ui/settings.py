"""User preferences and recent files, kept in QSettings.

The window reads them through :class:`Preferences`, a plain dataclass, so the
analysis options it builds never depend on how QSettings stores types (it
hands back strings on some platforms).
"""

from __future__ import annotations

import getpass
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from PySide6.QtCore import QSettings

from beatscope.analysis import AnalysisOptions
from beatscope.analysis.classifier_cache import ClassifierSpec
from beatscope.display.paper import DEFAULT_GAIN, DEFAULT_SPEED, PaperScale
from beatscope.dsp import BAND_DEFAULT, BAND_PAPER, DenoiseConfig

MAX_RECENT = 10
DEVICES = ("auto", "cpu", "cuda")
POWERLINES = ("auto", "50", "60", "off")
BANDS = ("default", "paper")


@dataclass(frozen=True)
class Preferences:
    device: str = "auto"
    powerline: str = "auto"  # auto | 50 | 60 | off
    band: str = "default"  # default 0.5-40 Hz | paper 0.6-35 Hz
    speed_mm_s: float = DEFAULT_SPEED
    gain_mm_mv: float = DEFAULT_GAIN
    #: stamped on every review edit; "" = the operating-system user
    reviewer: str = ""

    def reviewer_name(self) -> str:
        if self.reviewer.strip():
            return self.reviewer.strip()
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            return "reviewer"

    def analysis_options(self) -> AnalysisOptions:
        powerline = {"auto": "auto", "50": 50, "60": 60, "off": None}[self.powerline]
        band = BAND_PAPER if self.band == "paper" else BAND_DEFAULT
        return AnalysisOptions(denoise=DenoiseConfig(powerline=powerline, band=band))

    def classifier(self, weights: Path | None = None) -> ClassifierSpec:
        # a weight set the user named must load (as in the CLI); only the shipped
        # default may be absent, and then beats are labelled Q with a warning
        return ClassifierSpec(weights=weights, device=self.device,
                              required=weights is not None)

    def paper_scale(self, pixels_per_mm: float) -> PaperScale:
        return PaperScale(self.speed_mm_s, self.gain_mm_mv, pixels_per_mm)


class Settings:
    """Typed access to a QSettings store (the app's, or a test's ini file)."""

    def __init__(self, store: QSettings | None = None):
        self.store = store or QSettings("BeatScope", "BeatScope")

    def preferences(self) -> Preferences:
        defaults = Preferences()
        values = {}
        for f in fields(Preferences):
            raw = self.store.value(f"preferences/{f.name}", getattr(defaults, f.name))
            try:
                values[f.name] = type(getattr(defaults, f.name))(raw)
            except (TypeError, ValueError):
                values[f.name] = getattr(defaults, f.name)
        prefs = Preferences(**values)
        # a hand-edited or stale settings file must not put the app in a bad state
        if (prefs.device not in DEVICES or prefs.powerline not in POWERLINES
                or prefs.band not in BANDS or prefs.speed_mm_s <= 0 or prefs.gain_mm_mv <= 0):
            return defaults
        return prefs

    def set_preferences(self, prefs: Preferences) -> None:
        for key, value in asdict(prefs).items():
            self.store.setValue(f"preferences/{key}", value)
        self.store.sync()

    def recent_files(self) -> list[str]:
        value = self.store.value("recent_files", [])
        if isinstance(value, str):  # QSettings flattens a one-item list to a string
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent_file(self, path: str) -> list[str]:
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT]
        self.store.setValue("recent_files", files)
        self.store.sync()
        return files
