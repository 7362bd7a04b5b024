"""Rhythm findings (``beatscope.rhythm``): the rules on synthetic beat sequences, episode
hysteresis and merging, the JSON contract, merging a model's window probabilities, and
AF on the bundled MIT-BIH excerpts (201 in AF, 100 in sinus rhythm)."""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from beatscope.aami import AAMI_CLASSES, SYMBOL_TO_AAMI
from beatscope.analysis import AnalysisOptions, analyze
from beatscope.analysis.output import summary_dict
from beatscope.io import load_record
from beatscope.rhythm import (
    RHYTHM_LABELS,
    EpisodePolicy,
    ModelWindows,
    Track,
    derive_rhythm,
    hysteresis_episodes,
)

DATA = Path(__file__).parent / "data"
FS = 360.0


def beats(rr_s: list[float] | np.ndarray, labels: str | None = None, fs: float = FS,
          start_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """R-peak samples for the given RR intervals (first beat at ``start_s``) and labels
    (one character per beat, 'N' throughout by default)."""
    times = start_s + np.concatenate([[0.0], np.cumsum(rr_s)])
    labels = labels if labels is not None else "N" * len(times)
    assert len(labels) == len(times)
    return np.round(times * fs).astype(np.int64), np.array(list(labels))


def rhythm_of(samples: np.ndarray, labels: np.ndarray, fs: float = FS, **kw: object) -> dict:
    duration = samples[-1] / fs + 1.0
    return derive_rhythm(samples, labels, fs, duration, **kw)


def episodes(rhythm: dict, label: str) -> list[dict]:
    return [e for e in rhythm["episodes"] if e["label"] == label]


def sinus_with(pattern: str, rr: float = 0.8, lead_in: int = 20, lead_out: int = 20,
               premature: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Regular sinus beats around ``pattern``: an ectopic beat (S or V) comes early
    and is followed by a compensatory pause, as in a real record."""
    labels = "N" * lead_in + pattern + "N" * lead_out
    rr_s = []
    for previous, beat in zip(labels, labels[1:], strict=False):
        if beat in "SV":
            rr_s.append(rr * premature)
        elif previous in "SV":
            rr_s.append(rr * (2 - premature))
        else:
            rr_s.append(rr)
    return beats(rr_s, labels)


# --------------------------------------------------------------------------- rules


def test_bigeminy_needs_three_cycles() -> None:
    rhythm = rhythm_of(*sinus_with("NV" * 6))
    (bigu,) = episodes(rhythm, "BIGU")
    assert bigu["confidence"] == 1.0  # labels given without probabilities
    # From the first N of the first N-V cycle to the last V.
    samples, labels = sinus_with("NV" * 6)
    first_v = int(np.flatnonzero(labels == "V")[0])
    last_v = int(np.flatnonzero(labels == "V")[-1])
    assert bigu["start_s"] == pytest.approx(samples[first_v - 1] / FS, abs=1e-3)
    assert bigu["end_s"] == pytest.approx(samples[last_v] / FS, abs=1e-3)
    assert not episodes(rhythm, "TRIGU") and not episodes(rhythm, "VT")
    assert rhythm["record"]["BIGU"] == 1.0

    assert len(episodes(rhythm_of(*sinus_with("NV" * 3)), "BIGU")) == 1
    two_cycles = rhythm_of(*sinus_with("NV" * 2))
    assert not episodes(two_cycles, "BIGU")
    assert two_cycles["record"]["BIGU"] == 0.0


def test_trigeminy_is_not_bigeminy() -> None:
    rhythm = rhythm_of(*sinus_with("NNV" * 3))
    assert len(episodes(rhythm, "TRIGU")) == 1
    assert not episodes(rhythm, "BIGU")
    assert rhythm["events"]["ventricular"]["isolated"] == 3
    assert not episodes(rhythm_of(*sinus_with("NNV" * 2)), "TRIGU")


def test_supraventricular_bigeminy_counts_as_bigu() -> None:
    """PTB-XL's BIGU leaves the origin of the ectopic beat open."""
    assert len(episodes(rhythm_of(*sinus_with("NS" * 4)), "BIGU")) == 1


def test_four_beat_vt_run() -> None:
    samples, labels = sinus_with("VVVV", premature=0.5)
    rhythm = rhythm_of(samples, labels)
    (vt,) = episodes(rhythm, "VT")
    v = np.flatnonzero(labels == "V")
    assert vt["start_s"] == pytest.approx(samples[v[0]] / FS, abs=1e-3)
    assert vt["end_s"] == pytest.approx(samples[v[-1]] / FS, abs=1e-3)
    ventricular = rhythm["events"]["ventricular"]
    assert ventricular["runs"] == 1 and ventricular["longest_run_beats"] == 4
    (run,) = ventricular["run_list"]
    assert run["beats"] == 4
    assert run["rate_bpm"] == pytest.approx(60 / 0.4, rel=0.01)  # 0.5 x 0.8 s inside the run
    assert not episodes(rhythm, "SVTAC")


def test_couplets_triplets_and_runs_follow_holter_conventions() -> None:
    """1 beat isolated, 2 a couplet, 3 a triplet, 3 or more a run (VT episode)."""
    pattern = "V" + "N" * 6 + "VV" + "N" * 6 + "VVV" + "N" * 6 + "VVVVV" + "N" * 6 + "SS"
    samples, labels = sinus_with(pattern)
    rhythm = rhythm_of(samples, labels)
    v = rhythm["events"]["ventricular"]
    assert (v["beats"], v["isolated"], v["couplets"], v["triplets"], v["runs"]) == (11, 1, 1, 1, 2)
    assert [r["beats"] for r in v["run_list"]] == [3, 5]
    assert len(v["couplet_start_s"]) == 1
    assert len(episodes(rhythm, "VT")) == 2
    s = rhythm["events"]["supraventricular"]
    assert (s["beats"], s["couplets"], s["runs"]) == (2, 1, 0)
    hours = rhythm["burden"]["analysable_s"] / 3600
    assert rhythm["events"]["per_hour"]["pvc"] == pytest.approx(11 / hours, rel=1e-3)
    assert rhythm["events"]["per_hour"]["ventricular_runs"] == pytest.approx(2 / hours,
                                                                              rel=1e-3)


def test_pause_over_two_seconds() -> None:
    rr = [0.8] * 20 + [2.5] + [0.8] * 20
    rhythm = rhythm_of(*beats(rr))
    (pause,) = episodes(rhythm, "PAUSE")
    assert pause["end_s"] - pause["start_s"] == pytest.approx(2.5, abs=0.01)
    assert pause["confidence"] > 0.99
    assert rhythm["events"]["pauses"]["count"] == 1
    assert rhythm["events"]["pauses"]["longest_s"] == pytest.approx(2.5, abs=0.01)
    # 1.9 s is long but not a pause; a 2.05-s one is, with low confidence.
    assert not episodes(rhythm_of(*beats([0.8] * 20 + [1.9] + [0.8] * 20)), "PAUSE")
    (borderline,) = episodes(rhythm_of(*beats([0.8] * 20 + [2.05] + [0.8] * 20)), "PAUSE")
    assert 0.5 < borderline["confidence"] < 0.7


@pytest.mark.parametrize(("bpm", "expected", "absent"), [
    (50, "SBRAD", {"SR", "STACH"}),
    (75, "SR", {"SBRAD", "STACH"}),
    (125, "STACH", {"SR", "SBRAD"}),
])
def test_rate_findings(bpm: float, expected: str, absent: set[str]) -> None:
    rhythm = rhythm_of(*beats([60 / bpm] * 80))
    (episode,) = episodes(rhythm, expected)
    assert episode["confidence"] > 0.95
    assert all(rhythm["record"][label] == 0.0 for label in absent)
    assert rhythm["record"]["AFIB"] == 0.0


def test_brady_then_normal_rate_are_separate_episodes() -> None:
    rhythm = rhythm_of(*beats([1.2] * 40 + [0.8] * 60))
    (brady,) = episodes(rhythm, "SBRAD")
    (sinus,) = episodes(rhythm, "SR")
    assert brady["end_s"] <= sinus["start_s"] + 5.0
    assert brady["end_s"] == pytest.approx(1.0 + 40 * 1.2, abs=5.0)


def test_sinus_arrhythmia_is_gradual_irregularity() -> None:
    """Respiratory sinus arrhythmia (RR 0.75-1.05 s over a 5-beat cycle) is SARRH;
    the same beats without labels (no classifier) are not judged for it."""
    rr = 0.9 + 0.15 * np.sin(2 * np.pi * np.arange(120) / 5)
    rhythm = rhythm_of(*beats(rr))
    assert episodes(rhythm, "SARRH")
    assert not episodes(rhythm, "SR")
    assert rhythm["record"]["AFIB"] == 0.0
    samples, _ = beats(rr)
    assert not episodes(rhythm_of(samples, np.full(len(samples), "Q")), "SARRH")


def test_unclassified_beats_give_rate_findings_but_no_ectopy() -> None:
    samples, labels = sinus_with("VVVV" + "N" * 5 + "NV" * 4, rr=1.2)
    rhythm = rhythm_of(samples, np.full(len(samples), "Q"))
    events = rhythm["events"]
    assert events["ectopy_assessed"] is False
    assert events["ventricular"] is None and events["per_hour"]["pvc"] is None
    assert not any(episodes(rhythm, label) for label in ("VT", "SVTAC", "BIGU", "TRIGU"))
    assert episodes(rhythm, "SBRAD")  # 50 bpm


def test_unreadable_signal_makes_no_findings() -> None:
    """Spurious 'V' beats and a long gap inside an unreadable stretch: NOISE only."""
    rr = [0.8] * 30 + [0.3] * 6 + [3.0] + [0.8] * 30
    samples, labels = beats(rr, "N" * 31 + "V" * 6 + "N" * 31)
    t = samples / FS
    noise = (float(t[30]) + 0.1, float(t[37]) - 0.1)  # covers the V beats
    rhythm = rhythm_of(samples, labels, unreadable_intervals=[noise])
    assert not episodes(rhythm, "VT") and not episodes(rhythm, "PAUSE")
    assert rhythm["events"]["ventricular"]["beats"] == 0
    (found,) = episodes(rhythm, "NOISE")
    assert (found["start_s"], found["end_s"]) == pytest.approx(noise, abs=1e-3)
    burden = rhythm["burden"]
    duration = samples[-1] / FS + 1.0
    assert burden["unreadable_s"] == pytest.approx(noise[1] - noise[0], abs=1e-3)
    assert burden["analysable_s"] == pytest.approx(duration - burden["unreadable_s"], abs=1e-3)
    assert rhythm["record"]["NOISE"] == 1.0
    # Without the quality verdict the same beats are a run and a pause.
    plain = rhythm_of(samples, labels)
    assert episodes(plain, "VT") and episodes(plain, "PAUSE")


def test_classifier_probabilities_become_run_confidence() -> None:
    samples, labels = sinus_with("VVVV")
    probabilities = np.zeros((len(labels), len(AAMI_CLASSES)))
    probabilities[:, AAMI_CLASSES.index("N")] = 1.0
    v = labels == "V"
    probabilities[v] = 0.0
    probabilities[v, AAMI_CLASSES.index("V")] = 0.7
    probabilities[v, AAMI_CLASSES.index("F")] = 0.3
    (vt,) = episodes(rhythm_of(samples, labels, probabilities=probabilities), "VT")
    assert vt["confidence"] == pytest.approx(0.7, abs=1e-4)


def test_sampling_rate_does_not_change_the_findings() -> None:
    rr = [0.8] * 20 + [0.4, 0.4, 0.4, 1.2] + [0.8] * 10 + [2.4] + [0.8] * 20
    labels = "N" * 21 + "VVV" + "N" * 32
    found = []
    for fs in (100.0, 250.0, 500.0, 1000.0):
        samples, lab = beats(rr, labels, fs=fs)
        rhythm = rhythm_of(samples, lab, fs=fs)
        found.append([(e["label"], round(e["start_s"], 1), round(e["end_s"], 1))
                      for e in rhythm["episodes"]])
    assert all(f == found[0] for f in found[1:])
    assert {label for label, *_ in found[0]} >= {"VT", "PAUSE"}


# --------------------------------------------------------------------------- AF


def irregular_rr(n: int, mean_s: float = 0.7, seed: int = 0) -> np.ndarray:
    """AF-like RR intervals: independent, widely spread."""
    return np.random.default_rng(seed).uniform(0.4 * mean_s / 0.7, 1.0 * mean_s / 0.7, n)


def test_af_episode_between_sinus_stretches() -> None:
    rr = np.concatenate([[0.8] * 100, irregular_rr(200), [0.8] * 100])
    rhythm = rhythm_of(*beats(rr))
    (af,) = episodes(rhythm, "AFIB")
    af_start, af_end = 1.0 + 80.0, 1.0 + 80.0 + float(irregular_rr(200).sum())
    assert af["start_s"] == pytest.approx(af_start, abs=15.0)
    assert af["end_s"] == pytest.approx(af_end, abs=15.0)
    assert af["confidence"] > 0.8
    burden = rhythm["burden"]
    assert burden["af_percent"] == pytest.approx(
        100 * (af["end_s"] - af["start_s"]) / burden["analysable_s"], abs=0.01)
    assert burden["labels"]["AFIB"]["longest_s"] == pytest.approx(af["end_s"] - af["start_s"],
                                                                  abs=1e-3)
    # No sinus statement inside the AF episode.
    for sinus in episodes(rhythm, "SR"):
        assert sinus["end_s"] <= af["start_s"] + 1.0 or sinus["start_s"] >= af["end_s"] - 1.0


def test_s_labels_inside_af_are_not_pacs() -> None:
    """A classifier may call irregular AF beats S: inside AF they are not counted as
    premature atrial beats or SVT runs."""
    rr = irregular_rr(300)
    labels = np.array(["N"] * 301)
    labels[100:200:7] = "S"
    labels[150:154] = "S"
    rhythm = rhythm_of(beats(rr)[0], labels)
    assert episodes(rhythm, "AFIB")
    assert not episodes(rhythm, "SVTAC")
    assert rhythm["events"]["supraventricular"]["beats"] == 0


def test_ten_second_strip_at_500_hz() -> None:
    """A resting ECG: 10 s, fewer RR intervals than one AF window."""
    af = rhythm_of(*beats(irregular_rr(13), fs=500.0, start_s=0.3), fs=500.0)
    assert episodes(af, "AFIB") and af["record"]["AFIB"] > 0.5
    assert not episodes(af, "SR")
    sinus = rhythm_of(*beats([0.8] * 11, fs=500.0, start_s=0.3), fs=500.0)
    assert episodes(sinus, "SR") and sinus["record"]["AFIB"] == 0.0


def test_model_probabilities_confirm_or_veto_af() -> None:
    rr = np.concatenate([[0.8] * 60, irregular_rr(300), [0.8] * 60])
    samples, labels = beats(rr)
    duration = samples[-1] / FS + 1.0
    starts = np.arange(0.0, duration, 10.0)

    def model(p_af: float, p_flutter: float = 0.0) -> ModelWindows:
        return ModelWindows(starts, starts + 10.0,
                            {"AFIB": np.full(len(starts), p_af),
                             "AFLT": np.full(len(starts), p_flutter)})

    assert episodes(rhythm_of(samples, labels), "AFIB")
    confirmed = rhythm_of(samples, labels, model=model(0.95))
    assert episodes(confirmed, "AFIB")
    vetoed = rhythm_of(samples, labels, model=model(0.02))
    assert not episodes(vetoed, "AFIB") and vetoed["record"]["AFIB"] == 0.0
    # AFLT comes from the model alone; PACE stays absent without a model score.
    flutter = rhythm_of(samples, labels, model=model(0.02, p_flutter=0.9))
    assert flutter["record"]["AFLT"] == pytest.approx(0.9)
    assert flutter["record"]["PACE"] == 0.0
    assert rhythm_of(samples, labels)["record"]["AFLT"] == 0.0


@cache
def reference_beats(name: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    record = load_record(DATA / f"{name}.hea")
    ann = record.annotations
    assert ann is not None
    keep = [i for i, s in enumerate(ann.symbol) if s in SYMBOL_TO_AAMI]
    labels = np.array([SYMBOL_TO_AAMI[ann.symbol[i]] for i in keep])
    return ann.sample[keep], labels, record.fs, record.duration_s


@cache
def engine_rhythm(name: str) -> dict:
    result = analyze(load_record(DATA / f"{name}.hea"), AnalysisOptions(classifier=None))
    assert result.rhythm is not None
    return result.rhythm


@pytest.mark.parametrize("source", ["reference", "engine"])
def test_af_on_mitdb_201_not_on_100(source: str) -> None:
    def rhythm(name: str) -> dict:
        if source == "engine":
            return engine_rhythm(name)
        return derive_rhythm(*reference_beats(name))

    af = rhythm("mitdb_201_afib")
    assert af["record"]["AFIB"] > 0.8
    assert af["burden"]["af_percent"] > 80.0
    sinus = rhythm("mitdb_100")
    assert sinus["record"]["AFIB"] == 0.0
    assert sinus["record"]["SR"] > 0.8


def test_analyze_and_summary_carry_the_rhythm_object() -> None:
    rhythm = engine_rhythm("mitdb_100")
    assert set(rhythm) == {"record", "episodes", "events", "burden"}
    result = analyze(load_record(DATA / "mitdb_100.hea"), AnalysisOptions(classifier=None))
    summary = summary_dict(result)
    assert summary["rhythm"] == result.rhythm
    assert summary["rhythm"]["events"]["ectopy_assessed"] is False
    json.dumps(summary, allow_nan=False)


# --------------------------------------------------------------------------- episodes


POLICY = EpisodePolicy(enter=0.6, exit=0.3, min_duration_s=2.0, merge_gap_s=1.5)


def track(scores: list[float], starts: list[float] | None = None) -> Track:
    """One-second segments, back to back unless ``starts`` says otherwise."""
    start = np.arange(len(scores), dtype=float) if starts is None else np.asarray(starts, float)
    return Track(start, start + 1.0, np.asarray(scores, dtype=float))


def spans(scores: list[float], starts: list[float] | None = None,
          policy: EpisodePolicy = POLICY) -> list[tuple[float, float]]:
    return [(e.start_s, e.end_s) for e in hysteresis_episodes("X", track(scores, starts), policy)]


def test_hysteresis_enters_high_and_leaves_low() -> None:
    # 0.5 sits between the thresholds: it neither starts an episode nor ends one.
    assert spans([0.5, 0.5, 0.7, 0.5, 0.5, 0.2, 0.5]) == [(2.0, 5.0)]
    assert spans([0.5] * 6) == []


def test_hysteresis_confidence_is_the_duration_weighted_mean() -> None:
    (episode,) = hysteresis_episodes("X", track([0.1, 0.9, 0.5, 0.4, 0.1]), POLICY)
    assert episode.confidence == pytest.approx((0.9 + 0.5 + 0.4) / 3)


def test_short_dips_merge_and_short_episodes_drop() -> None:
    # A 1-s dip below exit: two episodes 1 s apart, merged (gap <= 1.5 s).
    assert spans([0.9, 0.9, 0.1, 0.9, 0.9]) == [(0.0, 5.0)]
    # A 2-s dip is too long to merge; each side is still >= 2 s long.
    assert spans([0.9, 0.9, 0.1, 0.1, 0.9, 0.9]) == [(0.0, 2.0), (4.0, 6.0)]
    # A lone 1-s excursion is shorter than the minimum.
    assert spans([0.1, 0.9, 0.1, 0.1, 0.1]) == []


def test_unassessed_segments_hold_but_do_not_extend_an_episode() -> None:
    nan = float("nan")
    assert spans([0.9, nan, nan, 0.9, 0.1]) == [(0.0, 4.0)]
    # An episode ends on its last assessed segment, not on the NaNs after it.
    assert spans([0.9, 0.9, 0.9, nan, nan]) == [(0.0, 3.0)]


def test_a_gap_between_segments_resets_the_state() -> None:
    # 0.5 after a gap does not continue the episode; the gap is too long to merge.
    assert spans([0.9, 0.9, 0.5, 0.5], starts=[0, 1, 5, 6]) == [(0.0, 2.0)]
    # A short gap is merged over.
    assert spans([0.9, 0.9, 0.9, 0.9], starts=[0, 1, 3, 4]) == [(0.0, 5.0)]


# --------------------------------------------------------------------------- contract


def plain_json_types(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_json_types(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_json_types(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_json_contract() -> None:
    samples, labels = sinus_with("V" + "N" * 5 + "VVVV" + "N" * 5 + "NV" * 4)
    rhythm = rhythm_of(samples, labels, unreadable_intervals=[(3.0, 4.5)])
    assert list(rhythm) == ["record", "episodes", "events", "burden"]
    assert list(rhythm["record"]) == list(RHYTHM_LABELS)
    assert all(0.0 <= p <= 1.0 for p in rhythm["record"].values())
    assert rhythm["episodes"]
    for episode in rhythm["episodes"]:
        assert list(episode) == ["label", "start_s", "end_s", "confidence"]
        assert episode["label"] in RHYTHM_LABELS
        assert episode["start_s"] <= episode["end_s"]
        assert 0.0 <= episode["confidence"] <= 1.0
    starts = [e["start_s"] for e in rhythm["episodes"]]
    assert starts == sorted(starts)
    assert set(rhythm["burden"]["labels"]) == set(RHYTHM_LABELS)
    assert plain_json_types(rhythm)
    assert json.loads(json.dumps(rhythm, allow_nan=False)) == rhythm


@pytest.mark.parametrize("n_beats", [0, 1, 2, 3])
def test_too_few_beats(n_beats: int) -> None:
    samples = np.arange(n_beats, dtype=np.int64) * 300 + 100
    rhythm = derive_rhythm(samples, np.full(n_beats, "N"), FS, 9.0)
    assert plain_json_types(rhythm)
    assert rhythm["episodes"] == []
    assert rhythm["burden"]["analysable_s"] == 9.0


def test_a_day_of_beats_is_fast() -> None:
    """About 110,000 beats (24 h at 76 bpm) with ectopy, AF and noise."""
    rng = np.random.default_rng(1)
    rr = np.where(np.arange(110_000) % 20_000 < 5_000, irregular_rr(110_000, 0.75),
                  0.8 + 0.02 * rng.standard_normal(110_000))
    samples, _ = beats(rr)
    labels = rng.choice(np.array(list("NNNNNNNNNNNNNNNNNNVS")), len(samples))
    unreadable = [(float(t), float(t) + 20.0) for t in np.arange(1000.0, 80_000.0, 5000.0)]
    t = time.perf_counter()
    rhythm = rhythm_of(samples, labels, unreadable_intervals=unreadable)
    elapsed = time.perf_counter() - t
    assert elapsed < 5.0, elapsed  # about 0.1 s on the 2-core build machine
    assert rhythm["burden"]["af_percent"] > 10.0
    assert plain_json_types(rhythm)
