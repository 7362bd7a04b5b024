"""The desktop viewer, offscreen: open, stream, paint, navigate, cancel, errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from beatscope.aami import AAMI_CLASSES  # noqa: E402
from beatscope.display import Phase  # noqa: E402
from beatscope.ui.main_window import MainWindow  # noqa: E402
from beatscope.ui.settings import Preferences, Settings  # noqa: E402
from conftest import ANALYSIS_TIMEOUT_MS, close_window, make_window, open_and_wait  # noqa: E402

SAMPLE = Path(__file__).parents[1] / "resources" / "samples" / "mitdb_208_10min.hea"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, settings):
    w = make_window(qtbot, settings)
    yield w
    close_window(w)


def test_open_analyse_paint_marks_match_analysis(qtbot, window, data_dir):
    open_and_wait(qtbot, window, data_dir / "mitdb_208.hea")
    session = window.session
    assert session.phase is Phase.DONE
    result = session.result
    assert len(session.beats) == len(result.beats) > 200
    np.testing.assert_array_equal(session.beats.label, result.beats.label)
    assert window.time_to_signal_s is not None and window.time_to_signal_s < 5
    assert window.model_label.text().startswith("Model:")
    assert (result.beats.label == "V").sum() > 40  # 208 has frequent PVCs

    # Page through in non-overlapping 10-s windows: every beat is painted once,
    # with the letter of its class.
    strip = window.strip
    painted = {c: set() for c in AAMI_CLASSES}
    t = 0.0
    while t < session.duration_s:
        strip.show_window(t, 10.0)
        strip.refresh()
        for cls in AAMI_CLASSES:
            xs, _ = strip.marks.items[cls].getData()
            painted[cls].update(np.round(np.asarray(xs) * session.beats.fs).astype(int).tolist())
        t += 10.0
    for cls in AAMI_CLASSES:
        expected = set(result.beats.sample[result.beats.label == cls].tolist())
        assert painted[cls] == expected, cls
    # the class legend and the beat table agree with the analysis
    counts = {c: int((result.beats.label == c).sum()) for c in AAMI_CLASSES}
    assert f"{counts['V']:,}" in window.legend.labels["V"].text()
    assert window.table.model.rowCount() == len(result.beats)
    window.table.filter.setCurrentText("V")
    assert window.table.model.rowCount() == counts["V"]


def test_ventricular_beats_are_coloured_on_the_trace(qtbot, window, data_dir):
    open_and_wait(qtbot, window, data_dir / "mitdb_119.hea")
    strip = window.strip
    first_v = window.session.jump_to_class("V", 0.0, True)
    t = window.session.beat_time(first_v)
    strip.show_window(t - 2.0, 6.0)
    strip.refresh()
    xs, ys = strip.traces.overlays[0]["V"].getData()
    assert len(xs) > 0
    finite = np.isfinite(ys)
    assert np.nanmin(np.abs(xs[finite] - t)) < 0.01  # the segment covers the R peak


def test_navigation_keys_and_calipers(qtbot, window, data_dir):
    open_and_wait(qtbot, window, data_dir / "mitdb_119.hea")
    strip, session = window.strip, window.session
    strip.show_window(0.0, 10.0)
    t0, t1 = strip.visible_range()
    strip.page(1)
    assert strip.visible_range()[0] == pytest.approx(t0 + 0.9 * (t1 - t0))
    strip.show_window(0.0, 10.0)
    # through the keys, as a user presses them (the shortcut once reached the handler
    # with the action's `checked` flag as the class)
    qtbot.keyClick(window, Qt.Key.Key_V)
    first_v = session.selected_beat
    assert first_v is not None and session.beats.label[first_v] == "V"
    assert not (session.beats.label[:first_v] == "V").any()
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert session.selected_beat == first_v + 1
    qtbot.keyClick(window, Qt.Key.Key_V, Qt.KeyboardModifier.ShiftModifier)
    assert session.selected_beat == first_v
    bt = session.beat_time(first_v)
    lo, hi = strip.visible_range()
    assert lo <= bt <= hi
    span = hi - lo
    strip.zoom(2.0)
    assert strip.visible_range()[1] - strip.visible_range()[0] == pytest.approx(span / 2, rel=1e-3)
    window.go_to_time(60.0)
    lo, hi = strip.visible_range()
    assert lo < 60.0 < hi

    # calipers over one RR interval: 60 000 / RR ms
    r0, r1 = session.beat_time(10), session.beat_time(11)
    received = []
    strip.caliper_measured.connect(received.append)
    strip._on_caliper_drag((r0, 0.0), (r1, 0.5), True, True)
    m = received[-1]
    assert m.dt_ms == pytest.approx((r1 - r0) * 1000)
    assert m.rate_bpm == pytest.approx(60 / (r1 - r0))
    assert m.dv_mv == pytest.approx(0.5)
    assert "Calipers" in window.caliper_label.text()


def test_cancel_and_open_another_record(qtbot, window, data_dir):
    with qtbot.waitSignal(window.runner.loaded, timeout=ANALYSIS_TIMEOUT_MS):
        window.open_path(SAMPLE)
    # once loaded, the status bar says it is analysing (it said "Opening…" throughout)
    assert window.statusBar().currentMessage() == "mitdb_208_10min: analysing…"
    with qtbot.waitSignal(window.runner.cancelled, timeout=5_000):
        window.cancel_analysis()
    assert window.session.phase is Phase.CANCELLED
    assert not window.runner.busy
    # a running analysis is superseded by the next open; only the new record finishes
    window.open_path(SAMPLE)
    open_and_wait(qtbot, window, data_dir / "mitdb_100.hea")
    assert window.session.record.name == "mitdb_100"
    assert window.session.phase is Phase.DONE


def test_bad_files_give_a_message_and_keep_the_app_usable(qtbot, window, data_dir, tmp_path):
    empty = tmp_path / "empty.hea"
    empty.write_bytes(b"")
    with qtbot.waitSignal(window.error_shown, timeout=30_000) as blocker:
        window.open_path(empty)
    message = blocker.args[0]
    assert "Traceback" not in message and "\n" not in message
    assert window.session.phase is Phase.EMPTY
    missing = tmp_path / "nothing.hea"
    with qtbot.waitSignal(window.error_shown, timeout=30_000):
        window.open_path(missing)
    open_and_wait(qtbot, window, data_dir / "mitdb_100.hea")
    assert window.session.phase is Phase.DONE
    assert window.settings.recent_files()[0].endswith("mitdb_100.hea")


def test_preferences_round_trip(settings):
    prefs = Preferences(device="cpu", powerline="50", band="paper", speed_mm_s=50.0,
                        gain_mm_mv=20.0)
    settings.set_preferences(prefs)
    assert settings.preferences() == prefs
    options = prefs.analysis_options()
    assert options.denoise.powerline == 50
    settings.store.setValue("preferences/device", "tpu")  # a stale or hand-edited file
    assert settings.preferences() == Preferences()


def test_screenshot_command(tmp_path, data_dir):
    exe = shutil.which("beatscope", path=str(Path(sys.executable).parent))
    assert exe is not None
    png = tmp_path / "shot.png"
    run = subprocess.run([exe, str(data_dir / "mitdb_119.hea"), "--screenshot", str(png),
                          "--size", "1000x700"], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert run.returncode == 0, run.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert (image.width(), image.height()) == (1000, 700)


def test_drop_a_file_opens_it_and_cursor_readout(qtbot, window, data_dir):
    from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent, QMouseEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(data_dir / "mitdb_100.hea"))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.analysis_finished, timeout=ANALYSIS_TIMEOUT_MS):
        window.dropEvent(event)
    assert window.session.record.name == "mitdb_100"
    # the status bar reads the position, the lead and the 8-beat heart rate under the
    # pointer, and forgets them when the pointer leaves the strip
    strip = window.strip
    strip.show_window(25.0, 10.0)
    strip.refresh()
    port = strip.viewport()
    at = QPointF(strip.mapFromScene(strip.box.mapViewToScene(QPointF(30.0, 0.0))))
    QApplication.sendEvent(port, QMouseEvent(
        QEvent.Type.MouseMove, at, port.mapToGlobal(at), Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: window.position_label.text().startswith("00:00:30.0"), timeout=2_000)
    assert "MLII" in window.position_label.text()
    hr = float(window.hr_label.text().split()[1])
    assert 60 <= hr <= 90  # record 100 runs at about 75 bpm
    QApplication.sendEvent(strip, QEvent(QEvent.Type.Leave))
    assert window.position_label.text() == "" and window.hr_label.text() == ""


def test_rhythm_episodes_listed_and_navigable(qtbot, window, data_dir):
    open_and_wait(qtbot, window, data_dir / "mitdb_119.hea")  # ventricular bigeminy
    episodes = window.session.episodes
    assert any(e["label"] == "BIGU" for e in episodes)
    tree = window.rhythm.tree
    labels = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert "BIGU" in labels
    window.strip.show_window(0.0, 10.0)
    # ] steps over plain sinus rhythm (the background) to the next finding, names
    # it in the status bar and shades it on the strip
    findings = [e for e in episodes if e["label"] != "SR"]
    first = min(findings, key=lambda e: e["start_s"])
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    t0, t1 = window.strip.visible_range()
    if first["start_s"] > 0.05 * (t1 - t0):  # an episode at 0 s is already in view
        assert t0 < first["start_s"] < t1
        assert f"({first['label']})" in window.statusBar().currentMessage()
        assert window.strip.episode_band.isVisible()
        lo, hi = window.strip.episode_band.getRegion()
        assert lo == pytest.approx(first["start_s"]) and hi == pytest.approx(first["end_s"])
    # a click on an episode in the list shows it
    top = tree.topLevelItem(labels.index("BIGU"))
    assert top.childCount() == 0  # episode rows are made on first expansion
    tree.expandItem(top)
    assert top.childCount() == sum(e["label"] == "BIGU" for e in episodes)
    bigu = top.child(0)
    received = []
    window.rhythm.episode_activated.connect(lambda a, b: received.append((a, b)))
    window.rhythm._on_item(bigu)
    start, _ = received[-1]
    t0, t1 = window.strip.visible_range()
    assert t0 <= start <= t1


def test_preferences_dialog_edits_and_returns_preferences(qtbot):
    from beatscope.ui.preferences_dialog import PreferencesDialog

    dialog = PreferencesDialog(Preferences(), cuda_available=False)
    qtbot.addWidget(dialog)
    cuda_item = dialog.device.model().item(dialog.device.findData("cuda"))
    assert not cuda_item.isEnabled()  # no GPU: not offered
    dialog.powerline.setCurrentIndex(dialog.powerline.findData("50"))
    dialog.speed.setCurrentIndex(dialog.speed.findData(50.0))
    prefs = dialog.preferences()
    assert prefs.powerline == "50" and prefs.speed_mm_s == 50.0 and prefs.device == "auto"


def _bad_records(tmp_path: Path, data_dir: Path) -> dict[str, Path]:
    """Broken copies of a shipped excerpt, one per kind of bad input."""
    out = {}
    hea_text = (data_dir / "mitdb_100.hea").read_text()
    # a .dat cut to a few bytes
    (tmp_path / "cut.hea").write_text(hea_text.replace("mitdb_100", "cut"))
    (tmp_path / "cut.dat").write_bytes((data_dir / "mitdb_100.dat").read_bytes()[:30])
    out["truncated .dat"] = tmp_path / "cut.hea"
    # a header that is not a header
    (tmp_path / "junk.hea").write_text("this is not a WFDB header\n\x00\x01")
    out["unparseable header"] = tmp_path / "junk.hea"
    # an impossible sampling rate
    first, *rest = hea_text.replace("mitdb_100", "rate").splitlines()
    parts = first.split()
    parts[2] = "0"
    (tmp_path / "rate.hea").write_text("\n".join([" ".join(parts), *rest]) + "\n")
    (tmp_path / "rate.dat").write_bytes((data_dir / "mitdb_100.dat").read_bytes())
    out["zero sampling rate"] = tmp_path / "rate.hea"
    # a CSV whose every sample is NaN
    (tmp_path / "nan.csv").write_text("time,II\n" + "".join(f"{i / 250},nan\n"
                                                             for i in range(5000)))
    out["all-NaN CSV"] = tmp_path / "nan.csv"
    return out


def test_bad_input_gives_one_line_and_keeps_the_open_record(qtbot, window, data_dir, tmp_path):
    open_and_wait(qtbot, window, data_dir / "mitdb_119.hea")
    beats_before = len(window.session.beats)
    for kind, path in _bad_records(tmp_path, data_dir).items():
        with qtbot.waitSignal(window.error_shown, timeout=30_000) as blocker:
            window.open_path(path)
        message = blocker.args[0]
        assert "\n" not in message and "Traceback" not in message, kind
        assert path.stem in message or path.name in message, (kind, message)
        # the record on screen and its analysis are untouched
        assert window.session.record.name == "mitdb_119", kind
        assert window.session.phase is Phase.DONE and len(window.session.beats) == beats_before


def test_flat_line_is_analysed_with_a_warning(qtbot, window, tmp_path):
    import wfdb

    flat = np.zeros((360 * 20, 2))
    wfdb.wrsamp("flat", fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=flat,
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0],
                write_dir=str(tmp_path))
    open_and_wait(qtbot, window, tmp_path / "flat.hea")
    assert len(window.session.beats) == 0
    assert any("no readable ECG" in w for w in window.session.result.warnings)
    assert "no readable ECG" in window.statusBar().currentMessage()


def test_unreadable_file_does_not_stop_the_running_analysis(qtbot, window, tmp_path):
    bad = tmp_path / "bad.hea"
    bad.write_text("not a header\n")
    finished = []
    window.analysis_finished.connect(lambda: finished.append(True))
    with qtbot.waitSignal(window.runner.loaded, timeout=ANALYSIS_TIMEOUT_MS):
        window.open_path(SAMPLE)
    assert window.runner.busy
    with qtbot.waitSignal(window.error_shown, timeout=30_000):
        window.open_path(bad)
    # the sample's analysis carries on to the end and is shown
    qtbot.waitUntil(lambda: bool(finished), timeout=ANALYSIS_TIMEOUT_MS)
    assert window.session.record.name == SAMPLE.stem
    assert window.session.phase is Phase.DONE


def test_beat_table_and_strip_follow_each_other(qtbot, window, data_dir):
    open_and_wait(qtbot, window, data_dir / "mitdb_119.hea")
    table, session = window.table, window.session
    table.filter.setCurrentText("V")
    # moving through the filtered table (click or arrow keys) selects that beat
    table.view.setCurrentIndex(table.model.index(3, 0))
    beat = int(table.model.rows[3])
    assert session.beats.label[beat] == "V" and session.selected_beat == beat
    lo, hi = window.strip.visible_range()
    assert lo <= session.beat_time(beat) <= hi
    # and stepping on the strip moves the table's selection, without echoing back
    window.jump_class("V", forward=True)
    nxt = session.selected_beat
    assert nxt > beat and session.beats.label[nxt] == "V"
    assert int(table.model.rows[table.view.currentIndex().row()]) == nxt


def test_twelve_lead_resting_ecg_scrolls_instead_of_squeezing(qtbot, window,
                                                             resting_twelve_lead):
    window.resize(1200, 700)
    open_and_wait(qtbot, window, resting_twelve_lead)
    strip = window.strip
    assert len(strip.traces.curves) == 12 and len(window.session.beats) >= 10
    assert window.session.result.rhythm is not None
    shown = strip.visible_leads()
    assert shown[0] == 0 and len(shown) < 12  # the gain is kept: not all fit at once
    strip.scroll_leads(11)
    assert 11 in strip.visible_leads()
    # spacing stays a whole number of large (5-mm) boxes at the chosen gain
    boxes = strip.spacing_mv / strip.scale.large_box_mv
    assert boxes == pytest.approx(round(boxes))


def test_named_weights_without_manifest_are_refused_not_ignored(qtbot, settings, data_dir,
                                                                tmp_path):
    w = MainWindow(settings, weights=tmp_path)  # an empty folder: no manifest.json
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.error_shown, timeout=ANALYSIS_TIMEOUT_MS) as blocker:
        w.open_path(data_dir / "mitdb_100.hea")
    assert "manifest" in blocker.args[0] and "\n" not in blocker.args[0]
    w.runner.cancel()
    w.runner.wait_idle(60_000)


def test_engine_process_that_dies_gives_a_message_and_the_next_open_works(qtbot, window,
                                                                          data_dir):
    with qtbot.waitSignal(window.runner.loaded, timeout=ANALYSIS_TIMEOUT_MS):
        window.open_path(SAMPLE)
    job = window.runner._job
    qtbot.waitUntil(lambda: getattr(job, "engine", None) is not None, timeout=30_000)
    job.engine.process.kill()  # as the OOM killer would
    with qtbot.waitSignal(window.error_shown, timeout=30_000) as blocker:
        pass
    assert "engine stopped unexpectedly" in blocker.args[0]
    open_and_wait(qtbot, window, data_dir / "mitdb_100.hea")
    assert window.session.phase is Phase.DONE


def test_overview_spans_each_record_opened_in_turn(qtbot, window, data_dir):
    # a shorter record first: its limits once clamped the next record's overview
    open_and_wait(qtbot, window, data_dir / "mitdb_100.hea")
    assert window.overview.ecg_plot.viewRange()[0][1] == pytest.approx(120.0, rel=0.01)
    # the heart-rate trend is drawn once the analysis is done, not a timer later
    _, hr = window.overview.hr_curve.getData()
    assert hr is not None and np.isfinite(hr).sum() > 10
    open_and_wait(qtbot, window, SAMPLE)
    for plot in (window.overview.ecg_plot, window.overview.hr_plot):
        assert plot.viewRange()[0][1] == pytest.approx(600.0, rel=0.01)
    open_and_wait(qtbot, window, data_dir / "mitdb_119.hea")
    assert window.overview.ecg_plot.viewRange()[0][1] == pytest.approx(120.0, rel=0.01)


def test_cancelled_reanalysis_keeps_the_finished_result(qtbot, window, data_dir):
    open_and_wait(qtbot, window, data_dir / "mitdb_119.hea")
    session = window.session
    labels = session.beats.label.copy()
    episodes = session.episodes
    legend = [label.text() for label in window.legend.labels.values()]
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Re-analyse
    assert window.runner.busy and session.phase is Phase.ANALYSING
    with qtbot.waitSignal(window.runner.cancelled, timeout=5_000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert session.phase is Phase.DONE
    np.testing.assert_array_equal(session.beats.label, labels)
    assert session.episodes == episodes and len(episodes) > 0
    assert window.table.model.rowCount() == len(labels)
    assert [label.text() for label in window.legend.labels.values()] == legend
    assert "previous result is kept" in window.statusBar().currentMessage()


def test_zoomed_out_the_classes_keep_their_colour_and_leads_their_band(qtbot, window,
                                                                      data_dir):
    open_and_wait(qtbot, window, data_dir / "mitdb_119.hea")  # ventricular bigeminy
    strip = window.strip
    strip.show_window(0.0, 120.0)  # the whole excerpt: an envelope, not samples
    strip.refresh()
    assert strip.traces.decimated
    beats = window.session.beats
    v_times = beats.sample[beats.label == "V"] / beats.fs
    for lead, overlay in enumerate(strip.traces.overlays):
        t, y = overlay["V"].getData()
        # every PVC's column of the envelope is still orange, and only those
        column = np.searchsorted(t, v_times, side="right") - 1
        assert len(v_times) > 20 and np.isfinite(y[column]).all()
        assert np.isfinite(y).sum() <= 2 * len(v_times)
        _, trace = strip.traces.curves[lead].getData()
        half = 0.5 * strip.spacing_mv
        offset = strip.traces.offsets[lead]
        assert np.all(np.abs(trace - offset) <= half)  # no lead paints over the next


def test_the_beat_table_follows_paging_and_go_to(qtbot, window, data_dir):
    open_and_wait(qtbot, window, data_dir / "mitdb_100.hea")
    strip, table, s = window.strip, window.table, window.session
    strip.show_window(0.0, 10.0)
    s.select(None)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    t0, _ = strip.visible_range()
    top = table.view.rowAt(0)
    assert s.beats.sample[top] / s.beats.fs >= t0
    assert top == 0 or s.beats.sample[top - 1] / s.beats.fs < t0
    window.go_to_time(100.0)
    t0, _ = strip.visible_range()
    top = table.view.rowAt(0)
    assert top > 0 and s.beats.sample[top - 1] / s.beats.fs < t0 <= s.beats.sample[top] / 360
