"""Crash safety of the review database: a process applying edits is killed (SIGKILL) at
random moments; every edit it had reported as committed must be there afterwards, and
the database must pass ``PRAGMA integrity_check``. 20 kill points here;
``python bench/review_store.py --kills 100`` runs more."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from beatscope.review import ReviewDatabase, ReviewStore

EDITS = 1000
LABELS = "SVFQ"
CHILD = """
import sys
sys.path.insert(0, {app!r})
import numpy as np
from beatscope.review import BeatRows, Relabel, ReviewDatabase, ReviewStore, Stamp
db = ReviewDatabase.open({path!r}, "crash-test", 360.0)
if not db.has_analysis():
    s = 100 + 300 * np.arange({n})
    db.save_analysis(s, np.full({n}, "N"), np.full(({n}, 5), 0.2, np.float32))
store = ReviewStore(360.0, db.load_rows())
stack = db.stack(store)
print("ready", flush=True)
for i in range({n}):
    stack.push(Relabel([100 + 300 * i], {labels!r}[i % 4], Stamp("child", 0.0)))
    print(i, flush=True)  # reported only once push returned, i.e. committed
"""


def run_and_kill(path: Path, rng: np.random.Generator) -> int:
    """Start a child, kill it after a random number of edits; the edits it reported."""
    app = str(Path(__file__).resolve().parents[1] / "app")
    code = CHILD.format(app=app, path=str(path), n=EDITS, labels=LABELS)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    target = int(rng.integers(0, EDITS))
    reported = -1
    for line in child.stdout:
        reported = int(line)
        if reported >= target:
            break
    time.sleep(float(rng.uniform(0, 0.004)))  # land inside a later transaction, or not
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    for line in child.stdout:  # what it reported before it died, still in the pipe
        if line.endswith("\n") and line.strip().isdigit():
            reported = int(line)
    child.stdout.close()
    return reported


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_every_reported_edit_survives_a_kill(tmp_path):
    rng = np.random.default_rng(2026)
    for kill in range(20):
        path = tmp_path / f"crash{kill}.sqlite"
        reported = run_and_kill(path, rng)
        db = ReviewDatabase.open(path, "crash-test", 360.0)
        assert db.integrity_ok()
        store = ReviewStore(360.0, db.load_rows())
        history = db.stack(store).history()
        db.close()
        found = store.rows.reviewer_label[:EDITS]
        expected = np.array([LABELS[i % 4] for i in range(EDITS)])
        # every reported edit is there; at most one more (committed, not yet reported)
        assert np.array_equal(found[:reported + 1], expected[:reported + 1]), kill
        done = int(np.count_nonzero(found != ""))
        assert reported + 1 <= done <= reported + 2 and len(history) == done
        assert np.array_equal(found[:done], expected[:done])
