"""Rhythm findings: an episode timeline and a list with counts and burden.

Renders the ``rhythm`` object of an analysis (``episodes``, ``burden``,
``events``, ``record``); a click on an episode, in the list or on the
timeline, asks the window to show it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from beatscope.display import format_clock, format_duration
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


class RhythmPanel(QWidget):
    episode_activated = Signal(float, float)  # start_s, end_s

    def __init__(self, parent=None):
        super().__init__(parent)
        self.timeline = EpisodeTimeline()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Finding", "Episodes / time", "Burden"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 170)  # fits "00:00:23–00:00:42"
        self.tree.setColumnWidth(1, 90)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
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

    def set_rhythm(self, rhythm: dict | None, duration_s: float, pending: bool = False) -> None:
        self.tree.clear()
        self.episodes = list((rhythm or {}).get("episodes") or [])
        self.timeline.set_episodes(self.episodes, duration_s)
        if rhythm is None:
            self.summary.setText("Rhythm analysis running…" if pending else "No rhythm analysis.")
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
            top = QTreeWidgetItem([label, f"{len(idx)} · {format_duration(total)}",
                                   "" if share is None else f"{share:.1f} %"])
            top.setForeground(0, theme.rhythm_color(label))
            # Episode rows are made when the label is first expanded: a 24-h record
            # has thousands, and building them all at once stalled the window.
            top.setData(0, PENDING_ROLE, sorted(idx, key=lambda i: self.episodes[i]["start_s"]))
            top.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator
                                        if idx else
                                        QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicator)
            self.tree.addTopLevelItem(top)
        self.summary.setText(_events_text(rhythm.get("events") or {},
                                          rhythm.get("burden") or {}))

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


def _ectopy_line(name: str, family: dict, per_hour: float | None) -> str:
    beats = family.get("beats") or 0
    text = f"{name}: {beats:,} beats"
    if per_hour is not None:
        text += f" ({per_hour:.0f}/h)"
    parts = []
    for key, singular in (("couplets", "couplet"), ("triplets", "triplet"), ("runs", "run")):
        n = family.get(key) or 0
        parts.append(f"{n} {singular if n == 1 else key}")
    longest = family.get("longest_run_beats")
    if family.get("runs") and longest:
        parts[-1] += f" (longest {longest} beats)"
    return text + " · " + ", ".join(parts)


def _events_text(events: dict, burden: dict) -> str:
    """The ectopy, pause and burden summary under the list, one line per family."""
    lines = []
    per_hour = events.get("per_hour") or {}
    if events.get("ectopy_assessed"):
        for key, name, rate in (("ventricular", "Ventricular", "pvc"),
                                ("supraventricular", "Supraventricular", "pac")):
            family = events.get(key)
            if isinstance(family, dict):
                lines.append(_ectopy_line(name, family, per_hour.get(rate)))
    else:
        lines.append("Ectopy: not assessed (no beat classifier)")
    pauses = events.get("pauses") or {}
    if isinstance(pauses, dict):
        text = f"Pauses: {pauses.get('count') or 0}"
        if pauses.get("longest_s"):
            text += f" (longest {pauses['longest_s']:.1f} s)"
        lines.append(text)
    if isinstance(burden.get("af_percent"), int | float):
        text = f"AF burden {burden['af_percent']:.1f} %"
        if burden.get("analysable_s") is not None:
            text += f" of {format_duration(burden['analysable_s'])} analysable"
        if burden.get("unreadable_s"):
            text += f"; {format_duration(burden['unreadable_s'])} unreadable"
        lines.append(text)
    return "\n".join(lines)
