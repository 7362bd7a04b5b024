"""Reviewing a 24-hour Holter in the viewer, offscreen: what each edit costs the GUI.

    python bench/review_viewer.py [--mitdb ../shared/data/mitdb] [--cache runs/holter24.pkl]

Builds the 48 MITDB records joined into one 24-h WFDB record (bench/long_record.py's
join, its reference annotations joined too), analyses it headless once (about 10 min
on 2 cores; ``--cache`` keeps the result for the next run), then in a child process
with an offscreen window it shows that result with its review and drives the edits a
cardiologist makes, through key presses and a Ctrl+drag:

* opening the review (first time: the analysis is written; again: read back);
* Alt+V on one selected beat; Ctrl+drag over one hour of beats, then Alt+N on them;
  Del on them; Ctrl+Z; D (next disagreement);
* the rhythm findings derived again on the edited beats (on a pool thread);
* the Disagreements tab rebuilt with thousands of rows.

For each: wall time until the views show it, and the GUI thread's longest stall
(the largest gap of a 5-ms timer) while it happens. Baseline, same run: the same
script on one 30-min record (MITDB 100), so the 24-h cost is printed as a ratio.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))


def analysed(path: Path, cache: Path | None):
    """(record, result) of ``path``, from ``cache`` when it holds this record's."""
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
    from beatscope.io import load_record

    record = load_record(path)
    if cache is not None and cache.exists():
        with open(cache, "rb") as fh:
            stored = pickle.load(fh)
        if stored["n_samples"] == record.n_samples:
            result = stored["result"]
            result.record = record
            return record, result
    t = time.perf_counter()
    result = analyze(record, AnalysisOptions(classifier=load_classifier(ClassifierSpec())))
    print(f"  analysed {record.name} in {time.perf_counter() - t:.0f} s", flush=True)
    if cache is not None:
        result.record = None
        with open(cache, "wb") as fh:
            pickle.dump({"n_samples": record.n_samples, "result": result}, fh)
        result.record = record
    return record, result


def child(record_path: Path, cache: Path | None, out_json: Path) -> None:
    import os

    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QSettings, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from beatscope.display import MinMaxPyramid
    from beatscope.review.session import ReviewSession
    from beatscope.ui.main_window import MainWindow
    from beatscope.ui.settings import Settings

    record, result = analysed(record_path, cache)
    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp())
    w = MainWindow(Settings(QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)))
    w.resize(1500, 920)
    w.show()
    app.processEvents()

    # the GUI thread's longest gap, from a 5-ms timer
    clock, gaps = QElapsedTimer(), []
    timer = QTimer(interval=5)
    last = [0]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now
    timer.timeout.connect(tick)

    def measure(action, done=lambda: True, timeout_s: float = 120.0) -> dict:
        gaps.clear()
        clock.start()
        last[0] = 0
        timer.start()
        t = time.perf_counter()
        action()
        while not done() and time.perf_counter() - t < timeout_s:
            app.processEvents()
            time.sleep(0.001)
        wall = time.perf_counter() - t
        end = time.perf_counter() + 0.1  # the stall measure needs the loop running again
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
        timer.stop()
        return {"wall_ms": round(wall * 1000, 1),
                "stall_ms": float(max([clock.elapsed() - last[0], *gaps]))}

    out: dict = {"beats": len(result.beats)}
    pyramid = MinMaxPyramid(record.signals, record.fs)
    path = folder / f"{record.name}.beatscope.sqlite"  # never beside the data
    t = time.perf_counter()
    review = ReviewSession.open(record, path, result, "bench")
    out["open_review_first_s"] = round(time.perf_counter() - t, 3)
    review.close()
    t = time.perf_counter()
    review = ReviewSession.open(record, path, result, "bench")
    out["open_review_again_s"] = round(time.perf_counter() - t, 3)
    s = w.session
    s.loaded(record, pyramid)
    out["show_result"] = measure(lambda: s.finish(result, review))
    app.processEvents()
    strip = w.strip
    alt, ctrl = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier
    # one beat, in the middle of the record
    mid = len(s.beats) // 2
    s.select(mid)
    before = s.beats.label[mid]
    key = Qt.Key.Key_V if before != "V" else Qt.Key.Key_N
    out["relabel_1_beat"] = measure(lambda: QTest.keyClick(w, key, alt),
                                    lambda: s.beats.label[mid] != before)
    # one hour of beats under a Ctrl+drag, relabelled, deleted, undone
    t0 = s.beat_time(mid) + 10.0
    strip.show_window(t0 - 60, 5400.0)
    strip.refresh()
    port = strip.viewport()

    def point(t: float) -> QPointF:
        return QPointF(strip.mapFromScene(strip.box.mapViewToScene(QPointF(t, 0.0))))

    def drag() -> None:
        a, b = point(t0), point(t0 + 3600.0)
        left = Qt.MouseButton.LeftButton
        for kind, pos, button, buttons in (
                (QEvent.Type.MouseButtonPress, a, left, left),
                (QEvent.Type.MouseMove, (a + b) / 2, Qt.MouseButton.NoButton, left),
                (QEvent.Type.MouseMove, b, Qt.MouseButton.NoButton, left),
                (QEvent.Type.MouseButtonRelease, b, left, Qt.MouseButton.NoButton)):
            QApplication.sendEvent(port, QMouseEvent(kind, pos, port.mapToGlobal(pos), button,
                                                     buttons, ctrl))
    out["band_select_1h"] = measure(drag, lambda: len(s.selection) > 100)
    n_band = len(s.selection)
    out["band_beats"] = n_band
    changed = s.review.changed_count()
    out["relabel_1h_beats"] = measure(lambda: QTest.keyClick(w, Qt.Key.Key_N, alt),
                                      lambda: s.review.changed_count() != changed)
    out["rhythm_after_edit"] = measure(lambda: None,
                                       lambda: not w.rhythm_refresher.pending, 300)
    w.tabs.setCurrentWidget(w.disagreements)
    out["disagreements_rows"] = 0
    out["disagreements_rebuild"] = measure(
        lambda: w.disagreements.rebuild(),
        lambda: w.disagreements.model.rowCount() > 0)
    out["disagreements_rows"] = w.disagreements.model.rowCount()
    n = len(s.beats)
    out["delete_1h_beats"] = measure(lambda: QTest.keyClick(w, Qt.Key.Key_Delete),
                                     lambda: len(s.beats) < n)
    out["undo_delete"] = measure(lambda: QTest.keyClick(w, Qt.Key.Key_Z, ctrl),
                                 lambda: len(s.beats) == n)
    s.select(0)
    out["next_disagreement"] = measure(lambda: QTest.keyClick(w, Qt.Key.Key_D),
                                       lambda: s.selected_beat not in (None, 0))
    if getattr(result, "templates", None) is not None:
        _templates_tab(w, s, measure, out)
    w.runner.cancel()
    w.close()
    out_json.write_text(json.dumps(out))


def _templates_tab(w, s, measure, out: dict) -> None:
    """The Templates tab on the 24-h record: opening it, scrolling its grid to the end
    and back, and relabelling its largest V card (one command)."""
    from PySide6.QtCore import QItemSelectionModel, Qt
    from PySide6.QtTest import QTest

    panel = w.templates
    out["templates_tab_open"] = measure(lambda: w.tabs.setCurrentWidget(panel),
                                        lambda: panel.model.rowCount() > 0)
    out["template_cards"] = panel.model.rowCount()
    bar = panel.grid.verticalScrollBar()
    steps = []
    for value in range(0, bar.maximum() + 1, max(1, bar.pageStep() // 2)):
        def scroll(value=value) -> None:  # half a page, painted, as a wheel turn does
            bar.setValue(value)
            panel.grid.viewport().repaint()
        steps.append(measure(scroll))
    bar.setValue(0)
    out["templates_scroll_steps"] = len(steps)
    out["templates_scroll_step"] = max(steps, key=lambda m: m["stall_ms"]) if steps else \
        {"wall_ms": 0.0, "stall_ms": 0.0}
    rows = [r for r, g in enumerate(panel.model.groups) if g.label == "V"]
    if rows:
        index = panel.model.index(rows[0])
        panel.grid.selectionModel().select(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        changed = s.review.changed_count()
        out["template_relabel_beats"] = panel.model.groups[rows[0]].count
        out["template_relabel"] = measure(
            lambda: QTest.mouseClick(panel.relabel_buttons["N"], Qt.MouseButton.LeftButton),
            lambda: s.review.changed_count() != changed)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep the 24-h analysis here and reuse it on the next run")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), None if args.child[1] == "-" else Path(args.child[1]),
              Path(args.child[2]))
        return 0
    from long_record import build_joined

    names = sorted(p.stem for p in args.mitdb.glob("*.hea"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        holter, _ = build_joined(args.mitdb, names, folder, "mitdb24h")
        cases = {"30 min (MITDB 100)": (args.mitdb / "100.hea", "-"),
                 "24 h (48 joined)": (holter, str(args.cache) if args.cache else "-")}
        for title, (path, cache) in cases.items():
            out = folder / "out.json"
            print(f"{title}…", flush=True)
            subprocess.run([sys.executable, __file__, "--child", str(path), cache, str(out)],
                           check=True)
            results[title] = json.loads(out.read_text())
    short, long = results.values()
    print(f"\nbeats: {short['beats']:,} and {long['beats']:,}; the 1-h band held "
          f"{long['band_beats']:,} beats; Disagreements listed {long['disagreements_rows']:,}")
    print(f"review opened (on the worker thread in the app): first {long['open_review_first_s']}"
          f" s, again {long['open_review_again_s']} s (30 min: "
          f"{short['open_review_first_s']} / {short['open_review_again_s']} s)")
    print("| step | 30 min: wall ms / GUI stall ms | 24 h: wall ms / GUI stall ms | "
          "24 h / 30 min (wall) |")
    print("|---|---|---|---|")
    if "template_cards" in long:
        print(f"Templates tab: {short.get('template_cards')} and {long['template_cards']} "
              f"cards; the 24-h V card relabelled held {long.get('template_relabel_beats')}"
              f" beats; scrolling: the worst of {long['templates_scroll_steps']} half-page "
              "steps below")
    for step in ("show_result", "relabel_1_beat", "band_select_1h", "relabel_1h_beats",
                 "rhythm_after_edit", "disagreements_rebuild", "delete_1h_beats",
                 "undo_delete", "next_disagreement", "templates_tab_open",
                 "templates_scroll_step", "template_relabel"):
        if step not in long:
            continue
        a, b = short.get(step, {"wall_ms": float("nan"), "stall_ms": float("nan")}), long[step]
        ratio = b["wall_ms"] / max(a["wall_ms"], 0.1)
        print(f"| {step} | {a['wall_ms']:.0f} / {a['stall_ms']:.0f} | "
              f"{b['wall_ms']:.0f} / {b['stall_ms']:.0f} | x{ratio:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
