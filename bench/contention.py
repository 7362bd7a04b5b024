"""The analysis on a busy workstation: alone, beside a one-thread CPU hog, and beside a
second analysis, with OpenMP's waiting threads spinning (the default) and sleeping
(``OMP_WAIT_POLICY=PASSIVE``, which BeatScope sets at import).

    python bench/contention.py [--mitdb ../shared/data/mitdb] [--hours 24]

The record is the first ``--hours`` of the 48 MITDB records joined (bench/long_record.py's
join; 24 h by default, as issue 19 measures it). Each analysis runs as ``beatscope
analyze`` does, in a fresh process; the figures are seconds and the ratio to the same
policy's time alone. Issue 19's goals on 2 cores: <= 2x beside a one-thread hog, <= 2.5x
beside a second full analysis.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

HOG = "import time\nend = time.time() + 7200\nwhile time.time() < end:\n    pass\n"


def analysis(record: Path, out: Path, spin: bool) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env["BEATSCOPE_SPIN_WAIT"] = "1" if spin else "0"
    return subprocess.Popen([sys.executable, "-m", "beatscope", "analyze", str(record),
                             "--out", str(out), "--force"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(procs: list[subprocess.Popen]) -> float:
    t = time.perf_counter()
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError("an analysis failed")
    return time.perf_counter() - t


def main() -> int:
    from long_record import build_joined

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    ap.add_argument("--hours", type=float, default=24.0)
    args = ap.parse_args()
    names = sorted(p.stem for p in args.mitdb.glob("*.hea"))[: max(1, int(args.hours * 2))]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        record, _ = build_joined(args.mitdb, names, folder, "joined")
        print(f"{len(names)} MITDB records joined ({len(names) / 2:.1f} h); seconds "
              "(ratio to alone)")
        print("| OpenMP waiting threads | alone | beside a 1-thread hog | beside a 2nd "
              "analysis |")
        print("|---|---|---|---|")
        for spin in (True, False):
            alone = timed([analysis(record, folder / "a", spin)])
            hog = subprocess.Popen([sys.executable, "-c", HOG])
            try:
                with_hog = timed([analysis(record, folder / "b", spin)])
            finally:
                hog.kill()
            pair = timed([analysis(record, folder / "c", spin),
                          analysis(record, folder / "d", spin)])
            print(f"| {'spin (default)' if spin else 'sleep (PASSIVE, shipped)'} | "
                  f"{alone:.0f} | {with_hog:.0f} (x{with_hog / alone:.2f}) | "
                  f"{pair:.0f} (x{pair / alone:.2f}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
