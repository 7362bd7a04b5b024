"""Where BeatScope's data lies: the one place that knows where ``model_weights/`` (the
shipped weights) and ``resources/`` (the sample record, the application icon) are, for
each way BeatScope can run:

* frozen by PyInstaller (``packaging/beatscope.spec``): in the bundle, under
  ``sys._MEIPASS`` (``dist/beatscope/_internal/``), where the spec puts them;
* a source checkout or an editable install: the repository, two folders above this
  package (``app/beatscope`` -> the repository root);
* installed from a wheel (``pip install .``): ``<prefix>/share/beatscope/``, where
  pyproject.toml's ``[tool.setuptools.data-files]`` installs them (a wheel has no
  repository beside it).

Only ``os``/``sys``/``pathlib``: ``beatscope --version`` and Help ▸ About read the
weights' manifests through it without importing torch or Qt. The weights' own
environment overrides (``$BEATSCOPE_WEIGHTS``...) are in :mod:`beatscope.weights_location`,
on top of this.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The record shipped in ``resources/samples`` (MIT-BIH 208, first 10 minutes).
SAMPLE_RECORD = "mitdb_208_10min"
#: Sizes of the rendered PNG icons beside ``resources/icons/beatscope.svg``.
ICON_SIZES = (256, 128, 48)

_PACKAGE_DIR = Path(__file__).resolve().parent


def is_frozen() -> bool:
    """True in a PyInstaller bundle (its bootloader sets both)."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def _candidate_roots() -> list[Path]:
    if is_frozen():
        return [Path(sys._MEIPASS)]  # the bundle holds nothing else; never look outside it
    return [_PACKAGE_DIR.parents[1], Path(sys.prefix) / "share" / "beatscope"]


def data_root() -> Path:
    """The folder that holds ``model_weights/`` and ``resources/``.

    The first candidate that has either; when none has (a wheel built without its
    data, a checkout without weights) the first, so that the error names the place a
    developer would look.
    """
    candidates = _candidate_roots()
    for root in candidates:
        if (root / "model_weights").is_dir() or (root / "resources").is_dir():
            return root
    return candidates[0]


def weights_root() -> Path:
    """``model_weights/``: the production beat set, with ``rhythm/`` inside."""
    return data_root() / "model_weights"


def resources_dir() -> Path:
    return data_root() / "resources"


def samples_dir() -> Path:
    return resources_dir() / "samples"


def sample_record() -> Path:
    """The shipped sample's WFDB header (``beatscope analyze`` takes it, or its stem)."""
    return samples_dir() / f"{SAMPLE_RECORD}.hea"


def icon_path(size: int | None = None) -> Path:
    """The application icon: the SVG, or the PNG rendered at ``size`` pixels."""
    icons = resources_dir() / "icons"
    return icons / ("beatscope.svg" if size is None else f"beatscope-{size}.png")
