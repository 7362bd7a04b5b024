"""The prematurity rule across record junctions: its reference window, on DS1 alone.

    python bench/prematurity_join.py [--mitdb ../shared/data/mitdb]

``analysis/prematurity.py`` compares each beat's pre-RR with the mean of the 90
intervals before it (120 before the step test; the variants below are that older
rule's). Where records are joined (a 24-h test record; on a real Holter,
a sudden rate change) that causal mean lags for up to 120 beats and calls N beats S.
This scores, on DS1's reference beats (as ``bench/prematurity_rule.py``: SVEB F1 of
the rule alone) both the records one by one and the 22 joined end to end, for the
shipped causal mean and for windows centred on the beat (median or mean, the beat's
own interval left out), over a grid of window lengths and thresholds, and for the
causal mean switched to a recent median after a rate jump. DS2 is not looked at. The
baseline is the shipped rule, printed first, then the shipped rule over a grid of its
test on how a run of early beats ends (``sustained_max_rr``, ``run_end_slowing``;
``None``: no such test), the evidence those two were chosen on. The variants after it
are the older rule's (no step test, no run-end test).
"""

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

from beatscope.analysis.prematurity import PrematurityRule, prematurity  # noqa: E402
from beatscope.training.splits import DS1  # noqa: E402
from prematurity_rule import reference, sveb_f1_of  # noqa: E402


def variant(samples, fs, k, max_ratio, max_irr, mode, softness=0.02):
    """``(gate, applies)`` as ``analysis.prematurity.prematurity``, with the reference
    window either causal (the shipped mean of the k intervals before) or centred."""
    r = np.asarray(samples, np.int64)
    n = len(r)
    rr = np.maximum(np.diff(r), 1) / fs
    if mode == "causal-mean":
        padded = np.concatenate([np.full(k, np.median(rr[:k])), rr])
        window = sliding_window_view(padded, k)[:len(rr)]
        local = window.mean(axis=1)
    else:  # centred on the beat, its own interval left out
        h = k // 2
        window = np.delete(sliding_window_view(np.pad(rr, h, mode="edge"), 2 * h + 1)[:len(rr)],
                           h, axis=1)
        local = np.median(window, axis=1) if mode == "centred-median" else window.mean(axis=1)
    irregularity = np.median(np.abs(np.diff(window, axis=1)), axis=1) / local
    gate = np.zeros(n)
    applies = np.zeros(n, bool)
    with np.errstate(over="ignore"):
        gate[1:] = 1 / (1 + np.exp(-(max_ratio - rr / local) / softness))
    applies[1:] = irregularity < max_irr
    return gate, applies


def adaptive(samples, fs, recent, jump, k=120, max_ratio=0.825, max_irr=0.125,
             softness=0.02):
    """The shipped causal mean, replaced by the median of the last ``recent``
    intervals where that median differs from it by more than ``jump`` (a rate jump
    followed at once, a long run of premature beats too)."""
    r = np.asarray(samples, np.int64)
    rr = np.maximum(np.diff(r), 1) / fs
    padded = np.concatenate([np.full(k, np.median(rr[:k])), rr])
    window = sliding_window_view(padded, k)[:len(rr)]
    local = window.mean(axis=1)
    latest = np.median(window[:, -recent:], axis=1)
    reference_rr = np.where(np.abs(latest / local - 1) > jump, latest, local)
    irregularity = np.median(np.abs(np.diff(window, axis=1)), axis=1) / local
    gate = np.zeros(len(r))
    applies = np.zeros(len(r), bool)
    with np.errstate(over="ignore"):
        gate[1:] = 1 / (1 + np.exp(-(max_ratio - rr / reference_rr) / softness))
    applies[1:] = irregularity < max_irr
    return gate, applies


def f1(beats: dict, rule=None, **kw) -> float:
    """SVEB F1 of the rule alone over reference N and S beats (V, F, Q left out)."""
    return sveb_f1_of(beats, lambda samples, fs: (rule or variant)(samples, fs, **kw))[0]


def joined(beats: dict) -> dict:
    """The records' reference beats end to end (300 samples between records)."""
    samples, labels, offset = [], [], 0
    for s, lab, _ in beats.values():
        samples.append(s + offset)
        labels.append(lab)
        offset = samples[-1][-1] + 300
    return {"joined": (np.concatenate(samples), np.concatenate(labels), 360.0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    args = ap.parse_args()
    ds1 = reference(args.mitdb, DS1)
    j1 = joined(ds1)
    def module_rule(samples, fs):
        return prematurity(samples, fs, PrematurityRule())

    print(f"shipped rule ({PrematurityRule()}): SVEB F1 DS1 one by one "
          f"{f1(ds1, module_rule):.4f}, DS1 joined {f1(j1, module_rule):.4f}")
    print("the shipped rule's test on how a run ends (sustained_max_rr, run_end_slowing: "
          "one by one / joined):")
    for cap, slowing in itertools.product((None, 0.45, 0.5, 0.55, 0.6),
                                          (1.2, 1.3, 1.5, 1.7, 2.0)):
        if cap is None and slowing != 1.5:
            continue
        rule = PrematurityRule(sustained_max_rr=cap, run_end_slowing=slowing)
        def run_end(samples, fs, rule=rule):
            return prematurity(samples, fs, rule)
        print(f"  {cap!s:>4}  {slowing:.1f}  {f1(ds1, run_end):.4f}  {f1(j1, run_end):.4f}",
              flush=True)
    shipped = dict(k=120, max_ratio=0.825, max_irr=0.125, mode="causal-mean")
    print(f"the rule before the step test (causal mean of 120, 0.825, 0.125): SVEB F1 DS1 "
          f"one by one {f1(ds1, **shipped):.4f}, DS1 joined {f1(j1, **shipped):.4f}")
    res = []
    for mode, k, t, v in itertools.product(
            ("causal-mean", "centred-median", "centred-mean"), (16, 32, 60, 120),
            (0.775, 0.8, 0.825, 0.85), (0.1, 0.125, 0.15)):
        kw = dict(k=k, max_ratio=t, max_irr=v, mode=mode)
        res.append((f1(ds1, **kw), f1(j1, **kw), mode, k, t, v))
    res.sort(key=lambda x: -(x[0] + x[1]))
    print("best 10 by the sum of the two F1 (one by one, joined, window, beats, ratio, "
          "irregularity):")
    for a, b, mode, k, t, v in res[:10]:
        print(f"  {a:.4f}  {b:.4f}  {mode:<15} {k:>4}  {t:.3f}  {v}")
    best = {m: max(r for r in res if r[2] == m) for m in ("centred-median", "centred-mean")}
    for m, r in best.items():
        print(f"best {m}: {r[0]:.4f} / {r[1]:.4f} (k {r[3]}, ratio {r[4]}, irregularity {r[5]})")
    print("the pre-step mean, switching to the median of the latest intervals after a jump "
          "(latest, jump: one by one / joined):")
    for recent, jump in itertools.product((8, 16, 32), (0.15, 0.2, 0.3, 0.4)):
        kw = dict(recent=recent, jump=jump)
        print(f"  {recent:>2}  {jump:.2f}  {f1(ds1, adaptive, **kw):.4f}  "
              f"{f1(j1, adaptive, **kw):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
