"""Shared test setup: Qt runs headless, and the path of the shipped excerpts."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Before anything imports Qt (pytest-qt, the GUI): no display on CI machines.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Reviews the viewer and the CLI open go to a scratch folder, never beside the
# repository's records (tests that check the sidecar's place unset it); each test
# gets its own (below), so no test sees another's edits.
os.environ["BEATSCOPE_REVIEW_DIR"] = tempfile.mkdtemp(prefix="beatscope-reviews-")


@pytest.fixture(autouse=True)
def review_folder(tmp_path_factory, monkeypatch) -> Path:
    """This test's folder for review databases."""
    folder = tmp_path_factory.mktemp("reviews")
    monkeypatch.setenv("BEATSCOPE_REVIEW_DIR", str(folder))
    return folder

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: two-minute MITDB/NSTDB excerpts with their .atr annotations."""
    return DATA


#: The 12 standard leads, as a resting ECG names them.
TWELVE_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture
def resting_twelve_lead(tmp_path) -> Path:
    """A 10-s, 500-Hz, 12-lead WFDB record (MITDB 100's beats mixed into 12 leads):
    the header's path."""
    import numpy as np
    import wfdb
    from scipy import signal

    from beatscope.io import load_record

    x = load_record(DATA / "mitdb_100.hea").signals[: 10 * 360]
    x = signal.resample_poly(x, 25, 18, axis=0)  # 360 -> 500 Hz
    mix = np.random.default_rng(3).uniform(-1.2, 1.2, size=(2, 12))
    wfdb.wrsamp("rest12", fs=500, units=["mV"] * 12, sig_name=TWELVE_LEADS, p_signal=x @ mix,
                fmt=["16"] * 12, adc_gain=[200.0] * 12, baseline=[0] * 12,
                write_dir=str(tmp_path))
    return tmp_path / "rest12.hea"


def refused_quickly(path: Path, match: str) -> str:
    """``load_record(path)`` refuses the file with a one-line RecordError (matching
    ``match``, naming the file) within a second; returns the message."""
    import time

    from beatscope.errors import RecordError
    from beatscope.io import load_record

    began = time.perf_counter()
    with pytest.raises(RecordError, match=match) as err:
        load_record(path)
    assert time.perf_counter() - began < 1.0
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg and path.name in msg
    return msg


def copy_record(name: str, folder: Path) -> Path:
    """A copy of the excerpt ``tests/data/name`` (header, signals, reference beats) in
    ``folder`` (made if needed): its header's path."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for ext in ("hea", "dat", "atr"):
        shutil.copy(DATA / f"{name}.{ext}", folder / f"{name}.{ext}")
    return folder / f"{name}.hea"


#: How long a test waits for an excerpt's analysis in the window.
ANALYSIS_TIMEOUT_MS = 120_000


@pytest.fixture
def reviewer_settings(tmp_path):
    """The viewer's settings in a scratch file, with a reviewer's name set."""
    from PySide6.QtCore import QSettings

    from beatscope.ui.settings import Preferences, Settings

    s = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    s.set_preferences(Preferences(reviewer="Dr. Test"))
    return s


def make_window(qtbot, settings):
    """A MainWindow on ``settings``, shown and exposed, 1400 x 900."""
    from beatscope.ui.main_window import MainWindow  # Qt only for the tests that ask

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def close_window(w) -> None:
    """Stop the window's analyses and close it (its review's lock goes with it)."""
    w.runner.cancel()
    w.runner.wait_idle(60_000)
    w.close()


def open_and_wait(qtbot, w, path: Path) -> None:
    """Open ``path`` in the window and wait for its analysis to finish."""
    with qtbot.waitSignal(w.analysis_finished, timeout=ANALYSIS_TIMEOUT_MS):
        w.open_path(path)
