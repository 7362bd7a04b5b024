"""Review database at Holter scale: edits per second, reopening, and the crash test.

Run on purpose, not in CI (about a minute on 2 cores; --kills 100 adds ~2 min):

    python bench/review_store.py
    python bench/review_store.py --kills 100

On a 100,000-beat review (24 h): 10,000 single-beat relabels pushed one by one
through the command stack, each committed in its own SQLite transaction before the
push returns, with ``synchronous=FULL`` (shipped) and ``NORMAL`` (baseline, same
run); one 10,000-beat relabel as a single command; undoing it; and reopening the
review (analysis blob, 10,000 review rows, history) into a store and a stack. The
floor under the one-by-one figure, same run: as many bare sqlite3 transactions of two
row writes each, with no command layer.
``--kills N`` runs the crash test of ``tests/test_review_crash.py`` N times.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "tests"))

from beatscope.review import Relabel, ReviewDatabase, ReviewStore, Stamp  # noqa: E402

BEATS = 100_000
EDITS = 10_000


def holter_review(folder: Path, synchronous: str) -> tuple[float, float, float, float]:
    path = folder / f"holter-{synchronous}.sqlite"
    db = ReviewDatabase.open(path, "bench", 360.0)
    db._db.execute(f"PRAGMA synchronous = {synchronous}")
    rng = np.random.default_rng(0)
    sample = 100 + np.cumsum(rng.integers(200, 400, BEATS))
    db.save_analysis(sample, np.full(BEATS, "N"), rng.dirichlet(np.ones(5), BEATS))
    store = ReviewStore(360.0, db.load_rows())
    stack = db.stack(store)
    stamp = Stamp("bench")
    picks = rng.choice(BEATS, EDITS, replace=False)
    t = time.perf_counter()
    for i in picks:
        stack.push(Relabel([sample[i]], "V", stamp))
    one_by_one = time.perf_counter() - t
    t = time.perf_counter()
    stack.push(Relabel(sample[rng.choice(BEATS, EDITS, replace=False)], "S", stamp))
    bulk = time.perf_counter() - t
    t = time.perf_counter()
    stack.undo()
    undo = time.perf_counter() - t
    db.close()
    t = time.perf_counter()
    db = ReviewDatabase.open(path, "bench", 360.0)
    store = ReviewStore(360.0, db.load_rows())
    stack = db.stack(store)
    reopen = time.perf_counter() - t
    assert len(store) == BEATS and int((store.label == "V").sum()) == EDITS
    db.close()
    return one_by_one, bulk, undo, reopen


def bare_transactions(folder: Path, synchronous: str) -> float:
    """The floor under one-by-one edits: the same two row writes per edit, each pair in
    its own transaction, in plain sqlite3 with no command layer (seconds for EDITS)."""
    import sqlite3

    db = sqlite3.connect(folder / f"bare-{synchronous}.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    db.execute("CREATE TABLE review (sample INTEGER PRIMARY KEY, label TEXT, at REAL)")
    db.execute("CREATE TABLE history (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT)")
    t = time.perf_counter()
    for i in range(EDITS):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR REPLACE INTO review VALUES (?, 'V', ?)", (i * 300, time.time()))
        db.execute("INSERT INTO history (payload) VALUES (?)", ('{"kind": "relabel"}',))
        db.execute("COMMIT")
    seconds = time.perf_counter() - t
    db.close()
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=0, help="crash-test kill points to run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {s: holter_review(Path(tmp), s) for s in ("NORMAL", "FULL")}
        floor = {s: bare_transactions(Path(tmp), s) for s in ("NORMAL", "FULL")}
    print(f"{BEATS:,}-beat review, {EDITS:,} edits (seconds; best single run)")
    print("| synchronous | 10k relabels, one command each | edits/s | one 10k-beat relabel "
          "| its undo | reopen |")
    print("|---|---|---|---|---|---|")
    for s, (one, bulk, undo, reopen) in rows.items():
        print(f"| {s}{' (shipped)' if s == 'FULL' else ' (baseline)'} | {one:.2f} | "
              f"{EDITS / one:,.0f} | {bulk:.2f} | {undo:.2f} | {reopen:.2f} |")
    print(f"FULL / NORMAL for one-by-one edits: x{rows['FULL'][0] / rows['NORMAL'][0]:.2f}")
    for sync in ("NORMAL", "FULL"):
        print(f"floor, {sync}: {EDITS:,} bare sqlite3 transactions of two row writes take "
              f"{floor[sync]:.2f} s; the command layer takes x{rows[sync][0] / floor[sync]:.1f}")
    if args.kills:
        from test_review_crash import EDITS as CRASH_EDITS
        from test_review_crash import LABELS, run_and_kill

        rng = np.random.default_rng(100)
        confirmed = found = 0
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(args.kills):
                path = Path(tmp) / f"c{k}.sqlite"
                reported = run_and_kill(path, rng)
                db = ReviewDatabase.open(path, "crash-test", 360.0)
                ok = db.integrity_ok()
                labels = ReviewStore(360.0, db.load_rows()).rows.reviewer_label[:CRASH_EDITS]
                db.close()
                expected = np.array([LABELS[i % 4] for i in range(CRASH_EDITS)])
                confirmed += reported + 1
                present = int(np.count_nonzero(labels[:reported + 1]
                                                == expected[:reported + 1]))
                found += present
                if not ok or present != reported + 1:
                    print(f"kill {k}: integrity {ok}, {present} of {reported + 1} found")
        print(f"crash test: {args.kills} kills, {confirmed} edits reported committed, "
              f"{found} found after reopening")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
