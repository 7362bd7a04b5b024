"""Which weights BeatScope runs with (torch-free, so that ``beatscope --version`` and
Help ▸ About can read the manifests without importing torch).

``$BEATSCOPE_WEIGHTS`` / ``$BEATSCOPE_RHYTHM_WEIGHTS`` when set (another weight set,
e.g. one just trained), else the shipped production sets, wherever
:mod:`beatscope.resources_location` finds them (a PyInstaller bundle, a source checkout
or editable install, a wheel install).
"""

from __future__ import annotations

import os
from pathlib import Path

from beatscope.resources_location import weights_root

WEIGHTS_ENV = "BEATSCOPE_WEIGHTS"
RHYTHM_WEIGHTS_ENV = "BEATSCOPE_RHYTHM_WEIGHTS"


def beat_weights_dir() -> Path:
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else weights_root()


def rhythm_weights_dir() -> Path:
    env = os.environ.get(RHYTHM_WEIGHTS_ENV)
    return Path(env).expanduser() if env else weights_root() / "rhythm"
