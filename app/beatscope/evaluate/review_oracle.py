"""A simulated reviewer who knows the reference labels: how many actions a review takes.

The reviewer corrects one record's analysed beats against its reference annotations.
At each step it takes the single action that fixes the most remaining errors
(errors: mislabelled beats, missed beats, false beats):

* relabel one **template** (all its beats the reviewer has not labelled one by one)
  to the majority reference class of its beats, or delete one (a template of
  artefacts: ventricular flutter waves or noise detected as beats);
* split one template into 2-4 (the Templates tab's Split: k-means on the embedding),
  taken when the best relabel of one of its parts, two actions in all, fixes more
  per action than any single action can;
* with ``spans``, relabel or delete the beats of one time span (the viewer's
  Ctrl+drag, then Alt+N/S/V/F/Q or Del: an AF episode's beats called S, a flutter
  episode's waves detected as beats), for templates and baseline alike;
* relabel one beat, insert one missed beat, delete one false beat (one error each);
* with propagation, **learn from my corrections** (``review.propagate``): the
  proposal is applied as one action when it fixes more than it breaks.

Agreement is ``correct / (reference beats + false beats not yet deleted)``, where a
detected beat is correct when it matches a reference beat (150 ms) and carries its
class, and an inserted beat is correct. The beat-by-beat baseline needs one action
per error.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

import numpy as np

from beatscope.aami import AAMI_CLASSES
from beatscope.review.propagate import BeatEmbedding, learn_from_corrections
from beatscope.review.store import SOURCES, BeatRows

LEVELS = (99.0, 99.5, 99.9)
CHECKPOINTS = (5, 10, 20, 50)
_CLASS = np.array(AAMI_CLASSES)


def level_key(level: float) -> str:
    """A level as the JSON keys spell it: "99", "99.5", "99.9" (not "99.0")."""
    return f"{level:g}"


@dataclass
class ReviewCase:
    """One record as the oracle sees it: the analysed beats, their reference class
    (index into AAMI_CLASSES; -1: a false detection), the reference beats missed."""

    sample: np.ndarray  # (n,) int64
    model_label: np.ndarray  # (n,) <U1
    reference: np.ndarray  # (n,) int8
    missed: int
    template: np.ndarray  # (n,) int template id per beat
    embedding: np.ndarray | None = None  # (n, d): needed for propagation


@dataclass
class ReviewOutcome:
    accuracy_before: float
    beats: int  # the agreement's denominator before review
    errors: int
    actions_to: dict[str, int | None]  # level -> actions (None: never reached)
    accuracy_after: dict[str, float]  # checkpoint -> agreement after that many actions
    beat_by_beat_to: dict[str, int]  # level -> single-fix actions needed
    actions: list[str] = field(default_factory=list)  # what was done, in order

    def figures(self) -> dict:
        """The per-record figures, as ``pooled_summary`` and the bench's JSON take them
        (everything but the actions)."""
        return {k: v for k, v in asdict(self).items() if k != "actions"}


class _State:
    def __init__(self, case: ReviewCase):
        self.case = case
        self.template = np.asarray(case.template, np.int64).copy()  # splits change it
        self._parts: dict[tuple[int, int], list[np.ndarray]] = {}
        self.label = case.model_label.astype("<U1").copy()
        self.source = np.zeros(len(case.sample), np.int8)  # SOURCES index
        self.by_hand = np.zeros(len(case.sample), bool)  # relabelled one by one
        self.deleted = np.zeros(len(case.sample), bool)
        self.missed = case.missed
        self.matched = case.reference >= 0
        self.ref_label = np.where(self.matched, _CLASS[np.maximum(case.reference, 0)], "")

    def wrong(self) -> np.ndarray:
        return self.matched & ~self.deleted & (self.label != self.ref_label)

    def errors(self) -> int:
        false_left = int((~self.matched & ~self.deleted).sum())
        deleted_real = int((self.matched & self.deleted).sum())  # missed again
        return int(self.wrong().sum()) + self.missed + false_left + deleted_real

    def denominator(self) -> int:
        false_left = int((~self.matched & ~self.deleted).sum())
        return int(self.matched.sum()) + self.case.missed + false_left

    def agreement(self) -> float:
        d = self.denominator()
        return 100.0 * (d - self.errors()) / d if d else 100.0

    # ------------------------------------------------------------- templates
    def best_template(self) -> tuple[int, int, str]:
        """(gain, template id, class) of the best template relabel."""
        eligible = self.matched & ~self.by_hand & ~self.deleted
        ids = self.template
        if not eligible.any():
            return 0, -1, ""
        n_t = int(ids.max()) + 1
        counts = np.zeros((n_t, len(AAMI_CLASSES)), np.int64)
        np.add.at(counts, (ids[eligible], self.case.reference[eligible]), 1)
        correct = np.zeros(n_t, np.int64)
        ok = eligible & (self.label == self.ref_label)
        np.add.at(correct, ids[ok], 1)
        gain = counts.max(axis=1) - correct
        t = int(np.argmax(gain))
        return int(gain[t]), t, str(AAMI_CLASSES[int(np.argmax(counts[t]))])

    def best_template_delete(self) -> tuple[int, int]:
        """(gain, template id) of the best template deletion: its false beats fixed,
        less its correct beats lost."""
        ids = self.template
        live = ~self.deleted & ~self.by_hand
        if not live.any():
            return 0, -1
        n_t = int(ids.max()) + 1
        false = np.bincount(ids[live & ~self.matched], minlength=n_t)
        correct = np.bincount(ids[live & self.matched & (self.label == self.ref_label)],
                              minlength=n_t)
        gain = false - correct
        t = int(np.argmax(gain))
        return int(gain[t]), t

    def delete_template(self, t: int) -> None:
        self.deleted[(self.template == t) & ~self.by_hand] = True

    def relabel_template(self, t: int, label: str) -> None:
        members = (self.template == t) & ~self.by_hand & ~self.deleted
        self.label[members] = label
        self.source[members] = SOURCES.index("reviewer")

    def _relabel_gain(self, members: np.ndarray) -> int:
        eligible = members[self.matched[members] & ~self.by_hand[members]
                           & ~self.deleted[members]]
        if not len(eligible):
            return 0
        counts = np.bincount(self.case.reference[eligible], minlength=len(AAMI_CLASSES))
        right = int((self.label[eligible] == self.ref_label[eligible]).sum())
        return int(counts.max()) - right

    def best_split(self) -> tuple[int, int, int]:
        """(gain of the best part's relabel, template id, parts) over every split of a
        template whose beats are of more than one reference class."""
        from beatscope.review.template_view import SPLIT_PARTS, split_members

        best = (0, -1, 0)
        if self.case.embedding is None:
            return best
        live = ~self.deleted
        for t in np.unique(self.template[live & self.matched]):
            members = np.flatnonzero((self.template == t) & live)
            known = self.case.reference[members][self.matched[members]]
            if len(members) < 4 or len(np.unique(known)) < 2:
                continue
            for parts in SPLIT_PARTS:
                key = (int(t), parts)
                if key not in self._parts:
                    self._parts[key] = split_members(self.case.embedding, members, parts)
                gain = max(self._relabel_gain(part) for part in self._parts[key])
                if gain > best[0]:
                    best = (gain, int(t), parts)
        return best

    def split(self, t: int, parts: int) -> None:
        groups = self._parts[(t, parts)]
        next_id = int(self.template.max()) + 1
        for k, members in enumerate(groups[1:]):
            self.template[members] = next_id + k
        self._parts = {key: v for key, v in self._parts.items() if key[0] != t}

    # ------------------------------------------------------------ time spans
    # The viewer's Ctrl+drag selects every beat in a span (zoomed out, an hour or
    # more), which Alt+N/S/V/F/Q relabels and Del deletes: one action each.
    @staticmethod
    def _best_run(score: np.ndarray) -> tuple[int, int, int]:
        """(sum, first, last) of the contiguous run with the largest sum (Kadane)."""
        best, best_a, best_b = 0, 0, -1
        run, run_a = 0, 0
        for j, v in enumerate(score.tolist()):
            if run <= 0:
                run, run_a = v, j
            else:
                run += v
            if run > best:
                best, best_a, best_b = run, run_a, j
        return int(best), best_a, best_b

    def best_span_relabel(self) -> tuple[int, int, int, str]:
        live = self.matched & ~self.deleted
        right = live & (self.label == self.ref_label)
        best = (0, 0, -1, "")
        for c in AAMI_CLASSES:
            score = ((live & (self.ref_label == c) & (self.label != c)).astype(np.int64)
                     - (right & (self.ref_label != c)))
            gain, a, b = self._best_run(score)
            if gain > best[0]:
                best = (gain, a, b, c)
        return best

    def relabel_span(self, a: int, b: int, label: str) -> None:
        span = np.zeros(len(self.label), bool)
        span[a:b + 1] = True
        span &= ~self.deleted
        self.label[span] = label
        self.source[span] = SOURCES.index("reviewer")

    def best_span_delete(self) -> tuple[int, int, int]:
        live = ~self.deleted
        score = ((live & ~self.matched).astype(np.int64)
                 - (live & self.matched & (self.label == self.ref_label)))
        return self._best_run(score)

    def delete_span(self, a: int, b: int) -> None:
        self.deleted[a:b + 1] = True

    # ------------------------------------------------------------ propagation
    def learn(self) -> tuple[int, dict[str, np.ndarray]]:
        """(errors fixed net, proposal rows by label) of learning from corrections."""
        rows = BeatRows.from_model(self.case.sample, self.case.model_label)
        reviewed = self.source == SOURCES.index("reviewer")
        rows.reviewer_label[reviewed] = self.label[reviewed]
        rows.reviewer_label[self.source == SOURCES.index("propagated")] = \
            self.label[self.source == SOURCES.index("propagated")]
        rows.source[:] = self.source
        rows.deleted[:] = self.deleted
        embedding = BeatEmbedding(self.case.sample, self.case.embedding)
        proposal = learn_from_corrections(embedding, rows)
        gain = 0
        by_row = {}
        for label, samples in proposal.by_label.items():
            idx = np.searchsorted(self.case.sample, samples)
            by_row[label] = idx
            m = self.matched[idx]
            gain += int((self.ref_label[idx][m] == label).sum()
                        - (self.ref_label[idx][m] == self.label[idx][m]).sum())
        return gain, by_row

    def apply_learned(self, by_row: dict[str, np.ndarray]) -> None:
        for label, idx in by_row.items():
            self.label[idx] = label
            self.source[idx] = SOURCES.index("propagated")

    # ------------------------------------------------------------ single fixes
    def fix_one(self) -> str:
        wrong = np.flatnonzero(self.wrong())
        if len(wrong):
            j = wrong[0]
            self.label[j] = self.ref_label[j]
            self.by_hand[j] = True
            self.source[j] = SOURCES.index("reviewer")
            return f"relabel beat {int(self.case.sample[j])} \u2192 {self.ref_label[j]}"
        lost = np.flatnonzero(self.matched & self.deleted)  # a template deletion's
        if len(lost):
            j = lost[0]
            self.deleted[j] = False
            self.label[j] = self.ref_label[j]
            self.by_hand[j] = True
            return f"restore beat {int(self.case.sample[j])} as {self.ref_label[j]}"
        if self.missed:
            self.missed -= 1
            return "insert a missed beat"
        false = np.flatnonzero(~self.matched & ~self.deleted)
        if len(false):
            self.deleted[false[0]] = True
            return f"delete beat {int(self.case.sample[false[0]])}"
        return ""


def beat_by_beat_actions(errors: int, denominator: int, level: float) -> int:
    """Single fixes (each one error) needed to reach ``level`` percent agreement."""
    allowed = int(np.floor((1.0 - level / 100.0) * denominator + 1e-9))
    return max(0, errors - allowed)


def simulate(case: ReviewCase, propagation: bool = False, spans: bool = False,
             max_actions: int = 100_000) -> ReviewOutcome:
    """Run the greedy oracle until 99.9 % agreement (or no error is left); ``spans``
    lets it relabel and delete time spans too (beyond the template actions)."""
    state = _State(case)
    before, errors0, denom0 = state.agreement(), state.errors(), state.denominator()
    reached: dict[str, int | None] = {level_key(level): None for level in LEVELS}
    after: dict[str, float] = {}
    actions: list[str] = []
    learned_from = -1  # reviewer labels seen by the last learn: learn again only on news

    def note_levels() -> None:
        now = state.agreement()
        for level in LEVELS:
            if reached[level_key(level)] is None and now >= level - 1e-9:
                reached[level_key(level)] = len(actions)
        if str(len(actions)) in {str(c) for c in CHECKPOINTS}:
            after[str(len(actions))] = round(now, 3)

    note_levels()
    while len(actions) < max_actions and state.errors() > 0 \
            and reached[level_key(LEVELS[-1])] is None:
        # (errors fixed, actions it takes, what to do, how): the best fix per action
        gain, t, label = state.best_template()
        delete_gain, delete_t = state.best_template_delete()
        candidates = [
            (gain, 1, f"relabel template {t} \u2192 {label} (+{gain})",
             lambda t=t, label=label: state.relabel_template(t, label)),
            (delete_gain, 1, f"delete template {delete_t} (+{delete_gain})",
             lambda t=delete_t: state.delete_template(t)),
        ]
        if spans:
            span_gain, a, b, span_label = state.best_span_relabel()
            candidates.append((span_gain, 1, f"relabel beats {a}-{b} \u2192 {span_label} "
                               f"(+{span_gain})",
                               lambda a=a, b=b, c=span_label: state.relabel_span(a, b, c)))
            cut_gain, a, b = state.best_span_delete()
            candidates.append((cut_gain, 1, f"delete beats {a}-{b} (+{cut_gain})",
                               lambda a=a, b=b: state.delete_span(a, b)))
        taught = int((state.source == SOURCES.index("reviewer")).sum())
        if propagation and case.embedding is not None and taught != learned_from:
            learned_from = taught
            learn_gain, by_row = state.learn()
            candidates.append((learn_gain, 1, f"learn from corrections (+{learn_gain})",
                               lambda by_row=by_row: state.apply_learned(by_row)))
        split_gain, split_t, parts = state.best_split()
        candidates.append((split_gain, 2, f"split template {split_t} into {parts} "
                           f"(part +{split_gain})",
                           lambda t=split_t, k=parts: state.split(t, k)))
        fixed, cost, text, do = max(candidates, key=lambda c: c[0] / c[1])
        if fixed / cost > 1:
            do()
            actions.append(text)
        else:  # nothing beats one error per action
            actions.append(state.fix_one())
        note_levels()
    final = state.agreement()
    for c in CHECKPOINTS:  # reached early: the agreement stays where it got
        after.setdefault(str(c), round(final, 3) if len(actions) < c else after.get(str(c)))
    return ReviewOutcome(
        accuracy_before=round(before, 3), beats=denom0, errors=errors0,
        actions_to=reached, accuracy_after=after,
        beat_by_beat_to={level_key(level): beat_by_beat_actions(errors0, denom0, level)
                         for level in LEVELS},
        actions=actions)


def pooled_summary(outcomes: dict[str, dict]) -> dict:
    """The records' outcomes (:meth:`ReviewOutcome.figures`, by record name) pooled
    in the shape ``bench/review_effort.py --json`` promises other tools:
    accuracies weighted by beats, in 0-100; the actions per level, median and total,
    None where a record never reaches the level; the beat-by-beat figures to 99.5 %."""
    rows = list(outcomes.values())
    beats = sum(r["beats"] for r in rows)

    def pooled_acc(values: list[float]) -> float:
        return round(sum(v * r["beats"] for v, r in zip(values, rows, strict=True)) / beats, 3)

    def median_or_none(level: str) -> float | None:
        values = [r["actions_to"][level] for r in rows]
        return None if any(v is None for v in values) else statistics.median(values)

    def total_or_none(level: str) -> int | None:
        values = [r["actions_to"][level] for r in rows]
        return None if any(v is None for v in values) else int(sum(values))

    return {
        "acc_before": pooled_acc([r["accuracy_before"] for r in rows]),
        "acc_after": {str(c): pooled_acc([r["accuracy_after"][str(c)] for r in rows])
                      for c in CHECKPOINTS},
        "median_actions_to": {level_key(lv): median_or_none(level_key(lv)) for lv in LEVELS},
        "total_actions_to": {level_key(lv): total_or_none(level_key(lv)) for lv in LEVELS},
        "median_beat_by_beat_actions": statistics.median(
            r["beat_by_beat_to"]["99.5"] for r in rows),
        "total_beat_by_beat_actions": int(sum(r["beat_by_beat_to"]["99.5"] for r in rows)),
        "worst_actions_to_99.5": max((r["actions_to"]["99.5"] or 0) for r in rows),
    }
