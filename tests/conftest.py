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
