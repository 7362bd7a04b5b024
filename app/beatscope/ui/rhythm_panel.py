"""Rhythm findings: an episode timeline, a list with counts and burden, and a summary.

Renders the ``rhythm`` object of an analysis (``episodes``, ``burden``,
``events``, ``record``); a click on an episode, in the list or on the
timeline, asks the window to show it. Given the window's
:class:`~beatscope.display.ViewerSession`, the panel follows its findings itself.

The summary's counts differ from the class legend's on purpose, and each line
says what it counts: the rhythm rules read readable beats only (a beat found in
unreadable signal is dropped), an S beat inside AF is an irregularly conducted
AF beat rather than a premature atrial one, and pauses one beat apart make one
PAUSE episode (see :mod:`beatscope.rhythm.derive`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QStyle,
    QToolTip,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from beatscope.display import Phase, ViewerSession, format_clock, format_duration
from beatscope.rhythm.config import DEFAULT_CONFIG
from beatscope.rhythm.vocabulary import RHYTHM_DESCRIPTIONS
from beatscope.ui import theme
from beatscope.ui.strip.time_axis import TimeAxis

EPISODE_ROLE = Qt.ItemDataRole.UserRole + 1
PENDING_ROLE = Qt.ItemDataRole.UserRole + 2  # episode indices not yet made into rows


class EpisodeTimeline(pg.PlotWidget):
    """One row per rhythm label, a bar per episode."""

    clicked_at = Signal(float, int)  # time, row

    def __init__(self, parent=None):
        super().__init__(parent=parent, axisItems={"bottom": TimeAxis("bottom")},
                         background="#fafafa")
        plot = self.getPlotItem()
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.getAxis("left").setWidth(52)
        self.bars: list[pg.BarGraphItem] = []
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#0072B2", width=1))
        plot.addItem(self.cursor, ignoreBounds=True)
        self.labels: list[str] = []
        self.scene().sigMouseClicked.connect(self._on_click)
        self.setMinimumHeight(70)

    def set_episodes(self, episodes: list[dict], duration_s: float) -> None:
        """One bar item per label (a 24-h record has thousands of episodes; one item
        with a brush per bar costs pyqtgraph a Python loop per bar)."""
        self.labels = sorted({e["label"] for e in episodes})
        plot = self.getPlotItem()
        for item in self.bars:
            plot.removeItem(item)
        self.bars = []
        min_width = duration_s / 1500  # episodes shorter than a pixel stay visible
        for row, label in enumerate(self.labels):
            mine = [e for e in episodes if e["label"] == label]
            x0 = np.array([e["start_s"] for e in mine], float)
            x1 = np.maximum(np.array([e["end_s"] for e in mine], float), x0 + min_width)
            bars = pg.BarGraphItem(x0=x0, x1=x1, y0=np.full(len(mine), row - 0.35),
                                   y1=np.full(len(mine), row + 0.35),
                                   brush=pg.mkBrush(theme.rhythm_color(label)),
                                   pen=pg.mkPen(None))
            plot.addItem(bars)
            self.bars.append(bars)
        plot.getAxis("left").setTicks([[(i, lab) for i, lab in enumerate(self.labels)]])
        plot.setYRange(-0.6, max(0.6, len(self.labels) - 0.4), padding=0)
        plot.setXRange(0, max(duration_s, 1e-3), padding=0)

    def _on_click(self, ev) -> None:
        vb = self.getPlotItem().vb
        if ev.button() == Qt.MouseButton.LeftButton and vb.sceneBoundingRect().contains(
                ev.scenePos()):
            p = vb.mapSceneToView(ev.scenePos())
            self.clicked_at.emit(float(p.x()), int(round(p.y())))



COLUMNS = ("Finding", "Episodes / time", "Burden")
COLUMN_TIPS = (
    "Rhythm finding; expand it for its episodes",
    "Finding rows: number of episodes · their total time. Episode rows: duration",
    "Finding rows: share of the analysable (readable) time, NOISE of the whole record. "
    "Episode rows: confidence",
)


class FindingsTree(QTreeWidget):
    """The findings list. The short columns take the width of their contents and the
    finding column the rest, so nothing is cut at the window's 370-px tab; a cell
    cut short anyway (a narrower panel) shows its full text as a tooltip. Episode
    rows are made by the thousand, so they get no tooltips of their own."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderLabels(list(COLUMNS))
        for column, tip in enumerate(COLUMN_TIPS):
            self.headerItem().setToolTip(column, tip)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        # Episode rows sit two indents deep: 14 px (not 20) leaves "00:00:23–00:00:42"
        # room beside a "12,345 · 5 h 20 min" count at the window's 370-px tab.
        self.setIndentation(14)
        # A narrower panel scrolls sideways rather than squeeze the finding column to
        # nothing: it keeps the episode rows' indent (two) and as much again for text,
        # still less than the short columns' contents, which keep their own width.
        header.setMinimumSectionSize(4 * self.indentation())

    def is_cut_short(self, item: QTreeWidgetItem, column: int) -> bool:
        """Does the cell's text need more room than its column leaves it?"""
        index = self.indexFromItem(item, column)
        # the style's item text margin (QCommonStyle: focus-frame margin + 1, each side)
        margin = 2 * (self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin,
                                               None, self) + 1)
        return (self.fontMetrics().horizontalAdvance(item.text(column)) + margin
                > self.visualRect(index).width())

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            item = self.itemAt(event.pos())
            column = self.columnAt(event.pos().x())
            if item is not None and column >= 0 and not item.toolTip(column):
                if item.text(column) and self.is_cut_short(item, column):
                    QToolTip.showText(event.globalPos(), item.text(column), self.viewport())
                else:
                    QToolTip.hideText()
                return True
        return super().viewportEvent(event)


class SummaryLine(NamedTuple):
    text: str
    #: the tooltip: what the number counts, and why another count may differ
    meaning: str


class SummaryLines(QWidget):
    """The summary under the list: one word-wrapped label per line, so a line wraps
    at the panel's width instead of being cut, each with its meaning as tooltip."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 2, 4, 2)
        self._layout.setSpacing(2)
        self.labels: list[QLabel] = []

    def set_lines(self, lines: list[SummaryLine]) -> None:
        while len(self.labels) < len(lines):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            self._layout.addWidget(label)
            self.labels.append(label)
        for i, label in enumerate(self.labels):
            shown = i < len(lines)
            label.setText(lines[i].text if shown else "")
            label.setToolTip(lines[i].meaning if shown else "")
            label.setVisible(shown)

    def text(self) -> str:
        return "\n".join(label.text() for label in self.labels if not label.isHidden())


class RhythmPanel(QWidget):
    """The Rhythm tab. With a ``session`` it shows the session's findings as they
    change; without one, what :meth:`set_rhythm` is given."""

    episode_activated = Signal(float, float)  # start_s, end_s

    def __init__(self, session: ViewerSession | None = None, parent=None):
        super().__init__(parent)
        self.session = session
        self.timeline = EpisodeTimeline()
        self.tree = FindingsTree()
        self.summary = SummaryLines()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.timeline, 1)
        layout.addWidget(self.tree, 3)
        layout.addWidget(self.summary)
        self.episodes: list[dict] = []
        self.tree.itemExpanded.connect(self._fill)
        self.tree.itemClicked.connect(self._on_item)
        self.tree.itemActivated.connect(self._on_item)
        self.timeline.clicked_at.connect(self._on_timeline_click)
        self.set_rhythm(None, 0.0, pending=False)
        # The list is rebuilt one event-loop turn after the session changes: a 24-h
        # record has thousands of episodes, and the changes at the end of an analysis
        # (findings, then phase) come together and make one rebuild.
        self._render_timer = QTimer(self, singleShot=True, interval=0)
        self._render_timer.timeout.connect(self._show_session)
        if session is not None:
            session.events.rhythm_changed.connect(self._schedule_render)
            session.events.phase_changed.connect(self._schedule_render)

    def _schedule_render(self, *_args) -> None:
        self._render_timer.start()

    def _show_session(self) -> None:
        session = self.session
        if session is not None:
            self.set_rhythm(session.rhythm, session.duration_s,
                            pending=session.phase in (Phase.LOADING, Phase.ANALYSING))

    def set_rhythm(self, rhythm: dict | None, duration_s: float, pending: bool = False) -> None:
        self.tree.clear()
        self.episodes = list((rhythm or {}).get("episodes") or [])
        self.timeline.set_episodes(self.episodes, duration_s)
        if rhythm is None:
            self.summary.set_lines([SummaryLine(
                "Rhythm analysis running…" if pending else "No rhythm analysis.", "")])
            return
        by_label: dict[str, list[int]] = {}
        for i, e in enumerate(self.episodes):
            by_label.setdefault(e["label"], []).append(i)
        record_probs = rhythm.get("record") or {}
        burden = _burden_percent(rhythm.get("burden") or {})

        def longest(label: str) -> float:
            return max((self.episodes[i]["end_s"] - self.episodes[i]["start_s"]
                        for i in by_label.get(label, [])), default=0.0)

        present = {k for k, p in record_probs.items() if p >= 0.5}
        labels = sorted(set(by_label) | present, key=lambda lab: -longest(lab))
        for label in labels:
            idx = by_label.get(label, [])
            total = sum(self.episodes[i]["end_s"] - self.episodes[i]["start_s"] for i in idx)
            share = burden.get(label)
            if share is None and duration_s > 0:
                share = 100.0 * total / duration_s
            top = QTreeWidgetItem([label, f"{len(idx):,} · {format_duration(total)}",
                                   "" if share is None else f"{share:.1f} %"])
            top.setForeground(0, theme.rhythm_color(label))
            for column, tip in enumerate(_finding_tips(label, len(idx), total, share)):
                top.setToolTip(column, tip)
            # Episode rows are made when the label is first expanded: a 24-h record
            # has thousands, and building them all at once stalled the window.
            top.setData(0, PENDING_ROLE, sorted(idx, key=lambda i: self.episodes[i]["start_s"]))
            top.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator
                                        if idx else
                                        QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicator)
            self.tree.addTopLevelItem(top)
        self.summary.set_lines(summary_lines(rhythm.get("events") or {},
                                             rhythm.get("burden") or {},
                                             len(by_label.get("PAUSE", []))))

    def _fill(self, top: QTreeWidgetItem) -> None:
        """Create a label's episode rows (once)."""
        pending = top.data(0, PENDING_ROLE)
        if not pending:
            return
        top.setData(0, PENDING_ROLE, None)
        children = []
        for i in pending:
            e = self.episodes[i]
            child = QTreeWidgetItem([
                f"{format_clock(e['start_s'])}–{format_clock(e['end_s'])}",
                format_duration(e["end_s"] - e["start_s"]),
                f"conf {e.get('confidence', float('nan')):.2f}"])
            child.setData(0, EPISODE_ROLE, i)
            children.append(child)
        top.addChildren(children)

    def _on_item(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        i = item.data(0, EPISODE_ROLE)
        if i is None:  # a label row: its first episode
            self._fill(item)
            i = item.child(0).data(0, EPISODE_ROLE) if item.childCount() else None
        if i is not None:
            e = self.episodes[int(i)]
            self.episode_activated.emit(float(e["start_s"]), float(e["end_s"]))

    def _on_timeline_click(self, t: float, row: int) -> None:
        if not (0 <= row < len(self.timeline.labels)):
            return
        label = self.timeline.labels[row]
        hits = [e for e in self.episodes if e["label"] == label and e["start_s"] <= t <= e["end_s"]]
        if hits:
            self.episode_activated.emit(float(hits[0]["start_s"]), float(hits[0]["end_s"]))


def _burden_percent(burden: dict) -> dict[str, float]:
    """``{label: percent of the analysable time}`` from the rhythm's burden object."""
    labels = burden.get("labels") or {}
    return {label: float(v["percent"]) for label, v in labels.items()
            if isinstance(v, dict) and isinstance(v.get("percent"), int | float)}


def _finding_tips(label: str, episodes: int, total_s: float,
                  share: float | None) -> tuple[str, str, str]:
    """Tooltips of a finding row: its name, what its count counts, what its burden is of."""
    count = f"{episodes:,} episode{'' if episodes == 1 else 's'}, {format_duration(total_s)} in all"
    if label == "PAUSE":
        count += ("; pauses one beat apart make one episode, so the summary below, "
                  "which counts each pause, can say more")
    elif label in ("VT", "SVTAC"):
        count += f"; each a run of {DEFAULT_CONFIG.ectopy.run_min_beats} or more beats"
    if share is None:
        burden = ""
    elif label == "NOISE":
        burden = f"{share:.1f} % of the whole record"
    else:
        burden = f"{share:.1f} % of the analysable (readable) time"
    return f"{label}: {RHYTHM_DESCRIPTIONS.get(label, label)}", count, burden


def summary_lines(events: dict, burden: dict, pause_episodes: int) -> list[SummaryLine]:
    """The ectopy, pause and AF-burden lines under the list, each saying what it counts.

    The rhythm rules count readable beats only, take S beats inside AF for AF beats,
    and join back-to-back pauses into one episode: each line says which of these
    make its number differ from the class legend's or the list's.
    """
    unreadable_s = float(burden.get("unreadable_s") or 0.0)
    where = " in readable signal" if unreadable_s > 0 else ""
    dropped = (f"Beats inside the {format_duration(unreadable_s)} of unreadable signal are "
               "left out (an R peak found in noise is as likely an artefact as a beat). "
               if unreadable_s > 0 else "")
    lines = []
    per_hour = events.get("per_hour") or {}
    if events.get("ectopy_assessed"):
        ventricular = events.get("ventricular")
        if isinstance(ventricular, dict):
            lines.append(SummaryLine(
                _ectopy_text(f"Ventricular ectopic beats{where}", ventricular,
                             per_hour.get("pvc")),
                dropped + "The class legend counts every detected V beat. " + _RUNS_AND_RATES))
        supraventricular = events.get("supraventricular")
        if isinstance(supraventricular, dict):
            lines.append(SummaryLine(
                _ectopy_text(f"Supraventricular ectopic beats{where} outside AF",
                             supraventricular, per_hour.get("pac")),
                "Inside an AF episode an S beat is an irregularly conducted AF beat, not a "
                "premature atrial beat, so it is not counted here. " + dropped
                + "The class legend counts every detected S beat. " + _RUNS_AND_RATES))
    else:
        lines.append(SummaryLine("Ectopy: not assessed (no beat classifier)",
                                 "The beats were not classified: their ectopy is unknown, "
                                 "not zero."))
    pauses = events.get("pauses")
    if isinstance(pauses, dict):
        lines.append(_pause_line(pauses, pause_episodes, where))
    if isinstance(burden.get("af_percent"), int | float):
        text = f"AF burden {burden['af_percent']:.1f} %"
        if burden.get("analysable_s") is not None:
            text += f" of {format_duration(burden['analysable_s'])} analysable"
        if unreadable_s:
            text += f"; {format_duration(unreadable_s)} unreadable"
        lines.append(SummaryLine(text, "Time in AF episodes on readable signal, as a share "
                                       "of the analysable time (the record less its "
                                       "unreadable signal)."))
    return lines


_RUNS_AND_RATES = (f"A run is {DEFAULT_CONFIG.ectopy.run_min_beats} or more consecutive "
                   "beats, so triplets are counted among the runs too. Rates are per hour "
                   "of analysable (readable) signal.")


def _ectopy_text(name: str, family: dict, per_hour: float | None) -> str:
    beats = family.get("beats") or 0
    text = f"{name}: {beats:,}"
    if per_hour is not None:
        text += f" ({per_hour:,.0f}/h)"
    parts = []
    for key, singular in (("couplets", "couplet"), ("triplets", "triplet"), ("runs", "run")):
        n = family.get(key) or 0
        parts.append(f"{n:,} {singular if n == 1 else key}")
    parts[-1] += f" of ≥ {DEFAULT_CONFIG.ectopy.run_min_beats} beats"
    longest = family.get("longest_run_beats")
    if family.get("runs") and longest:
        parts[-1] += f" (longest {longest})"
    return text + " · " + ", ".join(parts)


def _pause_line(pauses: dict, episodes: int, where: str) -> SummaryLine:
    threshold = f"{DEFAULT_CONFIG.ectopy.pause_s:.1f} s"
    count = pauses.get("count") or 0
    text = f"Pauses > {threshold}{where}: {count:,}"
    if episodes and episodes != count:
        text += f" in {episodes:,} episode{'' if episodes == 1 else 's'}"
    if pauses.get("longest_s"):
        text += f" (longest {pauses['longest_s']:.1f} s)"
    meaning = f"RR intervals longer than {threshold}"
    if where:
        meaning += (", leaving out those that span unreadable signal (they measure the gap, "
                    "not the heart)")
    meaning += (". Pauses one beat apart make one PAUSE episode, so the PAUSE row of the "
                "list counts episodes, not pauses.")
    return SummaryLine(text, meaning)
