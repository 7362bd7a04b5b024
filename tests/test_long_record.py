"""Long recordings: a beat's label depends on its neighbourhood, not on beats far away,
nor on how the engine cut the record into blocks. Uses the shipped weights and excerpts
(issue: 48 MIT-BIH records joined into 24 h scored 63 % against 96.6 % one by one)."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from beatscope.analysis import AnalysisOptions, analyze
from beatscope.analysis import pipeline as pipeline_module
from beatscope.analysis import prematurity as prematurity_module
from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
from beatscope.dsp.filters import baseline_decimation
from beatscope.dsp.wavelet import SIGMA_BLOCK_S, SIGMA_NEIGHBOURS, sigma_block_samples
from beatscope.evaluate.matching import match_beats
from beatscope.io import Record, load_record
from beatscope.segment.context import ANCHOR_STEP_S, HALF_WINDOW_S

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).parents[1] / "resources" / "samples"
#: Beats this close to a junction may differ: the detector's and the denoiser's
#: filters ring across it, and a beat's context anchor (every 10 s) may lie on the
#: other side of it (segment.context: half an anchor step).
SETTLE_S = 5.0
#: How far a beat's reference reaches (its anchor's half-windows). Beyond it a beat's
#: inputs do not depend on the other recording at all; within it the reference is
#: made from one side of the junction instead of both, which can tip a borderline beat.
REACH_S = HALF_WINDOW_S + ANCHOR_STEP_S / 2
#: Of the beats between SETTLE_S and REACH_S from a junction, the share that may tip.
TIPPED_MAX = 0.01


@cache
def options(rule: bool = True, wavelet: bool = True, local: bool = True) -> AnalysisOptions:
    """The engine as shipped; ``rule=False`` without the prematurity rule (the
    networks' own labels); ``wavelet=False`` without the wavelet stage, whose local
    threshold works on a 10-s block grid (so excerpts must be padded to it, see
    :func:`label_changes`); ``local=False``: its whole-record threshold (it tips 2
    borderline beats of 1,011 in the 208 sample far from any junction,
    docs/VALIDATION.md section 7). The first joined-excerpt tests switch the stage off
    on both sides so that every other stage is held to exact equality on any grid."""
    clf = load_classifier(ClassifierSpec())
    assert clf is not None, "the shipped weights must load"
    o = AnalysisOptions(classifier=clf, rhythm_model=None)
    o = replace(o, denoise=replace(o.denoise, wavelet_local=local))
    if not wavelet:
        o = replace(o, denoise=replace(o.denoise, wavelet_enabled=False))
    return o if rule else replace(o, prematurity=None)


@cache
def alone(name: str, rule: bool = True, wavelet: bool = False, local: bool = True):
    return analyze(load_record(path(name)), options(rule, wavelet, local))


def path(name: str) -> Path:
    return (SAMPLES if name.endswith("10min") else DATA) / f"{name}.hea"


def lengths(names: tuple[str, ...], grid: int = 1) -> list[int]:
    """Each excerpt's length in the join: padded to a multiple of the baseline filter's
    decimation block and of the context's anchor step (and of ``grid``), so each
    excerpt keeps the block phase and the anchor grid it has alone. Both are
    sensitivities of their own, not a dependence on other beats, which is what these
    tests are about: the median baseline moves by up to 0.2 mV with the block phase,
    and 4 samples of anchor phase moved a beat across a half-window's edge, which
    changed the members of its median and tipped a fusion beat 246 s from the
    junction."""
    q = math.lcm(baseline_decimation(360.0), int(ANCHOR_STEP_S * 360), grid)
    return [-(-load_record(path(n)).n_samples // q) * q for n in names]


def joined(names: tuple[str, ...], grid: int = 1) -> Record:
    """The excerpts end to end, each padded (:func:`lengths`) with its own beginning:
    with its edge value instead, 20-30 s of flat line were a pause at every junction."""
    records = [load_record(path(n)) for n in names]
    parts = [np.pad(np.asarray(r.signals), ((0, m - r.n_samples), (0, 0)), mode="wrap")
             for r, m in zip(records, lengths(names, grid), strict=True)]
    return Record(name="+".join(names), signals=np.concatenate(parts),
                  fs=records[0].fs, lead_names=["ECG1", "ECG2"], units=["mV", "mV"])


def label_changes(names: tuple[str, ...], rule: bool,
                  local: bool = False) -> tuple[list[tuple], np.ndarray]:
    """The beats of the excerpts whose label changed when they were joined, as
    (excerpt, time in it, distance to the nearest junction, label alone, joined), and
    the distance to the nearest junction of every beat compared (seconds). ``local``:
    with the wavelet stage on, its threshold local (excerpts padded to its noise
    blocks too, for the same reason as the baseline's)."""
    grid = math.lcm(sigma_block_samples(360.0), 16) if local else 1
    record = joined(names, grid)
    result = analyze(record, options(rule, wavelet=local, local=local))
    changes, offset, compared = [], 0, []
    for k, (name, n) in enumerate(zip(names, lengths(names, grid), strict=True)):
        own = alone(name, rule, wavelet=local, local=local)
        inside = (result.beats.sample >= offset) & (result.beats.sample < offset + n)
        match = match_beats(own.beats.sample, result.beats.sample[inside] - offset,
                            int(0.15 * record.fs))
        t = own.beats.sample / record.fs
        to_junction = np.full(len(t), np.inf)
        if k > 0:
            to_junction = np.minimum(to_junction, t)
        if k < len(names) - 1:
            to_junction = np.minimum(to_junction, n / record.fs - t)
        for i in np.flatnonzero((match >= 0) & (to_junction >= SETTLE_S)):
            compared.append(to_junction[i])
            before, after = own.beats.label[i], result.beats.label[inside][match[i]]
            if before != after:
                changes.append((name, round(t[i], 1), round(to_junction[i], 1), before, after))
        offset += n
    assert len(compared) > 0.9 * sum(len(alone(n, rule).beats) for n in names)
    return changes, np.asarray(compared)


# 100: normal sinus at 74 bpm; 119: bigeminy at 66 bpm; 208 (10 min): PVCs, fusion
# beats and trigeminy at 106 bpm. The rate steps up and down at the junctions.
CHAINS = [("mitdb_100", "mitdb_208_10min", "mitdb_119"),
          ("mitdb_119", "mitdb_208_10min", "mitdb_100")]


@pytest.mark.parametrize("names", CHAINS)
def test_joined_excerpts_get_the_labels_the_networks_give_each_alone(names):
    changes, compared = label_changes(names, rule=False)
    far = [c for c in changes if c[2] >= REACH_S]
    assert far == [] and (compared >= REACH_S).sum() > 300
    near = len(changes) - len(far)
    assert near <= TIPPED_MAX * (compared < REACH_S).sum(), changes


def test_with_a_local_wavelet_threshold_the_wavelet_stage_stays_local_too():
    """The wavelet stage on, as shipped, its threshold local
    (``DenoiseConfig.wavelet_local``): no beat farther than the noise window's reach
    beyond the context's changes label (with the whole-record threshold, 2 fusion
    beats of the 208 sample do, 210 and 234 s from a junction)."""
    reach = REACH_S + (SIGMA_NEIGHBOURS + 1) * SIGMA_BLOCK_S
    changes, compared = label_changes(CHAINS[0], rule=False, local=True)
    assert [c for c in changes if c[2] >= reach] == [] and (compared >= reach).sum() > 300
    near = [c for c in changes if c[2] < reach]
    assert len(near) <= TIPPED_MAX * (compared < reach).sum(), changes


@pytest.mark.parametrize("names", CHAINS)
def test_with_the_prematurity_rule_joined_excerpts_keep_their_own_labels(names):
    """The rule compares each pre-RR with the mean of the intervals before it. After
    the junction into 208 (106 bpm after 66 or 74) that mean held the other
    patient's rate for a minute, and 20 of 208's beats were called S joined, N alone.
    Where the dominant beat changes and a faster rate lasts, the rule now starts
    afresh, as at a record's start (``prematurity.new_rhythms``): no more than the
    beats without the rule may change."""
    changes, compared = label_changes(names, rule=True)
    assert [c for c in changes if c[2] >= REACH_S] == []
    assert len(changes) <= TIPPED_MAX * (compared < REACH_S).sum(), changes


def test_streamed_and_whole_analysis_give_identical_labels(monkeypatch):
    record = joined(("mitdb_208", "mitdb_100"))
    whole = analyze(record, options())
    monkeypatch.setattr(pipeline_module, "BEAT_BLOCK", 25)  # many small blocks
    blocks = []
    streamed = analyze(record, options(),
                       on_beats=lambda first, s, lab, p: blocks.append(first))
    assert len(blocks) > 10 and blocks == sorted(blocks)
    assert np.array_equal(whole.beats.label, streamed.beats.label)
    assert np.array_equal(whole.beats.probability, streamed.beats.probability)


def test_a_new_rhythm_found_after_streaming_gives_the_whole_records_labels(monkeypatch):
    """The rule's restart at a new rhythm needs the references two minutes on, so the
    engine applies it once every block is classified; with many small blocks the
    result is still what the rule gives on the whole record at once."""
    found = []
    real = prematurity_module.new_rhythms
    monkeypatch.setattr(pipeline_module, "new_rhythms",  # where the engine calls it
                        lambda *a: found.append(real(*a)) or found[-1])
    record = joined(("mitdb_119", "mitdb_208_10min"))
    whole = analyze(record, options())
    assert len(found) == 1 and len(found[0]) >= 1  # 208's faster rhythm, at the junction
    junction = lengths(("mitdb_119", "mitdb_208_10min"))[0]
    assert np.abs(whole.beats.sample[found[0]] - junction).min() < 10 * record.fs
    monkeypatch.setattr(pipeline_module, "BEAT_BLOCK", 64)
    streamed = analyze(record, options(), on_beats=lambda *a: None)
    assert np.array_equal(whole.beats.label, streamed.beats.label)
    assert np.array_equal(whole.beats.probability, streamed.beats.probability)
