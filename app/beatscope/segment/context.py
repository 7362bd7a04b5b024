"""Patient context for the beat classifier: each beat beside the patient's usual beat nearby.

Morphology alone does not transfer between patients: a right bundle branch block
patient's normal beats look nothing like another patient's normal beats and are
easily taken for ventricular ones. What transfers is how a beat differs from the
same patient's dominant beat. :func:`with_local_template` appends, for every beat,
its difference from the **reference beat of its neighbourhood**.

The reference must be local in time: on a Holter the electrodes are re-attached,
the patient lies down, a pacemaker changes mode. A median over hours blends
several morphologies (48 MIT-BIH records joined into one 24-h record scored 63 %
against 96.6 % one by one with a median per 8,192 beats). So:

* **Anchors** every :data:`ANCHOR_STEP_S` seconds from the record's start; a beat
  takes the reference of its nearest anchor. Anchors sit on the time grid, not on
  beat indices, so a beat's reference depends only on the beats within
  :data:`HALF_WINDOW_S` of its anchor, never on how the record was cut into blocks:
  streamed and whole-record analysis give identical inputs.
* **Two half-windows** per anchor, the :data:`HALF_WINDOW_S` before it and after it,
  each summarised by the per-sample median of :data:`MEMBERS` of its **dominant
  beats**: those not premature (pre-RR at least :data:`PREMATURE_RATIO` of the
  half-window's upper-quartile RR), which leaves out premature ectopy, bigeminy's ectopic
  half included. Where the two halves' medians agree (correlation
  :data:`HALVES_AGREE`), the reference is their mean; where they do not, the
  morphology changed inside the window, and the reference is the half whose median
  is closer to the median of the :data:`NEAR` dominant beats nearest the anchor:
  the side of the change the anchor is on. (Choosing the more homogeneous half
  failed: a noisy patient's own half lost to a clean neighbour's.) A sudden change
  is thus followed within half an anchor step. Those near beats are dominant by the
  rhythm within :data:`NEAR_RHYTHM_S` of the anchor, not by the whole window's: where
  the rate changes with the morphology (another patient in a joined record, electrodes
  moved during exercise), the window's upper-quartile RR is the slower side's, every
  beat of the faster side looked premature, and the near beats all came from the
  slower side.
* **A half that holds a change of its own** (its first and last :data:`MEMBERS` // 2
  members' medians disagree too) is replaced by its part nearer the anchor, before the
  two halves are compared. Without it, a stretch of a third morphology shorter than
  a half-window (207's SVT, the 51 s that end the record, with 208 after it in a
  joined record) took a reference blended from its neighbours: a 48-s stretch between
  two others took its own in 10 of 60 beats, now in all 60 (``tests/test_context.py``).
* Half-windows start on the anchor grid, so one anchor's right half is a later
  anchor's left half: each is computed once (24 h: about 8,600 medians of 24 beats).

Training and inference both call :func:`with_local_template` on the engine's own
beat windows; the RR feature ``context_median_rr_s`` uses the same windows
(:func:`context_median_rr`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

#: Spacing of the anchors (s): a beat's reference comes from at most half of this away.
ANCHOR_STEP_S = 10.0
#: Each half-window's length (s): long enough that a run of ectopy or a noisy stretch
#: stays a minority, short enough to follow the patient through the day.
HALF_WINDOW_S = 90.0
#: Dominant beats summarised per half-window (evenly spread over it); even, so the
#: median is the mean of the two middle values.
MEMBERS = 24
#: A beat whose pre-RR is below this share of its half-window's typical RR is premature.
PREMATURE_RATIO = 0.85
#: The typical RR is this percentile of the half-window's RRs, not their median: in
#: bigeminy half the intervals are premature and the median may be one of them.
SINUS_PERCENTILE = 75
#: Fewer dominant beats than this in a half-window: all its beats are used.
MIN_DOMINANT = 4
#: Dominant beats nearest each anchor that tell which side of a change it is on.
NEAR = 8
#: The near beats are dominant by the RR within this many seconds of the anchor.
NEAR_RHYTHM_S = 10.0
#: Correlation above which the two half-window medians describe one morphology.
HALVES_AGREE = 0.95
#: Segments whose median is computed at once (memory: SEGMENT_CHUNK x MEMBERS windows).
SEGMENT_CHUNK = 128
#: Recorded in weight manifests and in the beat cache key: a weight set trained on
#: another definition of the context must not be fed this one.
CONTEXT_VERSION = "local-template/4"
#: Earlier definitions whose networks may be fed this one, and why; each differs only
#: at anchors whose two half-windows disagree (a change of morphology), and with the
#: earlier networks the DS1 cross-validation did not fall (docs/VALIDATION.md
#: section 7). /1 judged the near beats premature against the whole window's RR
#: instead of the NEAR_RHYTHM_S around the anchor (94.97 / 58.88 / 78.30 -> 94.99 /
#: 58.93 / 78.43; DS2 93.15 / 57.86 / 80.79 -> 93.15 / 58.02 / 80.82). /2 gave all of
#: an anchor's beats one side of the change, also those past it
#: (:func:`_switch_among_own`; 95.06 / 60.06 / 78.58 -> 95.06 / 59.97 / 78.55, with
#: the prematurity rule's run-end test). /3 compared whole halves only
#: (:func:`_segment_parts`; 95.75 / 70.91 / 82.59 -> 95.79 / 70.99 / 82.78, with the
#: rule of session 13). Networks retrained on /4 itself scored lower on DS1-CV (95.30 /
#: 71.90 / 80.67, one seed), so the shipped sets are still the /1-trained ones.
CONTEXT_COMPATIBLE = ("local-template/1", "local-template/2", "local-template/3")


def context_description() -> dict:
    """The definition of the context inputs, for weight manifests."""
    return {"version": CONTEXT_VERSION, "anchor_step_s": ANCHOR_STEP_S,
            "half_window_s": HALF_WINDOW_S, "members": MEMBERS,
            "premature_ratio": PREMATURE_RATIO, "sinus_percentile": SINUS_PERCENTILE,
            "halves_agree": HALVES_AGREE, "near": NEAR}


@dataclass(frozen=True)
class ContextPlan:
    """Which beats make each beat's reference, from the R peaks alone.

    The half-windows are shared: anchor ``a``'s right half is the segment starting at
    it, its left half the segment starting :data:`HALF_WINDOW_S` earlier, which is
    also an earlier anchor's right half. So each segment's median is computed once.
    ``segment_members`` holds (MEMBERS,) beat indices per segment (-1: no beat);
    ``left``/``right`` index its rows per anchor; ``near`` holds each anchor's
    (NEAR,) dominant beats nearest to it; ``median_rr_s`` is the median pre-RR
    of all beats in the anchor's window, which spans beats ``window_lo..window_hi-1``.
    """

    anchor_of_beat: np.ndarray  # (n_beats,) int64
    segment_members: np.ndarray  # (n_segments, MEMBERS) int64
    left: np.ndarray  # (n_anchors,) int64 rows of segment_members
    right: np.ndarray  # (n_anchors,) int64
    near: np.ndarray  # (n_anchors, NEAR) int64
    median_rr_s: np.ndarray  # (n_anchors,) float64
    window_lo: np.ndarray  # (n_anchors,) int64, rising with the anchor
    window_hi: np.ndarray  # (n_anchors,) int64, rising with the anchor
    #: per beat: not premature against the rhythm around its anchor (the near beats'
    #: test), the beats that can show where a change falls among an anchor's own
    dominant: np.ndarray  # (n_beats,) bool

    def __len__(self) -> int:
        return len(self.anchor_of_beat)

    def member_span(self, first: int, end: int) -> tuple[int, int]:
        """``[lo, hi)``: the beats whose windows the references of beats
        ``first..end-1`` are made of (their own range included)."""
        if end <= first:
            return first, first
        # anchors and their windows rise with the beats: the first and last bound it
        a0, a1 = int(self.anchor_of_beat[first]), int(self.anchor_of_beat[end - 1])
        return (min(first, int(self.window_lo[a0])), max(end, int(self.window_hi[a1])))


def _pre_rr_s(r: np.ndarray, fs: float) -> np.ndarray:
    if len(r) < 2:
        return np.full(len(r), 0.8)
    rr = np.maximum(np.diff(r), 1) / fs
    return np.concatenate([rr[:1], rr])


def _typical_rr(rr: np.ndarray) -> float:
    """The SINUS_PERCENTILE-th RR (nearest rank; np.percentile is 10x slower here)."""
    k = int(round(SINUS_PERCENTILE / 100 * (len(rr) - 1)))
    return float(np.partition(rr, k)[k])


def _spread(indices: np.ndarray) -> np.ndarray:
    """MEMBERS indices evenly spread over ``indices`` (repeating when fewer)."""
    if len(indices) == 0:
        return np.full(MEMBERS, -1, np.int64)
    pick = np.linspace(0, len(indices) - 1, MEMBERS).round().astype(np.int64)
    return indices[pick]


def context_plan(r_peaks: np.ndarray, fs: float) -> ContextPlan:
    """The plan of references for beats at ``r_peaks`` (samples at ``fs``, sorted)."""
    r = np.asarray(r_peaks, dtype=np.int64)
    t = r / float(fs)
    pre = _pre_rr_s(r, float(fs))
    anchors, anchor_of_beat = np.unique(np.rint(t / ANCHOR_STEP_S).astype(np.int64),
                                        return_inverse=True)
    shift = int(round(HALF_WINDOW_S / ANCHOR_STEP_S))
    segments = np.unique(np.concatenate([anchors - shift, anchors]))
    seg_start = segments * ANCHOR_STEP_S
    seg_lo = np.searchsorted(t, seg_start, side="left")
    seg_hi = np.searchsorted(t, seg_start + HALF_WINDOW_S, side="left")
    members = np.full((len(segments), MEMBERS), -1, np.int64)
    for k in range(len(segments)):
        b0, b1 = seg_lo[k], seg_hi[k]
        if b1 <= b0:
            continue
        beats = np.arange(b0, b1)
        dominant = beats[pre[b0:b1] >= PREMATURE_RATIO * _typical_rr(pre[b0:b1])]
        members[k] = _spread(dominant if len(dominant) >= MIN_DOMINANT else beats)
    left = np.searchsorted(segments, anchors - shift)
    right = np.searchsorted(segments, anchors)
    window_lo, window_hi = seg_lo[left], seg_hi[right]
    median_rr = np.full(len(anchors), 0.8)
    near = np.empty((len(anchors), NEAR), np.int64)
    own_dominant = np.zeros(len(r), bool)
    anchor_t = anchors * ANCHOR_STEP_S
    # the near beats are premature against the rhythm around the anchor, not the whole
    # window's: at an abrupt rate change the faster side's beats are not ectopic
    rhythm_lo = np.searchsorted(t, anchor_t - NEAR_RHYTHM_S)
    rhythm_hi = np.searchsorted(t, anchor_t + NEAR_RHYTHM_S)
    own_lo = np.searchsorted(anchor_of_beat, np.arange(len(anchors)), side="left")
    own_hi = np.searchsorted(anchor_of_beat, np.arange(len(anchors)), side="right")
    for a, (b0, b1) in enumerate(zip(window_lo, window_hi, strict=True)):
        # every anchor's window holds a beat: the beats nearest it chose it
        median_rr[a] = np.median(pre[b0:b1])
        beats = np.arange(b0, b1)
        c0, c1 = rhythm_lo[a], rhythm_hi[a]
        rhythm = pre[c0:c1] if c1 - c0 >= MIN_DOMINANT else pre[b0:b1]
        typical = _typical_rr(rhythm)
        dominant = pre[b0:b1] >= PREMATURE_RATIO * typical
        own = slice(own_lo[a], own_hi[a])  # the anchor's own beats
        own_dominant[own] = pre[own] >= PREMATURE_RATIO * typical
        pool = beats[dominant] if dominant.sum() >= MIN_DOMINANT else beats
        closest = pool[np.argsort(np.abs(t[pool] - anchor_t[a]), kind="stable")[:NEAR]]
        near[a] = np.sort(closest)[np.linspace(0, len(closest) - 1, NEAR).round().astype(int)]
    return ContextPlan(anchor_of_beat.astype(np.int64), members, left, right, near, median_rr,
                       window_lo.astype(np.int64), window_hi.astype(np.int64), own_dominant)


def context_median_rr(r_peaks: np.ndarray, fs: float) -> np.ndarray:
    """Per beat, the median RR (s) of the beats around it (its anchor's window)."""
    plan = context_plan(r_peaks, fs)
    return plan.median_rr_s[plan.anchor_of_beat]


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation over the last axis (broadcast), 0 where either is flat."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    return np.where(den > 0, (a * b).sum(axis=-1) / np.maximum(den, 1e-12), 0.0)


def _medians(windows: np.ndarray, members: np.ndarray, offset: int) -> np.ndarray:
    """Per row of ``members`` (an even count of beat indices; -1: none), the median
    beat of those beats, (rows, leads, L); zeros for a row with no beat. In chunks of
    :data:`SEGMENT_CHUNK` rows, which bound the gathered windows' memory."""
    out = np.empty((len(members), *windows.shape[1:]), np.float32)
    for c in range(0, len(members), SEGMENT_CHUNK):
        out[c:c + SEGMENT_CHUNK] = _medians_of_chunk(windows, members[c:c + SEGMENT_CHUNK],
                                                     offset)
    return out


def _medians_of_chunk(windows: np.ndarray, members: np.ndarray, offset: int) -> np.ndarray:
    """:func:`_medians` for rows gathered at once."""
    present = members[:, 0] >= 0
    idx = np.where(present[:, None], members - offset, 0)
    k = members.shape[1]
    stack = windows[idx].reshape(len(members), k, -1)  # (rows, k, leads * L)
    # partition along a contiguous last axis: 2-3x faster than np.median(axis=1)
    by_sample = np.ascontiguousarray(stack.transpose(0, 2, 1))
    part = np.partition(by_sample, [k // 2 - 1, k // 2], axis=-1)
    med = 0.5 * (part[..., k // 2 - 1] + part[..., k // 2])
    med[~present] = 0.0
    return med.reshape(len(members), *windows.shape[1:])


def anchor_references(windows: np.ndarray, offset: int, plan: ContextPlan,
                      anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(before, after, switch)``: per anchor, the reference beat (leads, L) of its
    beats before beat ``switch`` and of those from it on. They differ only where the
    anchor's own beats show where a change falls (:func:`_switch_among_own`);
    elsewhere ``switch`` is past every beat. ``windows[j]`` is beat ``offset + j``
    and must cover every member of ``anchors`` (:meth:`ContextPlan.member_span`)."""
    w = np.asarray(windows, dtype=np.float32)
    segments, row = np.unique(np.concatenate([plan.left[anchors], plan.right[anchors]]),
                              return_inverse=True)
    med = _medians(w, plan.segment_members[segments], offset)
    n = len(anchors)
    li, ri = row[:n], row[n:]
    left, right = med[li], med[ri]
    has_left = plan.segment_members[segments[li], 0] >= 0
    has_right = plan.segment_members[segments[ri], 0] >= 0
    flat_left, flat_right = left.reshape(n, -1), right.reshape(n, -1)
    agree = has_left & has_right & (_correlation(flat_left, flat_right) >= HALVES_AGREE)
    disagree = np.flatnonzero(has_left & has_right & ~agree)
    if len(disagree):
        # a half holding a change of its own is replaced by its part nearer the anchor
        # (each segment's parts once: it is one anchor's right half and another's left)
        used = np.unique(np.concatenate([li[disagree], ri[disagree]]))
        first, last, mixed = _segment_parts(w, offset, plan.segment_members[segments[used]])
        at_left = np.searchsorted(used, li[disagree])
        at_right = np.searchsorted(used, ri[disagree])
        left, right = left.copy(), right.copy()
        left[disagree[mixed[at_left]]] = last[at_left[mixed[at_left]]]
        right[disagree[mixed[at_right]]] = first[at_right[mixed[at_right]]]
        flat_left, flat_right = left.reshape(n, -1), right.reshape(n, -1)
        agree[disagree] = (_correlation(flat_left[disagree], flat_right[disagree])
                           >= HALVES_AGREE)
    take_left = ~has_right
    split = has_left & has_right & ~agree  # a change inside the window: which side?
    switch = np.full(n, -1, np.int64)  # -1: one reference for all the anchor's beats
    if split.any():
        near = _medians(w, plan.near[anchors[split]], offset).reshape(int(split.sum()), -1)
        take_left[split] = (_correlation(flat_left[split], near)
                            >= _correlation(flat_right[split], near))
        switch[split] = _switch_among_own(w, offset, plan, anchors[split],
                                          flat_left[split], flat_right[split])
    ref = np.where(take_left[:, None, None], left, right)
    ref = np.where(agree[:, None, None], 0.5 * (left + right), ref).astype(np.float32)
    stepped = switch >= 0
    switch[~stepped] = np.iinfo(np.int64).max
    after = np.where(stepped[:, None, None], right, ref).astype(np.float32)
    before = np.where(stepped[:, None, None], left, ref).astype(np.float32)
    return before, after, switch


def _segment_parts(windows: np.ndarray, offset: int, members: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``members`` (a half-window's MEMBERS beats, in time order): the
    median beat of its first MEMBERS // 2 and of its last, and whether they disagree
    (the half holds a change of its own; the part nearer an anchor then stands for
    it)."""
    k = MEMBERS // 2
    first = _medians(windows, members[:, :k], offset)
    last = _medians(windows, members[:, k:], offset)
    n = len(members)
    mixed = _correlation(first.reshape(n, -1), last.reshape(n, -1)) < HALVES_AGREE
    return first, last, mixed


def _switch_among_own(windows: np.ndarray, offset: int, plan: ContextPlan,
                      anchors: np.ndarray, left: np.ndarray, right: np.ndarray
                      ) -> np.ndarray:
    """Per anchor whose halves disagree, where the change falls among its own beats:
    its own dominant beats in time order are the left half's morphology and then the
    right half's (either part may be empty), every one of them. Returns the first
    right one (beats from it on take the right half; past every beat: none does),
    or -1 where the beats do not show it, and the anchor's beats all take the side
    it was judged on. Without this, the beats on the far side of a change from their
    anchor (up to half an anchor step of them) took the other side's reference."""
    switch = np.full(len(anchors), -1, np.int64)
    for j, a in enumerate(anchors):
        lo = int(np.searchsorted(plan.anchor_of_beat, a, side="left"))
        hi = int(np.searchsorted(plan.anchor_of_beat, a, side="right"))
        beats = lo + np.flatnonzero(plan.dominant[lo:hi])
        if len(beats) < 2:
            continue
        flat = windows[beats - offset].reshape(len(beats), -1)
        is_right = _correlation(flat, right[j]) > _correlation(flat, left[j])
        if not is_right.any():
            switch[j] = np.iinfo(np.int64).max
        elif is_right[int(np.argmax(is_right)):].all():
            switch[j] = beats[int(np.argmax(is_right))]
    return switch


def with_local_template(windows: np.ndarray, plan: ContextPlan, first: int = 0,
                        end: int | None = None, offset: int = 0) -> np.ndarray:
    """Beats ``first..end-1`` as (m, 2 * leads, L): the beats, then beat - reference.

    ``windows[j]`` is beat ``offset + j``; it must span
    ``plan.member_span(first, end)``. With the defaults, ``windows`` are all the
    record's beats and all of them are returned."""
    w = np.asarray(windows, dtype=np.float32)
    end = offset + len(w) if end is None else end
    own = w[first - offset:end - offset]
    if end <= first:
        return np.zeros((0, 2 * w.shape[1], w.shape[2]), np.float32)
    anchor = plan.anchor_of_beat[first:end]
    used, inverse = np.unique(anchor, return_inverse=True)
    before, after, switch = anchor_references(w, offset, plan, used)
    late = np.arange(first, end) >= switch[inverse]
    refs = np.where(late[:, None, None], after[inverse], before[inverse])
    return np.concatenate([own, own - refs], axis=1)


def reference_similarity(inputs: np.ndarray) -> np.ndarray:
    """Per beat of :func:`with_local_template`'s output (m, 2 * leads, L): the
    correlation of the beat with its reference, over all leads' samples."""
    x = np.asarray(inputs, dtype=np.float32)
    leads = x.shape[1] // 2
    own = x[:, :leads].reshape(len(x), -1)
    return _correlation(own, own - x[:, leads:].reshape(len(x), -1)).astype(np.float32)


#: The QRS span that :func:`qrs_similarity` compares: this many ms each side of the R
#: mark (a QRS lasts 80-120 ms; a wide one up to 200).
QRS_HALF_MS = 100.0
#: ... at the best of the shifts up to this many ms either way: where a QRS's R and S
#: waves are about as large, the detector's mark jumps between them from beat to beat.
QRS_MAX_SHIFT_MS = 40.0


def qrs_similarity(inputs: np.ndarray) -> np.ndarray:
    """Per beat of :func:`with_local_template`'s output (m, 2 * leads, L): the
    correlation of the beat's QRS with its reference's, over all leads, at the shift
    of the beat (up to :data:`QRS_MAX_SHIFT_MS`) where they match best.

    :func:`reference_similarity` compares whole windows at the R marks: the P and T
    waves and the neighbouring beats count, and a mark that sits on the S wave in
    this beat and on the R wave in the reference makes one beat read as another (a
    normal beat of a CinC 2017 recording whose marks jump correlated -0.4 with its
    reference, and was called V). The QRS, best aligned, is what tells a ventricular
    beat from the patient's own: none of DS1's PVCs that the networks call V reach
    0.9, and many of the normal beats they call V do (docs/VALIDATION.md 9e)."""
    from beatscope.segment.beats import FS, R_INDEX

    x = np.asarray(inputs, dtype=np.float32)
    n, leads = len(x), x.shape[1] // 2
    half = int(round(QRS_HALF_MS * FS / 1000))
    shift = int(round(QRS_MAX_SHIFT_MS * FS / 1000))
    if n == 0:
        return np.zeros(0, np.float32)
    ref = (x[:, :leads] - x[:, leads:])[:, :, R_INDEX - half:R_INDEX + half].reshape(n, -1)
    ref = ref - ref.mean(axis=1, keepdims=True)
    ref_norm = np.sqrt((ref * ref).sum(axis=1))
    # the beat's QRS span at every shift (a view): (n, leads, shifts, 2 * half)
    span = x[:, :leads, R_INDEX - half - shift:R_INDEX + half + shift]
    shifted = np.lib.stride_tricks.sliding_window_view(span, 2 * half, axis=2)
    # Pearson per shift: the reference is centred, so the dot product needs no centring
    dot = np.einsum("nlsk,nlk->ns", shifted, ref.reshape(n, leads, 2 * half))
    # each shifted span's sum and sum of squares from running sums, without copies
    edge = np.zeros((n, leads, 1), np.float64)
    run = np.concatenate([edge, np.cumsum(span, axis=2, dtype=np.float64)], axis=2)
    run2 = np.concatenate([edge, np.cumsum(np.square(span, dtype=np.float64), axis=2)], axis=2)
    total = (run[:, :, 2 * half:] - run[:, :, :-2 * half]).sum(axis=1)
    square = (run2[:, :, 2 * half:] - run2[:, :, :-2 * half]).sum(axis=1)
    own_norm = np.sqrt(np.maximum(square - total * total / (leads * 2 * half), 0.0))
    den = own_norm * ref_norm[:, None]
    corr = np.where(den > 0, dot / np.maximum(den, 1e-12), 0.0)
    return corr.max(axis=1).astype(np.float32)


def reference_change(inputs: np.ndarray, previous: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray | None]:
    """Per beat of :func:`with_local_template`'s output (m, 2 * leads, L): the
    correlation of its reference with the beat before's, where a sudden change of
    the dominant morphology shows (1 for a first beat with no ``previous``); and the
    last beat's reference, the ``previous`` of the next block. Blocks give what the
    whole record gives."""
    x = np.asarray(inputs, dtype=np.float32)
    leads = x.shape[1] // 2
    refs = (x[:, :leads] - x[:, leads:]).reshape(len(x), -1)
    if len(refs) == 0:
        return np.zeros(0, np.float32), previous
    before = refs[:-1] if previous is None else np.concatenate([previous[None], refs[:-1]])
    change = _correlation(refs[len(refs) - len(before):], before).astype(np.float32)
    if previous is None:
        change = np.concatenate([np.ones(1, np.float32), change])
    return change, refs[-1].copy()


def iter_with_local_template(blocks: Iterable[np.ndarray], plan: ContextPlan
                             ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Streamed :func:`with_local_template`: consumes consecutive window blocks and
    yields ``(first, block, inputs)`` per block, as soon as the blocks that follow
    cover its references (a few minutes of beats). Same inputs as the whole record."""
    source = iter(blocks)
    pending: list[np.ndarray] = []  # blocks not yet yielded, oldest first
    buffer = np.zeros((0,), np.float32)  # windows of beats buf0.. (kept for references)
    buf0 = first = 0
    exhausted = False
    while True:
        while not exhausted:
            # enough lookahead for the oldest pending block?
            if pending:
                end = first + len(pending[0])
                if plan.member_span(first, end)[1] <= buf0 + len(buffer):
                    break
            try:
                block = next(source)
            except StopIteration:
                exhausted = True
                break
            block = np.asarray(block, dtype=np.float32)
            pending.append(block)
            buffer = block if len(buffer) == 0 else np.concatenate([buffer, block])
        if not pending:
            return
        block = pending.pop(0)
        end = first + len(block)
        yield first, block, with_local_template(buffer, plan, first, end, offset=buf0)
        first = end
        if first < len(plan):
            keep_from = plan.member_span(first, first + 1)[0]
            buffer, buf0 = buffer[keep_from - buf0:], keep_from
