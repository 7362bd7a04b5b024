"""The Rhythm tab at the window's 370-px width: nothing cut short, every count labelled.

The numbers are a 24-h Holter's from a user's report: the class legend said V 16,829
and the panel 16,825 (beats in unreadable signal), S 133 against 85 (S beats inside
AF), and 142 pauses against 112 PAUSE episodes (back-to-back pauses are one episode).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QLabel, QStyle, QTabWidget, QToolTip, QTreeWidgetItem

from beatscope.ui.rhythm_panel import RhythmPanel

PANEL_WIDTH = 370  # the main window's Rhythm/Beats tab (main_window: hsplit sizes)
DAY_S = 86400.0
UNREADABLE_S = 2400.0


def holter_rhythm(unreadable_s: float = UNREADABLE_S) -> dict:
    """A day's rhythm object: long totals ("14 h 16 min"), thousands of episodes."""
    episodes = []

    def add(label: str, count: int, every_s: float, length_s: float) -> None:
        episodes.extend({"label": label, "start_s": i * every_s, "end_s": i * every_s + length_s,
                         "confidence": 0.9} for i in range(count))

    add("SR", 60, 1400.0, 860.0)
    add("BIGU", 2310, 37.0, 3.0)
    add("AFIB", 12, 7000.0, 660.0)
    add("PAUSE", 112, 700.0, 2.5)
    add("VT", 23, 3700.0, 3.5)
    add("NOISE", 25, 3400.0, unreadable_s / 25)
    labels = {lab: {"episodes": sum(e["label"] == lab for e in episodes), "percent": 9.5}
              for lab in {e["label"] for e in episodes}}
    return {
        "record": dict.fromkeys(labels, 0.9),
        "episodes": sorted(episodes, key=lambda e: e["start_s"]),
        "events": {
            "ectopy_assessed": True,
            "ventricular": {"beats": 16825, "couplets": 640, "triplets": 12, "runs": 23,
                            "longest_run_beats": 9},
            "supraventricular": {"beats": 85, "couplets": 3, "triplets": 1, "runs": 1,
                                 "longest_run_beats": 3},
            "pauses": {"count": 142, "longest_s": 3.412},
            "per_hour": {"pvc": 721.1, "pac": 3.6},
        },
        "burden": {"analysable_s": DAY_S - unreadable_s, "unreadable_s": unreadable_s,
                   "af_percent": 9.5, "labels": labels},
    }


@pytest.fixture
def panel(qtbot):
    tabs = QTabWidget()  # the panel sits in a tab, as in the window
    qtbot.addWidget(tabs)
    panel = RhythmPanel()
    tabs.addTab(panel, "Rhythm")
    tabs.resize(PANEL_WIDTH, 860)
    tabs.show()
    qtbot.waitExposed(tabs)
    yield panel  # (a return would let the tab widget, and the panel with it, be deleted)


def cut_cells(panel: RhythmPanel) -> list[tuple[str, int, int, int]]:
    """(text, column, width needed, width given) of each cell drawn elided."""
    tree = panel.tree
    style, fm = tree.style(), tree.fontMetrics()
    margin = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1)
    cut = []

    def check(item: QTreeWidgetItem) -> None:
        for column in range(tree.columnCount()):
            need = fm.horizontalAdvance(item.text(column)) + margin
            have = tree.visualRect(tree.indexFromItem(item, column)).width()
            if item.text(column) and need > have:
                cut.append((item.text(column), column, need, have))

    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        check(top)
        for k in range(min(top.childCount(), 40)):
            check(top.child(k))
    header = tree.header()
    header_margin = 2 * style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    for column in range(tree.columnCount()):
        text = tree.headerItem().text(column)
        need = header.fontMetrics().horizontalAdvance(text) + header_margin
        if need > header.sectionSize(column):
            cut.append((text, column, need, header.sectionSize(column)))
    return cut


def show_holter(qtbot, panel: RhythmPanel, rhythm: dict | None = None) -> None:
    panel.set_rhythm(rhythm or holter_rhythm(), DAY_S)
    for i in range(panel.tree.topLevelItemCount()):
        panel.tree.expandItem(panel.tree.topLevelItem(i))
    qtbot.wait(50)  # layout: header sections and word-wrapped labels


def test_nothing_in_the_list_is_cut_short_at_370_px(qtbot, panel):
    show_holter(qtbot, panel)
    assert panel.width() <= PANEL_WIDTH
    assert cut_cells(panel) == []


def test_summary_lines_wrap_inside_the_panel(qtbot, panel):
    show_holter(qtbot, panel)
    shown = [label for label in panel.summary.findChildren(QLabel) if label.isVisible()]
    assert len(shown) == 4
    for label in shown:
        assert label.wordWrap()
        assert label.geometry().right() <= panel.width()
        assert label.height() >= label.heightForWidth(label.width())  # no line cut off
        assert label.toolTip()  # what the number counts


def test_each_count_says_what_it_counts(qtbot, panel):
    show_holter(qtbot, panel)
    text = panel.summary.text()
    assert "Ventricular ectopic beats in readable signal: 16,825" in text
    assert "Supraventricular ectopic beats in readable signal outside AF: 85" in text
    assert "Pauses > 2.0 s in readable signal: 142 in 112 episodes" in text
    tree = panel.tree
    pause = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                 if tree.topLevelItem(i).text(0) == "PAUSE")
    assert pause.text(1).startswith("112 ·")
    assert "one beat apart" in pause.toolTip(1)


def test_without_unreadable_signal_only_the_af_rule_is_named(qtbot, panel):
    show_holter(qtbot, panel, holter_rhythm(unreadable_s=0.0))
    text = panel.summary.text()
    assert "readable signal" not in text
    assert "Supraventricular ectopic beats outside AF: 85" in text


def test_a_cell_cut_short_shows_its_full_text_as_tooltip(qtbot, panel):
    show_holter(qtbot, panel)
    panel.window().resize(220, 860)
    qtbot.wait(50)
    tree = panel.tree
    episode = tree.topLevelItem(0).child(0)
    assert tree.is_cut_short(episode, 0)
    pos = tree.visualRect(tree.indexFromItem(episode, 0)).center()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, tree.viewport().mapToGlobal(pos))
    tree.viewportEvent(event)
    assert QToolTip.text() == episode.text(0)


def test_public_interface_is_unchanged(qtbot, panel):
    show_holter(qtbot, panel)
    received = []
    panel.episode_activated.connect(lambda a, b: received.append((a, b)))
    panel._on_item(panel.tree.topLevelItem(0).child(0))
    assert received and received[0][0] <= received[0][1]
    panel.set_rhythm(None, 0.0, pending=True)
    assert panel.summary.text() == "Rhythm analysis running…"


def test_follows_the_session_one_event_loop_turn_later(qtbot):
    from types import SimpleNamespace

    from beatscope.display import Phase, ViewerSession

    session = ViewerSession()
    panel = RhythmPanel(session)
    qtbot.addWidget(panel)
    session.record = SimpleNamespace(duration_s=DAY_S)
    session.phase = Phase.ANALYSING
    session.events.rhythm_changed.emit()
    qtbot.waitUntil(lambda: panel.summary.text() == "Rhythm analysis running…")
    session.result = SimpleNamespace(rhythm=holter_rhythm())
    session.phase = Phase.DONE
    session.events.rhythm_changed.emit()
    session.events.phase_changed.emit()
    assert panel.tree.topLevelItemCount() == 0  # deferred to the next event-loop turn
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 6)
    assert "outside AF" in panel.summary.text()
