"""Where BeatScope finds its data (every run), and the frozen bundle's smoke test (opt-in).

The bundle tests start ``dist/beatscope/beatscope`` (packaging/build.sh makes it; or
``$BEATSCOPE_BUNDLE``, a bundle folder elsewhere) and only run when asked for:

    packaging/build.sh && python -m pytest -m packaging tests/test_packaging.py

so that CI (a plain ``python -m pytest``), which has no bundle, neither builds nor
waits for one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from beatscope import resources_location
from beatscope.resources_location import (
    data_root,
    icon_path,
    sample_record,
    weights_root,
)
from beatscope.weights_location import WEIGHTS_ENV, beat_weights_dir, rhythm_weights_dir

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = Path(os.environ.get("BEATSCOPE_BUNDLE", ROOT / "dist" / "beatscope"))
EXECUTABLE = BUNDLE / "beatscope"
#: where the spec puts the data: PyInstaller 6's one-dir layout (sys._MEIPASS)
BUNDLE_DATA = BUNDLE / "_internal"
#: analysing the 10-minute sample takes ~10 s warm; a cold bundle on a busy machine more
RUN_TIMEOUT_S = 300


# -- the resolver, in each way BeatScope runs -----------------------------------------


def test_source_checkout_finds_the_repository_data():
    assert data_root() == ROOT
    assert weights_root() == ROOT / "model_weights"
    assert (weights_root() / "manifest.json").is_file()
    assert sample_record().is_file()
    for size in resources_location.ICON_SIZES:
        assert icon_path(size).is_file()
    assert icon_path().suffix == ".svg" and icon_path().is_file()


def test_frozen_looks_only_inside_the_bundle(tmp_path, monkeypatch):
    (tmp_path / "model_weights" / "rhythm").mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    assert resources_location.is_frozen()
    assert data_root() == tmp_path
    assert beat_weights_dir() == tmp_path / "model_weights"
    assert sample_record() == tmp_path / "resources" / "samples" / "mitdb_208_10min.hea"


def test_wheel_install_uses_the_prefix_share_folder(tmp_path, monkeypatch):
    # a wheel installs the package into site-packages, with no repository above it
    package = tmp_path / "lib" / "python3" / "site-packages" / "beatscope"
    package.mkdir(parents=True)
    share = tmp_path / "share" / "beatscope"
    (share / "model_weights").mkdir(parents=True)
    monkeypatch.setattr(resources_location, "_PACKAGE_DIR", package)
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.delenv("BEATSCOPE_RHYTHM_WEIGHTS", raising=False)
    assert data_root() == share
    assert rhythm_weights_dir() == share / "model_weights" / "rhythm"


def test_weights_environment_overrides_the_shipped_set(tmp_path, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    assert beat_weights_dir() == tmp_path


def test_version_stays_torch_free():
    code = ("import sys; from beatscope.cli.main import main\n"
            "try: main(['--version'])\n"
            "except SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


# -- the frozen bundle (opt-in) -------------------------------------------------------


@pytest.fixture
def bundle(request) -> Path:
    if "packaging" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("opt-in: python -m pytest -m packaging (after packaging/build.sh)")
    if not EXECUTABLE.is_file():
        pytest.skip(f"no bundle at {BUNDLE}: run packaging/build.sh")
    return EXECUTABLE


def _run_bundle(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """The bundle, from a folder outside the repository, with nothing of this test's
    Python or weights settings in its environment: it must find everything itself."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BEATSCOPE_", "PYTHON", "VIRTUAL_ENV"))}
    proc = subprocess.run([str(EXECUTABLE), *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.packaging
def test_bundle_holds_the_production_weights_and_no_cuda(bundle):
    # the PDF report's fallback font (report/pdf.py), which no PyInstaller hook collects
    assert (BUNDLE_DATA / "reportlab" / "fonts" / "Vera.ttf").is_file()
    assert (BUNDLE_DATA / "model_weights" / "manifest.json").is_file()
    assert (BUNDLE_DATA / "model_weights" / "rhythm" / "manifest.json").is_file()
    assert not (BUNDLE_DATA / "model_weights" / "validation-ds1").exists()
    assert (BUNDLE_DATA / "resources" / "samples" / "mitdb_208_10min.dat").is_file()
    cuda = [p.name for p in BUNDLE.rglob("libcu*")] + [p.name for p in BUNDLE.rglob("libnv*")]
    assert not cuda


@pytest.mark.packaging
def test_bundle_version_names_the_shipped_models(bundle, tmp_path):
    line = _run_bundle(["--version"], tmp_path).stdout
    assert line.startswith("beatscope 0") and "torch 2." in line, line
    assert "beats model production sha256" in line and " sha256 -" not in line, line


@pytest.mark.packaging
def test_bundle_analyzes_the_bundled_sample(bundle, tmp_path):
    sample = BUNDLE_DATA / "resources" / "samples" / "mitdb_208_10min"
    _run_bundle(["analyze", str(sample), "--out", str(tmp_path / "out")], tmp_path)
    summary = json.loads((tmp_path / "out" / "mitdb_208_10min.json").read_text())
    beats = summary["beats"]
    labels = beats["label"]
    assert summary["beat_count"] > 900 and len(labels) == summary["beat_count"]
    assert beats["classes"] == ["N", "S", "V", "F", "Q"]
    # record 208's first 10 minutes are full of PVCs: the models ran, and were not
    # replaced by an all-unclassified (Q) fallback
    assert set(labels) - {"Q"}, "every beat is Q"
    assert summary["beat_classes"].get("V", 0) > 100, summary["beat_classes"]
    assert summary["rhythm_model"]["members"] == 3
    # the weights came from inside the bundle, not from a checkout beside it
    assert Path(summary["models"]["weights_folder"]).resolve() == \
        (BUNDLE_DATA / "model_weights").resolve()


@pytest.mark.packaging
def test_bundle_screenshot_offscreen(bundle, tmp_path):
    png = tmp_path / "bundle_screenshot.png"
    sample = BUNDLE_DATA / "resources" / "samples" / "mitdb_208_10min.hea"
    # the review database goes to tmp_path, not beside the sample inside the bundle
    _run_bundle([str(sample), "--screenshot", str(png), "--goto", "00:01:10"], tmp_path,
                QT_QPA_PLATFORM="offscreen", BEATSCOPE_REVIEW_DIR=str(tmp_path))
    assert png.is_file() and png.stat().st_size > 50_000, png
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert (image.width(), image.height()) == (1500, 920)
    # a blank or all-one-colour window compresses to almost nothing and has few colours
    colours = {image.pixel(x, y) for x in range(0, 1500, 7) for y in range(0, 920, 7)}
    assert len(colours) > 20, len(colours)
    print(f"screenshot: {png}")
