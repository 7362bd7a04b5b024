"""Findings the report flags at the top of page 1: the one place their thresholds live.

Each is something a cardiologist wants to see before anything else on a Holter
report, with the threshold commonly used for it (ACC/AHA ambulatory ECG practice):
a sustained-looking ventricular run, a long pause, fast AF or flutter, sustained SVT,
and a high ventricular ectopic burden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.display.clock import format_clock


@dataclass(frozen=True)
class UrgentThresholds:
    vt_beats: int = 6  # a ventricular run of at least this many beats
    pause_s: float = 3.0  # an RR interval at least this long
    af_rate_bpm: float = 110.0  # AF or flutter with a mean rate above this
    svt_s: float = 30.0  # supraventricular tachycardia lasting longer than this
    v_burden_percent: float = 10.0  # ventricular ectopic beats above this share


THRESHOLDS = UrgentThresholds()


def urgent_findings(rhythm: dict | None, samples: np.ndarray, labels: np.ndarray, fs: float,
                    limits: UrgentThresholds = THRESHOLDS) -> list[str]:
    """One line per urgent finding (the worst instance of each), in a fixed order."""
    if not rhythm:
        return []
    out = []
    events = rhythm.get("events") or {}
    ventricular = events.get("ventricular") or {}
    runs = [r for r in ventricular.get("run_list", []) if r["beats"] >= limits.vt_beats]
    if runs:
        worst = max(runs, key=lambda r: (r["beats"], r["rate_bpm"]))
        out.append(f"Ventricular run of {worst['beats']} beats at "
                   f"{format_clock(worst['start_s'])} ({worst['rate_bpm']:.0f} bpm); "
                   f"{len(runs)} run{'s' * (len(runs) != 1)} of ≥ {limits.vt_beats} beats")
    pauses = [p for p in (events.get("pauses") or {}).get("pause_list", [])
              if p["duration_s"] >= limits.pause_s]
    if pauses:
        worst = max(pauses, key=lambda p: p["duration_s"])
        out.append(f"Pause of {worst['duration_s']:.1f} s at {format_clock(worst['start_s'])}; "
                   f"{len(pauses)} pause{'s' * (len(pauses) != 1)} ≥ {limits.pause_s:.1f} s")
    t = np.asarray(samples, dtype=np.float64) / fs
    episodes = rhythm.get("episodes") or []
    fast = []
    for e in episodes:
        if e["label"] in ("AFIB", "AFLT"):
            inside = t[(t >= e["start_s"]) & (t <= e["end_s"])]
            if len(inside) > 2:
                rate = 60.0 * (len(inside) - 1) / max(inside[-1] - inside[0], 1e-9)
                if rate > limits.af_rate_bpm:
                    fast.append((rate, e))
    if fast:
        rate, e = max(fast, key=lambda x: x[0])
        out.append(f"{'Atrial fibrillation' if e['label'] == 'AFIB' else 'Atrial flutter'} "
                   f"at {rate:.0f} bpm from {format_clock(e['start_s'])} "
                   f"(> {limits.af_rate_bpm:.0f} bpm)")
    svt = [e for e in episodes if e["label"] == "SVTAC"
           and e["end_s"] - e["start_s"] > limits.svt_s]
    if svt:
        e = max(svt, key=lambda e: e["end_s"] - e["start_s"])
        out.append(f"Supraventricular tachycardia for {e['end_s'] - e['start_s']:.0f} s from "
                   f"{format_clock(e['start_s'])} (> {limits.svt_s:.0f} s)")
    labels = np.asarray(labels)
    if len(labels):
        share = 100.0 * float((labels == "V").mean())
        if share > limits.v_burden_percent:
            out.append(f"Ventricular ectopic beats are {share:.1f} % of all beats "
                       f"(> {limits.v_burden_percent:.0f} %)")
    return out
