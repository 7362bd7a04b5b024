"""``beatscope --version`` and Help ▸ About: one source of the version, the shipped
models' manifests, without importing torch or Qt to print them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib import metadata

from beatscope import __version__
from beatscope.about import about_text, version_line
from beatscope.weights_location import beat_weights_dir, rhythm_weights_dir
from conftest import close_window


def test_one_version_from_the_package_metadata():
    assert __version__ == metadata.version("beatscope")
    assert version_line().startswith(f"beatscope {__version__} (Python ")


def test_version_line_names_both_manifests_and_imports_neither_torch_nor_qt():
    beats = hashlib.sha256((beat_weights_dir() / "manifest.json").read_bytes()).hexdigest()
    rhythm = hashlib.sha256((rhythm_weights_dir() / "manifest.json").read_bytes()).hexdigest()
    code = ("import sys; from beatscope.cli.main import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert len(out) == 2 and out[1] == "[]"
    assert beats[:12] in out[0] and rhythm[:12] in out[0]


def test_about_says_what_the_models_were_trained_on_and_the_data_licences():
    text = about_text()
    assert "MIT-BIH Arrhythmia Database" in text and "CinC 2017" in text
    assert text.count("Open Data Commons Attribution") == 2
    assert "validation: inter-patient" in text


def test_help_about_shows_it_in_the_window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from beatscope.ui.main_window import MainWindow
    from beatscope.ui.settings import Settings

    w = MainWindow(Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(w)
    help_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Help")
    about = next(a for a in help_menu.actions() if a.text() == "&About BeatScope")
    about.trigger()  # as a click on the menu item does
    assert w.about_box.isVisible() and w.about_box.text() == about_text()
    w.about_box.close()
    close_window(w)
