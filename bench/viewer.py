"""Viewer performance, offscreen: frame times, pan times, GUI stalls, memory.

    python bench/viewer.py [--mitdb ../shared/data/mitdb] [--frames 60]

Builds a 24-h, 3-lead record in a temporary folder (the 48 MITDB records joined,
their two leads plus a third derived lead, ECG1 - ECG2, written as WFDB format
16), then, in a fresh child process so memory is its own:

* opens a 30-min MITDB record and times how long until its signal is painted;
* opens the 24-h record and analyses it in the window, recording how long the
  GUI thread goes without running its event loop (a 5-ms timer's largest gap)
  and the resident memory, once it is open and analysed, of the window's
  process plus its engine process;
* times frames: a 10-s window at a random position (set the range, refill,
  paint the strip), the whole 24 h, and 1-h windows panned across the 24 h,
  with all ~110k beat marks in the store.

Baseline, in the same process: pyqtgraph's own fast path for the same plot
(one PlotDataItem per lead over the whole record, clipToView and 'peak'
auto-downsampling, one ScatterPlotItem per class holding all beats), timed on
the same windows. The figures are printed as ms per frame and as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

TARGETS = {"frame_10s_ms": 16.0, "pan_24h_ms": 50.0, "rss_mb": 1200.0, "stall_ms": 50.0,
           "signal_30min_s": 1.0}


def build_24h_3lead(mitdb: Path, folder: Path) -> Path:
    """48 MITDB records joined, 3 leads (ECG1, ECG2, ECG1-ECG2), format 16, 200 adu/mV."""
    from beatscope.io import load_record

    names = sorted(p.stem for p in mitdb.glob("*.hea"))
    frames = 0
    with open(folder / "holter3.dat", "wb") as out:
        for name in names:
            x = load_record(mitdb / f"{name}.hea").signals[:, :2]
            three = np.column_stack([x, x[:, 0] - x[:, 1]])
            out.write(np.round(three * 200).astype("<i2").tobytes())
            frames += len(three)
    lines = [f"holter3 3 360 {frames}"]
    lines += [f"holter3.dat 16 200/mV 16 0 0 0 0 {lead}" for lead in ("ECG1", "ECG2", "ECG3")]
    (folder / "holter3.hea").write_text("\n".join(lines) + "\n")
    return folder / "holter3.hea"


def memory_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A process's resident memory (VmRSS) or its peak so far (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def engine_pids() -> list[int]:
    """The viewer's engine processes (``beatscope.analysis.engine_process``)."""
    import multiprocessing

    return [p.pid for p in multiprocessing.active_children() if p.name == "beatscope-engine"]


def child(record_30: Path, record_24: Path, frames: int, out_json: Path) -> None:
    import resource
    import time

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from beatscope.ui.main_window import MainWindow
    from beatscope.ui.settings import Settings

    app = QApplication([])
    tmp = tempfile.mkdtemp()
    window = MainWindow(Settings(QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat)))
    window.resize(1500, 920)
    window.show()
    app.processEvents()
    out: dict = {}

    def wait_for(signal, timeout_s: float = 1800) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        window.error_shown.connect(loop.quit)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        signal.disconnect(loop.quit)
        window.error_shown.disconnect(loop.quit)
        if window.last_error:
            raise SystemExit(f"viewer error: {window.last_error}")

    # --- 30-min record: time until the signal is on screen
    window.open_path(record_30)
    wait_for(window.analysis_finished)
    out["signal_30min_s"] = window.time_to_signal_s

    # --- 24-h record: GUI stalls during the analysis, memory once analysed
    ticks: list[float] = []
    probe = QTimer(interval=5)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    # the engine that runs the analysis may retire when it is done: read its peak
    # while it works
    engine_peak = [0.0]

    def read_engine_peak() -> None:
        for pid in engine_pids():
            try:
                engine_peak[0] = max(engine_peak[0], memory_mb(pid, "VmHWM"))
            except OSError:  # exited between listing and reading
                pass

    peak_timer = QTimer(interval=1000)
    peak_timer.timeout.connect(read_engine_peak)
    peak_timer.start()
    t0 = time.perf_counter()
    window.open_path(record_24)
    wait_for(window.analysis_finished)
    probe.stop()
    peak_timer.stop()
    out["analyse_24h_s"] = time.perf_counter() - t0
    out["signal_24h_s"] = window.time_to_signal_s
    gaps = np.diff(ticks) * 1000 - 5.0
    out["stall_ms"] = float(gaps.max())
    out["stall_p99_ms"] = float(np.percentile(gaps, 99))
    # Let the engine pool settle (an engine that retired after the job is replaced
    # by a fresh one, which imports torch for a few seconds) before memory is read
    # and frames are timed.
    settle = time.perf_counter() + 15.0
    while time.perf_counter() < settle:
        app.processEvents()
        time.sleep(0.05)
    # The window's process and its engine process(es) together: the engine reads
    # its own copy of the record and holds torch and the models.
    engines = engine_pids()
    out["rss_gui_mb"] = memory_mb()
    out["rss_engine_mb"] = sum(memory_mb(pid) for pid in engines)
    out["rss_mb"] = out["rss_gui_mb"] + out["rss_engine_mb"]
    out["peak_rss_gui_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["peak_rss_engine_mb"] = engine_peak[0]
    session = window.session
    out["beats"] = len(session.beats)
    out["hours"] = session.duration_s / 3600
    out["leads"] = session.record.n_leads
    duration = session.duration_s

    strip = window.strip
    rng = np.random.default_rng(0)

    def frame(show) -> float:
        t = time.perf_counter()
        show()
        strip.refresh()
        strip.grab()  # paints the whole strip synchronously
        return (time.perf_counter() - t) * 1000

    starts = rng.uniform(0, duration - 10, frames)
    ten = [frame(lambda s=s: strip.show_window(s, 10.0)) for s in starts]
    full = [frame(lambda k=k: strip.show_window(0.0, duration - (k % 2) * 60)) for k in range(20)]
    hour_starts = np.linspace(0, duration - 3600, frames)
    hour = [frame(lambda s=s: strip.show_window(s, 3600.0)) for s in hour_starts]
    visible = sum(len(v) for v in strip.marks.shown.values())
    out["ours"] = {"frame_10s_ms": ten, "full_24h_ms": full, "pan_1h_ms": hour,
                   "marks_at_full_zoom_out": visible}
    out_json.write_text(json.dumps(out))  # kept even if the baseline fails

    # --- baseline: pyqtgraph's stock fast path over the whole arrays, same size
    import pyqtgraph as pg

    record = session.record
    base = pg.PlotWidget()
    base.resize(strip.size())
    base.show()
    t_all = np.arange(record.n_samples, dtype=np.float64) / record.fs
    for lead in range(record.n_leads):
        item = pg.PlotDataItem(t_all, record.signals[:, lead] - 3.0 * lead)
        base.addItem(item)  # before the options: they need the item's view box
        item.setClipToView(True)
        item.setDownsampling(auto=True, method="peak")
    beats = session.beats
    for cls in "NSVFQ":
        sel = beats.label == cls
        base.addItem(pg.ScatterPlotItem(beats.sample[sel] / beats.fs,
                                        np.full(int(sel.sum()), 1.0), symbol="t", size=8))
    base.setYRange(-9, 2, padding=0)

    def base_frame(t0: float, span: float) -> float:
        t = time.perf_counter()
        base.setXRange(t0, t0 + span, padding=0)
        base.grab()
        return (time.perf_counter() - t) * 1000

    base.setXRange(0, 10)
    base.grab()
    out["baseline"] = {
        "frame_10s_ms": [base_frame(s, 10.0) for s in starts[: max(5, frames // 4)]],
        "full_24h_ms": [base_frame(0.0, duration - (k % 2) * 60) for k in range(6)],
        "pan_1h_ms": [base_frame(s, 3600.0) for s in hour_starts[: max(5, frames // 4)]],
    }
    window.close()
    out_json.write_text(json.dumps(out))


def summarize(values: list[float]) -> str:
    a = np.asarray(values)
    return f"median {np.median(a):6.1f}  p95 {np.percentile(a, 95):6.1f}  max {a.max():6.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--child", nargs=3, metavar=("REC30", "REC24", "JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.frames, Path(args.child[2]))
        return 0
    if not (args.mitdb / "208.hea").exists():
        print(f"MITDB not found in {args.mitdb} (use --mitdb)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        hea = build_24h_3lead(args.mitdb, Path(tmp))
        result_json = Path(tmp) / "viewer.json"
        subprocess.run([sys.executable, __file__, "--frames", str(args.frames), "--child",
                        str(args.mitdb / "208.hea"), str(hea), str(result_json)], check=True,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        r = json.loads(result_json.read_text())
    ours, base = r["ours"], r["baseline"]
    print(f"24-h record: {r['hours']:.2f} h, {r['leads']} leads, {r['beats']:,} beats; "
          f"window 1500x920 offscreen")
    print(f"open -> signal painted: 30-min record {r['signal_30min_s']:.3f} s "
          f"(target {TARGETS['signal_30min_s']} s), 24-h record {r['signal_24h_s']:.3f} s")
    print(f"analysis of the 24-h record in the window: {r['analyse_24h_s']:.1f} s; longest GUI "
          f"stall {r['stall_ms']:.1f} ms, p99 {r['stall_p99_ms']:.1f} ms "
          f"(target {TARGETS['stall_ms']:.0f} ms)")
    print(f"memory, 24-h 3-lead record open and analysed: RSS {r['rss_mb']:.0f} MB "
          f"(window {r['rss_gui_mb']:.0f} + engine {r['rss_engine_mb']:.0f}; "
          f"target {TARGETS['rss_mb']:.0f} MB); peaks during the analysis: window "
          f"{r['peak_rss_gui_mb']:.0f} MB, engine {r['peak_rss_engine_mb']:.0f} MB")
    print("frame times in ms (set range + refill + paint the strip):")
    for key, label in (("frame_10s_ms", "10-s window"), ("full_24h_ms", "whole 24 h"),
                       ("pan_1h_ms", "1-h window panned over 24 h")):
        ratio = np.median(base[key]) / np.median(ours[key])
        print(f"  {label:28s} BeatScope {summarize(ours[key])}")
        print(f"  {'':28s} baseline  {summarize(base[key])}  -> {ratio:.1f}x faster")
    print(f"  marks drawn at full zoom-out: {ours['marks_at_full_zoom_out']:,} "
          f"of {r['beats']:,} (one per bucket, ectopy first)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
