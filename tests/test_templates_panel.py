"""The Templates tab, driven as a reviewer drives it: the cards after the analysis of
the bundled sample, a click to a template's typical beat, ] and [ through its beats,
a card relabel as one undo step, split and take-out, and the suggestion bar that
offers (never applies) the corrections' spread."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from beatscope.aami import AAMI_CLASSES  # noqa: E402
from beatscope.review.store import SOURCES  # noqa: E402
from conftest import close_window, make_window, open_and_wait  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "samples" / "mitdb_208_10min"
CTRL = Qt.KeyboardModifier.ControlModifier
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def settings(reviewer_settings):
    return reviewer_settings


@pytest.fixture
def panel(qtbot, settings, tmp_path):
    """The window with the sample analysed and the Templates tab clicked."""
    for ext in ("hea", "dat", "atr"):
        shutil.copy(SAMPLE.with_suffix(f".{ext}"), tmp_path)
    w = make_window(qtbot, settings)
    open_and_wait(qtbot, w, tmp_path / f"{SAMPLE.name}.hea")
    tabs = w.tabs.tabBar()
    index = w.tabs.indexOf(w.templates)
    qtbot.mouseClick(tabs, LEFT, pos=tabs.tabRect(index).center())
    assert w.tabs.currentWidget() is w.templates
    qtbot.waitUntil(lambda: w.templates.model.rowCount() > 0, timeout=5_000)
    yield w.templates
    w.templates.wait()
    close_window(w)


def click_card(qtbot, panel, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    index = panel.model.index(row)
    panel.grid.scrollTo(index)
    qtbot.mouseClick(panel.grid.viewport(), LEFT, modifier, panel.grid.visualRect(index).center())


def rows_of_class(panel, cls: str) -> list[int]:
    return [r for r, g in enumerate(panel.model.groups) if g.label == cls]


def selected_sample(session) -> int:
    return int(session.beats.sample[session.selected_beat])


def settle(qtbot, panel) -> None:
    """The throttled rebuild done."""
    qtbot.waitUntil(lambda: not panel._timer.isActive(), timeout=2_000)


def test_cards_navigate_relabel_undo_split_and_take_out(qtbot, panel):
    w, session = panel.window(), panel.session
    groups = panel.model.groups
    assert len(groups) >= 5 and panel.summary.text().startswith(f"{len(groups)} of")
    rank = [AAMI_CLASSES.index(g.label) for g in groups]
    assert rank == sorted(rank)  # by class ...
    for cls in set(g.label for g in groups):  # ... then count, largest first
        counts = [g.count for g in groups if g.label == cls]
        assert counts == sorted(counts, reverse=True)
    assert sum(g.count for g in groups) == len(session.beats)
    # every card in view is painted (a waveform pixmap cached for it)
    panel.grid.viewport().repaint()
    assert panel.delegate._cache

    # a click goes to the template's most typical beat; ] and [ step through its beats
    v_rows = rows_of_class(panel, "V")
    assert len(v_rows) >= 2
    first = panel.model.groups[v_rows[0]]
    click_card(qtbot, panel, v_rows[0])
    assert selected_sample(session) == first.typical_sample
    t0, t1 = w.strip.visible_range()
    assert t0 <= first.typical_sample / session.beats.fs <= t1
    members = first.samples
    at = int(np.searchsorted(members, first.typical_sample))
    qtbot.keyClick(panel.grid, Qt.Key.Key_BracketRight)
    assert selected_sample(session) == members[at + 1]
    qtbot.keyClick(panel.grid, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(panel.grid, Qt.Key.Key_BracketLeft)
    assert selected_sample(session) == members[at - 1]
    qtbot.mouseClick(panel.next_button, LEFT)
    assert selected_sample(session) == first.typical_sample

    # one card relabelled: one command, named after the template
    qtbot.mouseClick(panel.relabel_buttons["N"], LEFT)
    undo = w.review_actions.undo_action
    assert undo.text() == f"Undo relabel template {first.key} ({first.count} beats) V \u2192 N"
    rows = session.review.store.rows
    at_rows = session.review.store.index_of(first.samples)
    assert (rows.label[at_rows] == "N").all()
    assert (rows.source[at_rows] == SOURCES.index("reviewer")).all()
    settle(qtbot, panel)
    card = next(g for g in panel.model.groups if g.key == first.key)
    assert card.class_counts == {"N": first.count} and card.model_label == "V"
    assert [g.key for g in panel.selected_groups()] == [first.key]  # kept selected
    qtbot.keyClick(w, Qt.Key.Key_Z, CTRL)
    assert (session.review.store.rows.label[at_rows] == "V").all()
    settle(qtbot, panel)

    # two cards (Ctrl+click) relabelled at once: still one undo step
    v_rows = rows_of_class(panel, "V")
    a, b = panel.model.groups[v_rows[0]], panel.model.groups[v_rows[1]]
    click_card(qtbot, panel, v_rows[0])
    click_card(qtbot, panel, v_rows[1], CTRL)
    assert {g.key for g in panel.selected_groups()} == {a.key, b.key}
    qtbot.mouseClick(panel.relabel_buttons["F"], LEFT)
    keys = sorted([a.key, b.key], key=lambda k: panel.model.row_of(k))
    assert undo.text() == (f"Undo relabel templates {keys[0]} and {keys[1]} "
                           f"({a.count + b.count} beats) V \u2192 F")
    history = session.review.stack.history()
    qtbot.keyClick(w, Qt.Key.Key_Z, CTRL)
    assert len(session.review.stack.history()) == len(history) - 1
    assert not session.review.store.changed().any()
    settle(qtbot, panel)

    # the class filter
    panel.class_filter.setCurrentIndex(panel.class_filter.findData("V"))
    assert panel.model.groups and {g.label for g in panel.model.groups} == {"V"}
    panel.class_filter.setCurrentIndex(0)

    # split the largest V template in two: two cards, the view only (no edit)
    row = rows_of_class(panel, "V")[0]
    big = panel.model.groups[row]
    click_card(qtbot, panel, row)
    next(a for a in panel.split_button.menu().actions() if "2" in a.text()).trigger()
    parts = [g for g in panel.model.groups if g.template_id == big.template_id]
    assert len(parts) >= 2 and sum(g.count for g in parts) == big.count
    assert {g.name for g in parts} >= {f"template {big.key}a", f"template {big.key}b"}
    assert session.review.stack.history() == history[:-1]  # not an edit

    # take the beat on the strip's cursor out of its template
    click_card(qtbot, panel, panel.model.row_of(parts[0].key))
    beat = selected_sample(session)
    qtbot.mouseClick(panel.take_out_button, LEFT)
    alone = [g for g in panel.model.groups if g.moved]
    assert len(alone) == 1 and alone[0].samples.tolist() == [beat]
    assert sum(g.count for g in panel.model.groups) == len(session.beats)


def test_suggestions_are_offered_and_never_touch_the_reviewer_s_beats(qtbot, panel):
    w, session = panel.window(), panel.session
    review = session.review
    v_rows = rows_of_class(panel, "V")
    card = panel.model.groups[v_rows[0]]
    # a card relabel is a correction: the bar offers the beats like it
    click_card(qtbot, panel, v_rows[0])
    qtbot.mouseClick(panel.relabel_buttons["N"], LEFT)
    qtbot.waitUntil(lambda: panel.bar.proposal is not None, timeout=30_000)
    assert panel.bar.isVisible() and panel.bar.apply_button.isVisible()
    offered = panel.bar.proposal.by_label["N"]
    assert panel.bar.text.text() == f"{len(offered):,} similar beats: V \u2192 N"
    assert not np.isin(offered, card.samples).any()
    assert (review.store.snapshot(offered).label == "V").all()  # nothing applied yet
    qtbot.mouseClick(panel.bar.dismiss_button, LEFT)
    assert not panel.bar.isVisible()
    qtbot.keyClick(w, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: not review.store.changed().any(), timeout=2_000)

    # the reviewer calls one of those beats F by hand, then relabels the card again
    mine = int(offered[0])
    session.select(int(np.searchsorted(session.beats.sample, mine)))
    qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.AltModifier)
    assert review.store.snapshot([mine]).label[0] == "F"
    panel.wait()
    click_card(qtbot, panel, panel.model.row_of(card.key))
    qtbot.mouseClick(panel.relabel_buttons["N"], LEFT)
    qtbot.waitUntil(lambda: panel.bar.proposal is not None
                    and "similar" in panel.bar.text.text(), timeout=30_000)
    proposal = panel.bar.proposal
    everything = np.concatenate(list(proposal.by_label.values()))
    assert mine not in everything
    qtbot.mouseClick(panel.bar.apply_button, LEFT)
    after = review.store.snapshot(everything)
    assert (after.source == SOURCES.index("propagated")).all()
    assert review.store.snapshot([mine]).label[0] == "F"  # the reviewer's call stands
    assert w.review_actions.undo_action.text().startswith("Undo relabel similar beats (")
    qtbot.keyClick(w, Qt.Key.Key_Z, CTRL)  # one undo takes the whole suggestion back
    assert (review.store.snapshot(everything).source == SOURCES.index("model")).all()

    # learn from the corrections: offered first, applied as propagated, mine untouched
    qtbot.mouseClick(panel.learn_button, LEFT)
    qtbot.waitUntil(lambda: panel.learn_button.isEnabled() and panel.bar.isVisible()
                    and not panel.bar.busy.isVisible(), timeout=30_000)
    if panel.bar.proposal is not None:
        learned = np.concatenate(list(panel.bar.proposal.by_label.values()))
        assert mine not in learned and not np.isin(learned, card.samples).any()
        qtbot.mouseClick(panel.bar.apply_button, LEFT)
        assert (review.store.snapshot(learned).source == SOURCES.index("propagated")).all()
        assert "learned from corrections" in w.review_actions.undo_action.text()
    assert review.store.snapshot([mine]).label[0] == "F"


def test_a_template_of_artefacts_is_deleted_from_its_menu_in_one_undo_step(qtbot, panel):
    w, session = panel.window(), panel.session
    row = rows_of_class(panel, "V")[0]  # the largest: "N beats"
    group = panel.model.groups[row]
    index = panel.model.index(row)
    panel.grid.scrollTo(index)
    panel._context_menu(panel.grid.visualRect(index).center())
    delete = next(a for a in panel.last_menu.actions() if a.text().startswith("Delete"))
    panel.last_menu.close()
    delete.trigger()
    undo = w.review_actions.undo_action
    assert undo.text() == f"Undo delete template {group.key} ({group.count} beats)"
    at_rows = session.review.store.index_of(group.samples)
    assert session.review.store.rows.deleted[at_rows].all()
    qtbot.keyClick(w, Qt.Key.Key_Z, CTRL)
    assert not session.review.store.rows.deleted[at_rows].any()


def test_edits_made_while_the_tab_is_hidden_rebuild_it_once_when_it_is_shown(qtbot, panel):
    """A reviewer correcting beats in the strip with another tab in front does not pay
    for cards nobody sees; clicking back to Templates shows the edits."""
    w, session = panel.window(), panel.session
    tabs = w.tabs.tabBar()
    other = next(i for i in range(w.tabs.count()) if w.tabs.widget(i) is not panel)
    qtbot.mouseClick(tabs, LEFT, pos=tabs.tabRect(other).center())
    assert panel.isHidden()
    v = int(np.flatnonzero(session.beats.label == "V")[0])
    session.select(v)

    def v_beats() -> int:  # the cards' current labels, as their class mixes show them
        return sum(g.class_counts.get("V", 0) for g in panel.model.groups)

    v_before = v_beats()
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    assert session.beats.label[v] == "N"
    assert panel.stale and not panel._timer.isActive()  # nothing rebuilt behind the tab
    assert v_beats() == v_before
    qtbot.mouseClick(tabs, LEFT, pos=tabs.tabRect(w.tabs.indexOf(panel)).center())
    assert not panel.stale
    assert v_beats() == v_before - 1
