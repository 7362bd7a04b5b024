"""Shared test setup: Qt runs headless, and the path of the shipped excerpts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before anything imports Qt (pytest-qt, the GUI): no display on CI machines.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: two-minute MITDB/NSTDB excerpts with their .atr annotations."""
    return DATA
