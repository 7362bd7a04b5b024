"""The rhythm vocabulary: PTB-XL / SCP-ECG style codes and who can produce each.

The rules in this package read the classified beat sequence (AAMI N/S/V/F/Q per
beat) and the RR intervals. That is enough for most rhythm statements, but not
for two of them:

* ``AFLT`` (atrial flutter) differs from AF and from sinus tachycardia in the
  atrial activity (flutter waves), not in anything the beat labels or RR
  intervals show: a flutter with fixed 2:1 conduction has a perfectly regular RR.
* ``PACE`` (paced rhythm): AAMI EC57 folds paced beats into class Q together
  with unclassifiable beats, so a beat label cannot say "paced".

The learned rhythm model reads the waveform and covers both; until its window
probabilities are passed in, these two are reported with probability 0 and
never appear in the episodes.
"""

from __future__ import annotations

#: Every rhythm code the ``rhythm`` JSON object reports, in a stable order.
RHYTHM_LABELS: tuple[str, ...] = (
    "SR",     # sinus rhythm, 60-100 bpm, regular
    "SBRAD",  # sinus bradycardia, < 60 bpm
    "STACH",  # sinus tachycardia, > 100 bpm
    "SARRH",  # sinus arrhythmia: sinus beats, gradual RR variation > 0.12 s
    "AFIB",   # atrial fibrillation
    "AFLT",   # atrial flutter (model only, see module doc)
    "SVTAC",  # supraventricular tachycardia: a run of 3 or more S beats
    "VT",     # ventricular tachycardia: a run of 3 or more V beats
    "BIGU",   # bigeminal pattern (ectopic beat every second beat)
    "TRIGU",  # trigeminal pattern (ectopic beat every third beat)
    "PACE",   # paced rhythm (model only, see module doc)
    "PAUSE",  # an RR interval longer than the pause threshold (2.0 s by default)
    "NOISE",  # unreadable signal (from the signal-quality index)
)

#: Each code's name, as a report or a status line writes it.
RHYTHM_NAMES: dict[str, str] = {
    "SR": "Sinus rhythm", "SBRAD": "Sinus bradycardia", "STACH": "Sinus tachycardia",
    "SARRH": "Sinus arrhythmia", "AFIB": "Atrial fibrillation", "AFLT": "Atrial flutter",
    "SVTAC": "Supraventricular tachycardia", "VT": "Ventricular tachycardia",
    "BIGU": "Bigeminy", "TRIGU": "Trigeminy",
    "PACE": "Paced rhythm", "PAUSE": "Pause", "NOISE": "Unreadable signal",
}

#: What each code means, in a sentence (tooltips, report footnotes).
RHYTHM_DESCRIPTIONS: dict[str, str] = {
    "SR": "sinus rhythm, 60-100 bpm",
    "SBRAD": "sinus bradycardia, below 60 bpm",
    "STACH": "sinus tachycardia, above 100 bpm",
    "SARRH": "sinus arrhythmia",
    "AFIB": "atrial fibrillation",
    "AFLT": "atrial flutter",
    "SVTAC": "supraventricular tachycardia: a run of 3 or more S beats",
    "VT": "ventricular tachycardia: a run of 3 or more V beats",
    "BIGU": "bigeminy: an ectopic beat every second beat",
    "TRIGU": "trigeminy: an ectopic beat every third beat",
    "PACE": "paced rhythm",
    "PAUSE": "pause: an RR interval longer than the pause threshold",
    "NOISE": "unreadable signal",
}

#: Labels the learned model alone can produce (see module doc).
MODEL_ONLY_LABELS: frozenset[str] = frozenset({"AFLT", "PACE"})

#: Labels the rules derive from beat labels, RR intervals and the quality index.
RULE_LABELS: frozenset[str] = frozenset(RHYTHM_LABELS) - MODEL_ONLY_LABELS

#: Labels that need beat classes (N vs S vs V); with every beat unclassified ('Q')
#: only the rate, RR-irregularity and quality findings are made.
ECTOPY_LABELS: frozenset[str] = frozenset({"SVTAC", "VT", "BIGU", "TRIGU", "SARRH"})

#: Sinus-rhythm statements: they need sinus beats, so they are not made inside AF.
SINUS_LABELS: frozenset[str] = frozenset({"SR", "SBRAD", "STACH", "SARRH"})
