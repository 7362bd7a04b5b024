"""Regression test for the PySide6 pin (pyproject: PySide6-Essentials <6.12).

PySide6 6.12.0 on CPython 3.11 drops a reference to ``True`` on every emit() of a
bool-carrying signal; after a few thousand emissions the interpreter aborts in
bool_dealloc. The emissions run in a child interpreter, so that an abort is reported
as a failed test instead of killing the test run.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap

import pytest

N_EMIT = 20_000
BAD_VERSIONS = {"6.12.0"}

CHILD = textwrap.dedent(f"""
    import os
    import sys

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QObject, Signal


    class Emitter(QObject):
        flag = Signal(bool)
        pair = Signal(int, object)


    app = QCoreApplication.instance() or QCoreApplication([])
    counts = {{"flag": 0, "flag_true": 0, "pair": 0, "pair_true": 0, "pair_sum": 0}}


    def on_flag(value):
        counts["flag"] += 1
        counts["flag_true"] += value is True


    def on_pair(number, obj):
        counts["pair"] += 1
        counts["pair_true"] += obj is True
        counts["pair_sum"] += number


    emitter = Emitter()
    emitter.flag.connect(on_flag)
    emitter.pair.connect(on_pair)
    before = sys.getrefcount(True)
    for i in range({N_EMIT}):
        emitter.flag.emit(i % 2 == 0)
        emitter.pair.emit(i, i % 2 == 1)
    after = sys.getrefcount(True)
    print("counts", counts["flag"], counts["flag_true"], counts["pair"], counts["pair_true"],
          counts["pair_sum"])
    print("true_refcount_drop", before - after)
""")


def test_many_bool_signal_emissions_do_not_abort() -> None:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, (
        f"child exited with {proc.returncode} (negative: killed by a signal, e.g. SIGABRT "
        f"from bool_dealloc)\nstdout: {proc.stdout}\nstderr: {proc.stderr[-2000:]}")
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    half = N_EMIT // 2
    expected_sum = N_EMIT * (N_EMIT - 1) // 2
    assert lines["counts"].split() == [str(v) for v in (N_EMIT, half, N_EMIT, half,
                                                         expected_sum)]
    drop = int(lines["true_refcount_drop"])
    if sys.version_info < (3, 12):  # True is immortal from 3.12 on: its count is fixed
        assert drop <= 100, f"sys.getrefcount(True) fell by {drop} over {2 * N_EMIT} emits"


def _installed(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def test_installed_pyside6_is_not_the_broken_release() -> None:
    versions = {d: _installed(d) for d in ("PySide6", "PySide6-Essentials", "shiboken6")}
    installed = {d: v for d, v in versions.items() if v is not None}
    if not installed:
        pytest.fail("PySide6 is not installed (it is a runtime dependency)")
    for dist, version in installed.items():
        assert version not in BAD_VERSIONS, f"{dist} {version} aborts CPython 3.11 (see pin)"
