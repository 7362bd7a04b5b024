"""The Templates tab: the record's beats as morphology templates, relabelled a template
at a time, and corrections that spread to similar beats.

The cards (:mod:`beatscope.ui.template_cards`) come from a
:class:`~beatscope.review.template_view.TemplateView`, which also holds the
reviewer's splits and the beats taken out (view state, not edits). The panel
follows the session through its events and rebuilds at most every 150 ms.

Relabelling cards is one undoable command for all the selected cards ("relabel
template 7 (212 beats) V → N"). The suggestions that follow any relabel, and
"Learn from my corrections", are :mod:`beatscope.ui.correction_suggestions`'s; the
panel shows their bar.
"""

from __future__ import annotations

import sqlite3

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from beatscope.aami import AAMI_CLASSES
from beatscope.display import Phase, ViewerSession, format_clock
from beatscope.review.template_view import (
    SPLIT_PARTS,
    TemplateGroup,
    TemplateView,
    describe_groups,
    relabel_samples,
)
from beatscope.ui import theme
from beatscope.ui.correction_suggestions import CorrectionSuggestions
from beatscope.ui.template_cards import CardDelegate, CardGrid, CardModel, GroupRole

ALL_CLASSES = "All classes"
#: Throttle of the rebuild after edits: a burst of edits costs one rebuild.
REBUILD_MS = 150


class TemplatesPanel(QWidget):
    """The Templates tab for ``session``."""

    def __init__(self, session: ViewerSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.view: TemplateView | None = None
        self._result = None
        self.suggestions = CorrectionSuggestions(session, self)
        self.bar = self.suggestions.bar
        self._build()
        self._timer = QTimer(self, singleShot=True, interval=REBUILD_MS)
        self._timer.timeout.connect(self.rebuild)
        #: edits arrived while the tab was hidden: rebuild when it is shown
        self.stale = False
        e = session.events
        e.phase_changed.connect(self._schedule)
        e.review_changed.connect(self._schedule)
        e.beats_reset.connect(self._schedule)
        e.labels_changed.connect(lambda _index: self._schedule())
        self.rebuild()

    def _schedule(self) -> None:
        """Rebuild soon, or when shown: a reviewer correcting beat by beat in the strip
        must not pay, edit after edit, for regrouping every beat into cards nobody
        sees."""
        if self.isHidden():
            self.stale = True
        else:
            self._timer.start()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.stale:
            self.rebuild()

    # ================================================================= layout
    def _build(self) -> None:
        self.summary = QLabel("No analysis yet.")
        self.summary.setWordWrap(True)
        self.class_filter = QComboBox()
        self.class_filter.addItem(ALL_CLASSES, "")
        for cls in AAMI_CLASSES:
            self.class_filter.addItem(f"{cls}: {theme.CLASS_SHORT_NAMES[cls]}", cls)
        self.class_filter.setToolTip("Show only the templates of one class")
        self.model = CardModel(self)
        self.delegate = CardDelegate(self)
        self.grid = CardGrid()
        self.grid.setModel(self.model)
        self.grid.setItemDelegate(self.delegate)
        self.prev_button = _button("◀ [")
        self.next_button = _button("] ▶")
        self.prev_button.setToolTip("Previous beat of the current template ([ on the cards)")
        self.next_button.setToolTip("Next beat of the current template (] on the cards)")
        self.split_button = _button("Split ▾")
        self.split_button.setToolTip("Re-cluster the current template into 2-4 groups")
        split_menu = QMenu(self.split_button)
        for parts in SPLIT_PARTS:
            split_menu.addAction(f"Into {parts} groups", lambda p=parts: self.split(p))
        self.split_button.setMenu(split_menu)
        self.split_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # the ▾ in the text says it; the style's own arrow sat on the letters
        self.split_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")
        self.take_out_button = _button("Take beat out")
        self.take_out_button.setToolTip("The beat(s) selected on the strip become their own "
                                        "card (the view only, not an edit)")
        self.relabel_buttons = {}
        relabel_row = QHBoxLayout()
        relabel_row.addWidget(QLabel("Relabel as"))
        for cls in AAMI_CLASSES:
            button = _button(cls)
            button.setMinimumWidth(26)
            button.setToolTip(f"Relabel the selected cards' beats as {cls} "
                              f"({theme.CLASS_NAMES[cls]}): one undoable edit")
            button.setStyleSheet(f"color: {theme.CLASS_COLORS[cls]}; font-weight: bold;")
            button.clicked.connect(lambda _=False, c=cls: self.relabel(c))
            relabel_row.addWidget(button)
            self.relabel_buttons[cls] = button
        relabel_row.addStretch(1)
        self.learn_button = _button("Learn from my corrections")
        self.learn_button.setToolTip("Find the beats your corrections would relabel across "
                                     "the record (shown first, applied only on Apply)")
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555;")

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.class_filter)
        steps = QHBoxLayout()
        for w in (self.prev_button, self.next_button, self.split_button, self.take_out_button):
            steps.addWidget(w)
        steps.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.grid, 1)
        layout.addLayout(steps)
        layout.addLayout(relabel_row)
        learn_row = QHBoxLayout()
        learn_row.addWidget(self.learn_button)
        learn_row.addStretch(1)
        layout.addLayout(learn_row)
        layout.addWidget(self.bar)
        layout.addWidget(self.hint)

        self.class_filter.currentIndexChanged.connect(lambda _i: self.rebuild())
        self.grid.clicked.connect(self._on_card_clicked)
        self.grid.step_requested.connect(self.step)
        self.grid.typical_requested.connect(self.show_typical)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.take_out_button.clicked.connect(self.take_out_selection)
        self.learn_button.clicked.connect(self.suggestions.learn)
        self.suggestions.message.connect(self.hint.setText)
        self.suggestions.learning.connect(lambda busy: self.learn_button.setEnabled(not busy))

    # ================================================================ content
    def rebuild(self) -> None:
        """The cards as the session stands (throttled by the events)."""
        self._timer.stop()
        self.stale = False
        session = self.session
        result = session.result if session.phase is Phase.DONE else None
        templates = getattr(result, "templates", None)
        if result is not self._result:
            self._take_result(result, templates)
        if self.view is None:
            self.model.set_groups([], 0)
            self.summary.setText("Templates appear once the analysis has finished."
                                 if result is None else "No templates for this analysis.")
            self._render_buttons()
            return
        review = session.review
        rows = review.store.rows if review is not None else None
        groups = self.view.groups(rows)
        total = sum(g.count for g in groups)
        wanted = self.class_filter.currentData()
        shown = [g for g in groups if not wanted or g.label == wanted]
        keys = self.selected_keys()
        current = self.current_group()
        self.model.set_groups(shown, total)
        self._reselect(keys, current.key if current is not None else None)
        n_templates = len(self.view.templates.templates)
        extra = [f"{len(self.view.moved)} taken out"] if self.view.moved else []
        self.summary.setText(f"{len(shown):,} of {len(groups):,} cards · {n_templates:,} "
                             f"templates of {total:,} beats" +
                             "".join(f" · {x}" for x in extra))
        self._render_buttons()

    def _take_result(self, result, templates) -> None:
        """A new analysis on screen: a fresh view of its templates."""
        self._result = result
        self.hint.setText("")
        if templates is None or result is None or not len(templates.templates):
            self.view = None
            self.delegate.set_signal(None, 1.0, 1.0)
            return
        record = result.record
        self.view = TemplateView(templates, result.beats.sample, record.fs)
        leads = list(getattr(result, "model_leads", None) or [0])
        lead = leads[0] if leads[0] < record.signals.shape[1] else 0
        self.delegate.set_signal(record.signals[:, lead], record.fs, _common_scale(templates))

    def _reselect(self, keys: list[str], current: str | None) -> None:
        selection = self.grid.selectionModel()
        flags = QItemSelectionModel.SelectionFlag
        for key in keys:
            row = self.model.row_of(key)
            if row is not None:
                selection.select(self.model.index(row), flags.Select)
        row = self.model.row_of(current) if current is not None else None
        if row is not None:
            selection.setCurrentIndex(self.model.index(row), flags.NoUpdate)

    def _render_buttons(self) -> None:
        editable = self.session.review is not None and self.view is not None
        for button in self.relabel_buttons.values():
            button.setEnabled(editable)
        self.learn_button.setEnabled(editable and self.suggestions.embedding is not None)
        for button in (self.prev_button, self.next_button, self.split_button,
                       self.take_out_button):
            button.setEnabled(self.view is not None)

    def selected_groups(self) -> list[TemplateGroup]:
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.model.groups[r] for r in rows]

    def selected_keys(self) -> list[str]:
        return [g.key for g in self.selected_groups()]

    def current_group(self) -> TemplateGroup | None:
        index = self.grid.currentIndex()
        return index.data(GroupRole) if index.isValid() else None

    # ============================================================= navigating
    def _on_card_clicked(self, index) -> None:
        if index.isValid():
            self.show_typical()

    def show_typical(self) -> None:
        group = self.current_group()
        if group is not None:
            self._go_to(group, group.typical_sample, "its most typical beat")

    def step(self, direction: int) -> None:
        """The current card's next (previous) beat in time after (before) the beat on
        the strip's cursor."""
        group = self.current_group()
        if group is None:
            self.hint.setText("Click a card first")
            return
        beats = self.session.beats
        here = (int(beats.sample[self.session.selected_beat])
                if self.session.selected_beat is not None else None)
        samples = group.samples
        if here is None:
            i = 0 if direction > 0 else len(samples) - 1
        else:
            i = int(np.searchsorted(samples, here, side="right" if direction > 0 else "left"))
            i = i if direction > 0 else i - 1
        if not 0 <= i < len(samples):
            self.hint.setText(f"No {'later' if direction > 0 else 'earlier'} beat in "
                              f"{group.name}")
            return
        self._go_to(group, int(samples[i]), f"beat {i + 1:,} of {len(samples):,}")

    def _go_to(self, group: TemplateGroup, sample: int, what: str) -> None:
        beats = self.session.beats
        if beats is None or not len(beats):
            return
        index = beats.nearest(sample / beats.fs)
        if index is None or int(beats.sample[index]) != sample:
            return
        self.session.select(index)  # the strip follows the selection
        self.hint.setText(f"{group.name}: {what}, at {format_clock(sample / beats.fs, 3)}"
                          " · ] / [: next / previous")

    # ================================================================ editing
    def relabel(self, cls: str) -> None:
        """The selected cards' beats as ``cls``: one undoable command."""
        review = self.session.review
        groups = self.selected_groups()
        if review is None or self.view is None:
            self.hint.setText("Relabelling needs the analysis finished and its review open")
            return
        if not groups:
            self.hint.setText("Select cards first (Ctrl/Shift+click for several)")
            return
        samples = relabel_samples(groups, review.store.rows)
        subject = describe_groups([g.name for g in groups])
        command = self._push(lambda: review.relabel(samples, cls, subject=subject))
        if command is not None:
            self.hint.setText(f"Relabelled {subject} ({len(command.samples):,} beats) as "
                              f"{cls} · Ctrl+Z undoes")
        elif command is None and not self.hint.text().startswith("The edit"):
            self.hint.setText(f"Nothing to change: {subject} is {cls} already")

    def delete(self) -> None:
        """The selected cards' beats are not beats (a template of artefacts: noise or
        flutter waves detected as beats): one undoable command."""
        review = self.session.review
        groups = self.selected_groups()
        if review is None or not groups:
            self.hint.setText("Select cards first (Ctrl/Shift+click for several)")
            return
        samples = np.concatenate([g.samples for g in groups])
        subject = describe_groups([g.name for g in groups])
        command = self._push(lambda: review.delete(samples, subject=subject))
        if command is not None:
            self.hint.setText(f"Deleted {subject} ({len(command.samples):,} beats) · "
                              "Ctrl+Z undoes")

    def _push(self, edit):
        try:
            return edit()
        except (sqlite3.Error, OSError) as err:
            self.hint.setText(f"The edit could not be saved ({err}); it was not applied")
        except (ValueError, KeyError) as err:
            self.hint.setText(str(err).strip("'\""))
        return None

    def split(self, parts: int) -> None:
        group = self.current_group()
        if group is None or self.view is None:
            self.hint.setText("Click the card to split first")
            return
        made = self.view.split(group.key, parts)
        self.hint.setText(f"{group.name} split into {made} groups (the view only)" if made > 1
                          else f"{group.name} has too few beats to split")
        self.rebuild()

    def merge(self, key: str) -> None:
        if self.view is not None and self.view.merge(key):
            self.rebuild()

    def take_out_selection(self) -> None:
        """The strip's selected beats out of their templates, each its own card."""
        if self.view is None:
            return
        samples = self.session.selected_samples()
        if not len(samples):
            self.hint.setText("Select the beat on the strip first")
            return
        n = self.view.remove_beats(samples)
        self.hint.setText(f"{n} beat{'s' * (n != 1)} taken out of {'their' if n != 1 else 'its'}"
                          " template (the view only)" if n else "Those beats are out already")
        self.rebuild()

    def put_back(self, key: str) -> None:
        if self.view is not None and self.view.put_back(key):
            self.rebuild()

    def _context_menu(self, where) -> None:
        index = self.grid.indexAt(where)
        if not index.isValid():
            return
        selection = self.grid.selectionModel()
        if not selection.isSelected(index):
            selection.select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        group: TemplateGroup = index.data(GroupRole)
        groups = self.selected_groups()
        menu = QMenu(self)
        menu.addAction("Show its most typical beat", self.show_typical)
        menu.addSeparator()
        what = describe_groups([g.name for g in groups])
        for cls in AAMI_CLASSES:
            action = menu.addAction(f"Relabel {what} as {cls} ({theme.CLASS_NAMES[cls]})",
                                    lambda c=cls: self.relabel(c))
            action.setEnabled(self.session.review is not None)
        action = menu.addAction(f"Delete {what}: not beats (artefacts)", self.delete)
        action.setEnabled(self.session.review is not None)
        menu.addSeparator()
        if not group.moved:
            for parts in SPLIT_PARTS:
                menu.addAction(f"Split {group.name} into {parts} groups",
                               lambda p=parts: self.split(p))
        if self.view is not None and self.view.is_split(group.key) and not group.moved:
            menu.addAction(f"Merge the parts of template {group.template_id}",
                           lambda k=group.key: self.merge(k))
        if group.moved:
            menu.addAction(f"Put back into template {group.template_id}",
                           lambda k=group.key: self.put_back(k))
        menu.popup(self.grid.viewport().mapToGlobal(where))
        self.last_menu = menu

    # ================================================= corrections that spread

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """The suggestions' pool thread is idle (tests, closing)."""
        return self.suggestions.wait(timeout_ms)


def _button(text: str) -> QToolButton:
    """A compact button: the tab shares the window's width with the strip, and
    push buttons' 80-px minimum made it wider than a 1,000-px window allows."""
    button = QToolButton()
    button.setText(text)
    return button

def _common_scale(templates) -> float:
    """The cards' shared half-height (mV): the tallest template median on the first
    lead, but no more than 2.5 times the typical one (one huge artefact template must
    not flatten the rest)."""
    peaks = []
    for t in templates.templates:
        wave = np.asarray(t.waveform[0], np.float32)
        base = np.median(wave[:max(1, len(wave) // 6)])
        peaks.append(float(np.abs(wave - base).max()))
    if not peaks:
        return 1.0
    typical = float(np.median(peaks))
    return max(min(max(peaks), 2.5 * typical), 0.2) * 1.15
