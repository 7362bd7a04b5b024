"""Rhythm findings from the classified beat sequence (Qt-free).

``derive_rhythm`` turns beats (R-peak samples and AAMI labels) and the
unreadable stretches of a record into the ``rhythm`` object of the analysis
JSON: record-level probabilities per rhythm code, episodes, ectopy and pause
events, and burden. The rules cover the codes of :mod:`.vocabulary` that beat
labels and RR intervals can show; a learned model's window probabilities can be
merged in through :class:`ModelWindows`.
"""

from .config import DEFAULT_CONFIG, AfDetector, EctopyRules, RhythmConfig, SinusRules
from .derive import derive_rhythm
from .episodes import Episode, EpisodePolicy, Track, hysteresis_episodes
from .model_input import ModelWindows
from .vocabulary import MODEL_ONLY_LABELS, RHYTHM_LABELS, RULE_LABELS

__all__ = [
    "DEFAULT_CONFIG", "MODEL_ONLY_LABELS", "RHYTHM_LABELS", "RULE_LABELS", "AfDetector",
    "EctopyRules", "Episode", "EpisodePolicy", "ModelWindows", "RhythmConfig", "SinusRules",
    "Track", "derive_rhythm", "hysteresis_episodes",
]
