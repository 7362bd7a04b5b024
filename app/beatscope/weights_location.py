"""Where the shipped weights are: the one place that knows (torch-free, so that
``beatscope --version`` and Help ▸ About can read the manifests without importing
torch).

``$BEATSCOPE_WEIGHTS`` / ``$BEATSCOPE_RHYTHM_WEIGHTS`` when set (a packaged build sets
them), else the repository's ``model_weights/`` beside ``app/`` (a source checkout and
an editable install).
"""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_ENV = "BEATSCOPE_WEIGHTS"
RHYTHM_WEIGHTS_ENV = "BEATSCOPE_RHYTHM_WEIGHTS"
_REPOSITORY = Path(__file__).resolve().parents[2]


def beat_weights_dir() -> Path:
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else _REPOSITORY / "model_weights"


def rhythm_weights_dir() -> Path:
    env = os.environ.get(RHYTHM_WEIGHTS_ENV)
    return Path(env).expanduser() if env else _REPOSITORY / "model_weights" / "rhythm"
