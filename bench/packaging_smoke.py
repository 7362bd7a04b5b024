"""Start-up time of the frozen bundle against a pip install: how long from the process
start to the first painted main window, cold (page cache dropped) and warm.

    python bench/packaging_smoke.py                      # dist/beatscope vs build/venv
    python bench/packaging_smoke.py --warm 5 --cold 2 CMD [CMD...]

Each CMD (default: ``dist/beatscope/beatscope`` and ``build/venv/bin/beatscope``, the
fresh wheel install packaging/build.sh made) is started with
``$BEATSCOPE_STARTUP_PROBE`` set and ``QT_QPA_PLATFORM=offscreen``: the viewer opens
with no record, prints ``first paint X s after process start (epoch T)`` once its
window has been painted, and exits (ui/app.py). Two numbers per run: X, measured in the
process from /proc's start time (10 ms ticks), and T minus the moment this script
called exec, which adds fork/exec.

Cold runs first ``sync; echo 3 > /proc/sys/vm/drop_caches`` (root only; said so when
not possible). That cannot evict a file some other process has mapped (a torch another
Python holds open), so each cold run also prints how much of the command's
libtorch_cpu.so was still in the page cache (``fincore``) right after the drop.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COMMANDS = [ROOT / "dist" / "beatscope" / "beatscope",
                    ROOT / "build" / "venv" / "bin" / "beatscope"]
PROBE = re.compile(r"first paint ([\d.]+) s after process start \(epoch ([\d.]+)\)")


def drop_page_cache() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def libtorch_of(command: Path) -> Path | None:
    """The libtorch_cpu.so this command loads: in the bundle, or its venv's torch."""
    roots = [command.parent / "_internal", command.parent.parent / "lib"]
    for root in roots:
        found = next(root.rglob("libtorch_cpu.so"), None) if root.is_dir() else None
        if found:
            return found
    return None


def resident(path: Path | None) -> str:
    if path is None or shutil.which("fincore") is None:
        return "?"
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "-o", "RES,SIZE", str(path)],
                         capture_output=True, text=True).stdout.split()
    return f"{int(out[0]) / 2**20:.0f} of {int(out[1]) / 2**20:.0f} MiB" if len(out) == 2 else "?"


def start_once(command: Path) -> tuple[float, float, float]:
    """(in-process seconds to first paint, seconds from exec to first paint, CPU
    seconds of the whole run with its child processes, exit included).

    The CPU seconds hardly change with the load of a shared machine; the wall times do.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEATSCOPE_", "PYTHON"))}
    env.update(QT_QPA_PLATFORM="offscreen", BEATSCOPE_STARTUP_PROBE="1")
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    launched = time.time()
    proc = subprocess.run([str(command)], env=env, cwd="/tmp", capture_output=True,
                          text=True, timeout=300)
    match = PROBE.search(proc.stderr)
    if proc.returncode != 0 or match is None:
        raise SystemExit(f"{command}: exit {proc.returncode}, no probe line:\n{proc.stderr}")
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return float(match.group(1)), float(match.group(2)) - launched, cpu


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("commands", nargs="*", type=Path, default=DEFAULT_COMMANDS)
    p.add_argument("--warm", type=int, default=5, help="warm runs per command (default 5)")
    p.add_argument("--cold", type=int, default=2, help="cold runs per command (default 2)")
    args = p.parse_args()
    args.commands = [c.absolute() for c in args.commands]  # they run from /tmp
    missing = [c for c in args.commands if not c.exists()]
    if missing:
        print(f"not found: {', '.join(map(str, missing))} (packaging/build.sh makes them)")
        return 2
    # cold and warm runs alternate between the commands, so that a load that comes and
    # goes on a shared machine falls on all of them alike
    cold: dict[Path, list[str]] = {c: [] for c in args.commands}
    warm: dict[Path, list[tuple[float, float, float]]] = {c: [] for c in args.commands}
    for _ in range(args.cold):
        for command in args.commands:
            if not drop_page_cache():
                cold[command].append("not possible (cannot write /proc/sys/vm/drop_caches)")
                continue
            cache = resident(libtorch_of(command))
            in_process, from_exec, cpu = start_once(command)
            cold[command].append(f"{in_process:.2f} s in process, {from_exec:.2f} s from exec, "
                                 f"{cpu:.2f} s CPU (libtorch_cpu.so resident after the "
                                 f"drop: {cache})")
    for command in args.commands:
        start_once(command)  # warm the page cache
    for _ in range(args.warm):
        for command in args.commands:
            warm[command].append(start_once(command))
    for command in args.commands:
        print(f"== {command}")
        for i, line in enumerate(cold[command]):
            print(f"   cold {i + 1}: {line}")
        if warm[command]:
            inside = [r[0] for r in warm[command]]
            outside = [r[1] for r in warm[command]]
            cpu = [r[2] for r in warm[command]]
            print(f"   warm x{len(inside)}: median {statistics.median(inside):.2f} s in process "
                  f"(min {min(inside):.2f}, max {max(inside):.2f}), median "
                  f"{statistics.median(outside):.2f} s from exec (min {min(outside):.2f}), "
                  f"median {statistics.median(cpu):.2f} s CPU (min {min(cpu):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
