"""The Templates tab's view of a record's templates (Qt-free).

The analysis groups the beats into morphology templates
(:class:`~beatscope.segment.templates.TemplateSet`); the reviewer may then split a
template into 2-4 parts (k-means on the same embedding) or take single beats out of
one. Both are *view state*: they change what the cards show and what a card's
relabel applies to, never the review, so they need no undo and are not saved.

:meth:`TemplateView.groups` gives the groups as they stand, each with its live
members (deleted beats out) and the class mix of their *current* labels (the
review's), so a card follows the reviewer's edits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.aami import AAMI_CLASSES
from beatscope.display.clock import format_clock
from beatscope.review.store import SOURCES, BeatRows
from beatscope.segment.templates import BASELINE_SPAN_S, WAVE_AFTER_S, WAVE_BEFORE_S

#: Parts a template may be split into.
SPLIT_PARTS = (2, 3, 4)
#: Members a split fits k-means on (the rest are assigned to the nearest centre).
SPLIT_FIT_SAMPLE = 20_000
_RANK = {c: k for k, c in enumerate(AAMI_CLASSES)}


@dataclass(frozen=True)
class TemplateGroup:
    """One card: a template, a part of a split one, or a beat taken out of one."""

    key: str  # "7", "7b" (a part), "b1234" (a beat taken out: its beat index)
    template_id: int
    name: str  # "template 7", "template 7b", "beat at 00:01:02.345"
    beats: np.ndarray  # indices into the analysed beats, time order, live only
    samples: np.ndarray  # their R-peak samples, time order
    class_counts: dict[str, int]  # current labels (the review's), by class
    typical_sample: int  # the member most like the rest
    purity: float | None  # the template's (None for a part or a single beat)
    moved: bool = False
    model_label: str = ""  # the template's class when the analysis made it

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def label(self) -> str:
        """The class most of its beats carry now."""
        if not self.class_counts:
            return "Q"
        return max(self.class_counts, key=lambda c: (self.class_counts[c], -_RANK[c]))

    @property
    def is_split_part(self) -> bool:
        return not self.moved and self.key != str(self.template_id)


def split_members(embedding: np.ndarray, members: np.ndarray, parts: int,
                  seed: int = 0) -> list[np.ndarray]:
    """``members`` (beat indices) re-clustered into at most ``parts`` groups by k-means
    on their embedding, the largest first; fewer when there are too few beats."""
    from sklearn.cluster import KMeans

    members = np.asarray(members, np.int64)
    parts = int(np.clip(parts, 1, len(members)))
    if parts < 2:
        return [members]
    points = embedding[members]
    rng = np.random.default_rng(seed)
    fit = points if len(points) <= SPLIT_FIT_SAMPLE else points[
        rng.choice(len(points), SPLIT_FIT_SAMPLE, replace=False)]
    km = KMeans(n_clusters=parts, n_init=4, random_state=seed).fit(fit)
    which = km.predict(points)
    groups = [np.sort(members[which == k]) for k in range(parts)]
    groups = [g for g in groups if len(g)]
    return sorted(groups, key=len, reverse=True)


def split_template(template_set, template_id: int, parts: int,
                   seed: int = 0) -> list[np.ndarray]:
    """A template's members (beat indices) re-clustered into 2-4 groups."""
    return split_members(template_set.embedding, template_set.members(template_id),
                         parts, seed)


def describe_groups(names: list[str]) -> str:
    """The history's subject: "template 7", "templates 3, 7 and 9"."""
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    if all(n.startswith("template ") for n in names):
        ids = [n[len("template "):] for n in names]
        return f"templates {', '.join(ids[:-1])} and {ids[-1]}"
    return f"{', '.join(names[:-1])} and {names[-1]}"


def relabel_samples(groups: list[TemplateGroup], rows: BeatRows) -> np.ndarray:
    """What relabelling these groups changes: their members, less the beats the
    reviewer labelled one by one. The store does not say how a beat was labelled;
    a reviewer's label that differs from the one most of its group carries is
    taken as an individual correction (a template relabelled as a whole carries
    one label throughout), and is kept."""
    out = []
    label = rows.label
    for g in groups:
        at = np.searchsorted(rows.sample, g.samples)
        by_reviewer = rows.source[at] == SOURCES.index("reviewer")
        out.append(g.samples[~(by_reviewer & (label[at] != g.label))])
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)


def member_waveforms(signal: np.ndarray, fs: float, samples: np.ndarray,
                     points: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """The beats at ``samples`` on one lead, P to T (the templates' window), their
    PR-segment level subtracted: (t seconds (L,), waveforms (n, L)), about
    ``points`` samples each (a card is ~170 px wide)."""
    before, after = int(round(WAVE_BEFORE_S * fs)), int(round(WAVE_AFTER_S * fs))
    step = max(1, (before + after) // points)
    offsets = np.arange(-before, after, step)
    samples = np.asarray(samples, np.int64)
    n = len(signal)
    idx = np.clip(samples[:, None] + offsets[None, :], 0, max(n - 1, 0))
    waves = np.asarray(signal[idx], np.float32)
    lo, hi = (int(round(s * fs)) for s in BASELINE_SPAN_S)
    base_idx = np.clip(samples[:, None] + np.arange(-lo, -hi)[None, :], 0, max(n - 1, 0))
    waves -= np.median(signal[base_idx], axis=1)[:, None]
    return offsets / float(fs), waves


def spread_sample(samples: np.ndarray, at_most: int) -> np.ndarray:
    """At most ``at_most`` of ``samples``, spread evenly in time (a card's members)."""
    if len(samples) <= at_most:
        return samples
    return samples[np.linspace(0, len(samples) - 1, at_most).round().astype(np.int64)]


class TemplateView:
    """A record's templates as the reviewer has split them and taken beats out."""

    def __init__(self, templates, beat_sample: np.ndarray, fs: float):
        self.templates = templates
        self.beat_sample = np.asarray(beat_sample, np.int64)
        self.fs = float(fs)
        # members of every template at once: one stable sort, not a scan per template
        order = np.argsort(templates.beat_template, kind="stable")
        ids, starts = np.unique(templates.beat_template[order], return_index=True)
        bounds = [*starts[1:], len(order)]
        self._members = {int(i): order[s:e] for i, s, e in zip(ids, starts, bounds,
                                                                   strict=True)}
        self._class_of = {t.id: t.label for t in templates.templates}
        #: template id -> its parts (beat indices) once split
        self._parts: dict[int, list[np.ndarray]] = {}
        #: beats taken out of their template, each its own group (in the order taken)
        self._moved: list[int] = []

    # ---------------------------------------------------------------- state
    @property
    def moved(self) -> list[int]:
        return list(self._moved)

    def split(self, key: str, parts: int, seed: int = 0) -> int:
        """Split the group ``key`` (a template or one of its parts) into up to
        ``parts``; returns how many groups it became (1: too few beats)."""
        tid, part = self._parse(key)
        moved = np.asarray(self._moved, np.int64)
        current = self._parts.get(tid, [self._members.get(tid, np.zeros(0, np.int64))])
        whole = current[part] if part is not None else np.concatenate(current)
        members = np.setdiff1d(whole, moved)
        pieces = split_members(self.templates.embedding, members, parts, seed)
        if len(pieces) < 2:
            return 1
        if part is None:
            self._parts[tid] = pieces
        else:
            self._parts[tid] = [*current[:part], *pieces, *current[part + 1:]]
        return len(pieces)

    def merge(self, key: str) -> bool:
        """Join a split template's parts again; False when it was not split."""
        tid, _ = self._parse(key)
        return self._parts.pop(tid, None) is not None

    def is_split(self, key: str) -> bool:
        tid, _ = self._parse(key)
        return tid in self._parts

    def remove_beats(self, samples) -> int:
        """Take the beats at ``samples`` out of their templates (each becomes its own
        group); returns how many were taken out (inserted beats have no template)."""
        samples = np.atleast_1d(np.asarray(samples, np.int64))
        at = np.clip(np.searchsorted(self.beat_sample, samples), 0,
                     max(len(self.beat_sample) - 1, 0))
        found = at[(len(self.beat_sample) > 0) & (self.beat_sample[at] == samples)]
        added = [int(i) for i in found if int(i) not in self._moved]
        self._moved.extend(added)
        return len(added)

    def put_back(self, key: str) -> bool:
        """Return a beat taken out to its template."""
        if not key.startswith("b"):
            return False
        index = int(key[1:])
        if index in self._moved:
            self._moved.remove(index)
            return True
        return False

    def _parse(self, key: str) -> tuple[int, int | None]:
        if key.startswith("b"):
            index = int(key[1:])
            return int(self.templates.beat_template[index]), None
        if key[-1].isalpha():
            return int(key[:-1]), ord(key[-1]) - ord("a")
        return int(key), None

    # ---------------------------------------------------------------- groups
    def groups(self, rows: BeatRows | None = None) -> list[TemplateGroup]:
        """Every group as it stands, by class (N S V F Q) then size, largest first.
        ``rows`` (the review's) give the current labels and drop deleted beats;
        without them the model's labels at analysis time are used."""
        n = len(self.beat_sample)
        codes, live = self._codes(rows, n)
        moved = np.zeros(n, bool)
        moved[np.asarray(self._moved, np.int64)] = True
        out: list[TemplateGroup] = []
        for t in self.templates.templates:
            parts = self._parts.get(t.id)
            if parts is None:
                out.append(self._group(str(t.id), t.id, f"template {t.id}",
                                       self._members.get(t.id, np.zeros(0, np.int64)),
                                       live & ~moved, codes, t.typical_beat, t.purity))
                continue
            for k, part in enumerate(parts):
                key = f"{t.id}{chr(ord('a') + k)}"
                out.append(self._group(key, t.id, f"template {key}", part, live & ~moved,
                                       codes, None, None))
        for index in self._moved:
            at = format_clock(self.beat_sample[index] / self.fs, 3)
            out.append(self._group(f"b{index}", int(self.templates.beat_template[index]),
                                   f"beat at {at}", np.array([index]), live, codes, index,
                                   None, moved=True))
        out = [g for g in out if g.count]
        return sorted(out, key=lambda g: (_RANK.get(g.label, 9), -g.count))

    def _codes(self, rows: BeatRows | None, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Each analysed beat's current class (an AAMI index) and whether it is live."""
        if rows is None:
            labels = np.array([t.label for t in self.templates.templates])
            ids = np.array([t.id for t in self.templates.templates])
            lookup = np.zeros(ids.max() + 1 if len(ids) else 1, "<U1")
            lookup[ids] = labels
            current, live = lookup[self.templates.beat_template], np.ones(n, bool)
        else:
            at = np.clip(np.searchsorted(rows.sample, self.beat_sample), 0,
                         max(len(rows) - 1, 0))
            present = (len(rows) > 0) & (rows.sample[at] == self.beat_sample)
            current = rows.label[at]
            live = present & ~rows.deleted[at]
        codes = np.full(n, len(AAMI_CLASSES), np.int64)
        for k, c in enumerate(AAMI_CLASSES):
            codes[current == c] = k
        return codes, live

    def _group(self, key, tid, name, members, keep, codes, typical, purity,
               moved: bool = False) -> TemplateGroup:
        members = np.sort(members[keep[members]])
        counts = np.bincount(codes[members], minlength=len(AAMI_CLASSES) + 1)
        mix = {c: int(counts[k]) for k, c in enumerate(AAMI_CLASSES) if counts[k]}
        if typical is None or not np.isin(typical, members):  # taken out, deleted, split
            typical = self._closest_to_centre(members)
        return TemplateGroup(key, int(tid), name, members, self.beat_sample[members], mix,
                             int(self.beat_sample[typical]) if typical is not None else -1,
                             purity, moved, self._class_of.get(int(tid), ""))

    def _closest_to_centre(self, members: np.ndarray) -> int | None:
        if not len(members):
            return None
        points = self.templates.embedding[members]
        centre = points.mean(axis=0)
        return int(members[np.argmin(((points - centre) ** 2).sum(axis=1))])
