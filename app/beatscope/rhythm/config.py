"""Every threshold of the rhythm rules, in seconds, bpm or score units, with its reason.

Scores are in [0, 1]. A rate or irregularity measure becomes a score through a
logistic curve centred on the textbook threshold: ``sigmoid((value - threshold) /
softness)``, so a window exactly at 60 bpm scores 0.5 for bradycardia, and the
softness says how far from the threshold a measurement must be before the rule is
sure. Episode policies (see :mod:`.episodes`) then enter at 0.5 (the textbook
threshold itself) and leave only once the score has clearly dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .episodes import EpisodePolicy


@dataclass(frozen=True)
class SinusRules:
    """SR, SBRAD, STACH and SARRH over sliding windows of RR intervals."""

    #: Holter reports take the heart rate over 8 beats: long enough that one
    #: premature beat does not make a tachycardia, short enough to follow changes.
    window_rr: int = 8
    #: A strip with fewer RR intervals than this gives no rate finding.
    min_window_rr: int = 3
    brady_bpm: float = 60.0
    tachy_bpm: float = 100.0
    rate_softness_bpm: float = 2.0
    #: Sinus findings need a sinus-dominated window: at least this fraction of its
    #: RR intervals must run from one N beat to another (the rate is their mean).
    min_normal_fraction: float = 0.5
    #: Sinus arrhythmia: the longest and shortest N-N interval in the window differ
    #: by more than 0.12 s (the classic criterion, e.g. Surawicz & Knilans, Chou's
    #: Electrocardiography in Clinical Practice) ...
    arrhythmia_range_s: float = 0.12
    arrhythmia_softness_s: float = 0.02
    #: ... and the change is gradual: no single step between adjacent N-N intervals
    #: exceeds this fraction of that range. A breathing cycle of 4 or more beats
    #: gives at most 0.71; a missed or blocked beat (one interval doubling) gives 1.
    gradual_step_fraction: float = 0.8


@dataclass(frozen=True)
class AfDetector:
    """RR-irregularity AF detector (see :mod:`.af`)."""

    #: RR intervals per window: about 25 s at 75 bpm. Shorter strips use all their
    #: intervals as one window.
    window_rr: int = 32
    #: Windows start every ``stride_rr`` intervals; each interval takes the score of
    #: the window centred nearest to it.
    stride_rr: int = 4
    #: A window (or a whole strip) with fewer clean RR intervals (between two
    #: non-ectopic beats) than this is not assessed; a 9-s strip at 55 bpm has 8.
    min_window_rr: int = 8
    #: ... nor is a window where fewer than this fraction of the intervals are
    #: clean: the ectopic beats there say more about the rhythm than the rest. On
    #: MIT-BIH reference beats, assessing those windows too found 1.4 points more
    #: of the AF time but added about 1,000 s of detections, with false AF
    #: episodes in records 200, 207 and 232.
    min_clean_fraction: float = 0.5
    #: Without beat classes, a beat counts as ectopic when it is premature by its
    #: RR intervals (see :func:`.af.premature_beats`). On MIT-BIH reference beats
    #: without their labels this cut the non-AF records with an AF episode from 21
    #: to 10 of 40 (``bench/rhythm_rules.py``).
    premature_ratio: float = 0.9
    local_rr: int = 9
    #: Dash et al. 2009 drop 8 of 128 RR intervals (6.25 %) as outliers before
    #: computing RMSSD; here the same share of the largest |dRR|, so one missed beat
    #: or pause does not make a window irregular.
    trim_fraction: float = 1 / 16
    #: Trimmed RMSSD / mean RR above which the rhythm is irregular: Dash et al.'s
    #: 0.1 (on 128 beats). On MIT-BIH reference beats, in these 32-interval windows
    #: of clean intervals: AF 10th percentile 0.122, non-AF (flutter aside) 90th
    #: percentile 0.067; 97.7 % of the AF windows are above 0.1.
    nrmssd_threshold: float = 0.10
    nrmssd_softness: float = 0.015
    #: Turning-point ratio band, in standard deviations from its value for a
    #: random series (mean 2/3): AF is random; sinus arrhythmia is smoother (fewer
    #: turning points), bigeminy and 2:1 block alternate (a turning point at every
    #: beat). On 32-interval windows the band is a ratio of 0.40-0.85. On MIT-BIH
    #: reference beats it keeps 97.4 of the 97.7 % of AF windows above the RMSSD
    #: threshold and removes 36 of the 463 non-AF windows above it: a small
    #: contribution there, kept for the alternating rhythms MIT-BIH has few of.
    tpr_low_z: float = -3.45
    tpr_high_z: float = 2.37
    tpr_softness_z: float = 0.5


@dataclass(frozen=True)
class EctopyRules:
    """Runs, patterns and pauses on the beat sequence."""

    #: Holter convention: 2 consecutive ectopic beats are a couplet, 3 a triplet,
    #: and 3 or more a run (VT for V beats, SVTAC for S beats). Triplets are
    #: therefore also counted among the runs.
    run_min_beats: int = 3
    #: Bigeminy / trigeminy: at least this many consecutive cycles (N-E or N-N-E,
    #: E an ectopic S or V beat).
    pattern_min_cycles: int = 3
    pause_s: float = 2.0
    #: Pause confidence is ``sigmoid((RR - pause_s) / pause_softness_s)``: a 2.05-s
    #: interval is a pause by definition but a borderline one (0.62); 2.5 s gives 0.99.
    pause_softness_s: float = 0.1


def _default_policies() -> Mapping[str, EpisodePolicy]:
    sinus = EpisodePolicy(enter=0.5, exit=0.3, min_duration_s=10.0, merge_gap_s=5.0)
    # Runs, patterns and pauses are episodes by definition: no hysteresis band, no
    # minimum length, and two runs one normal beat apart stay two runs.
    structural = EpisodePolicy(enter=0.5, exit=0.5, min_duration_s=0.0, merge_gap_s=0.0)
    return MappingProxyType({
        "SR": sinus, "SBRAD": sinus, "STACH": sinus, "SARRH": sinus,
        # An AF episode lasts at least 30 s (ESC 2020 guidelines); a strip shorter
        # than that qualifies when AF covers half of it (see ``short_strip_fraction``).
        "AFIB": EpisodePolicy(enter=0.5, exit=0.3, min_duration_s=30.0, merge_gap_s=10.0),
        "AFLT": EpisodePolicy(enter=0.5, exit=0.3, min_duration_s=30.0, merge_gap_s=10.0),
        "PACE": sinus,
        "SVTAC": structural, "VT": structural, "BIGU": structural, "TRIGU": structural,
        "PAUSE": structural, "NOISE": structural,
    })


@dataclass(frozen=True)
class RhythmConfig:
    sinus: SinusRules = field(default_factory=SinusRules)
    af: AfDetector = field(default_factory=AfDetector)
    ectopy: EctopyRules = field(default_factory=EctopyRules)
    episodes: Mapping[str, EpisodePolicy] = field(default_factory=_default_policies)
    #: On a strip shorter than a policy's minimum duration (a 10-s resting ECG), an
    #: episode counts when it covers this fraction of the analysable beats' span.
    short_strip_fraction: float = 0.5


DEFAULT_CONFIG = RhythmConfig()
