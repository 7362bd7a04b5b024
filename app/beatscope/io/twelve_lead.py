"""The standard lead names as the resting 12-lead readers (DICOM, MUSE, Philips) spell
them, whatever spelling the file uses ("AVR", "Lead aVR", "avr" -> "aVR").

Kept apart from ``leads.py`` (which ranks leads for the beat models) so the readers
share one spelling and one lead order; the two could merge when ``leads.py`` is next
changed.
"""

from __future__ import annotations

from beatscope.io.leads import STANDARD_LEADS, normalise_lead_name

LIMB_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF")
STANDARD_ORDER = LIMB_LEADS + ("V1", "V2", "V3", "V4", "V5", "V6")
_AUGMENTED = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}


def canonical_lead_name(label: str) -> str:
    """``label`` in its standard spelling when it names a known lead (I, aVR, V1, V3R,
    MLII, ...); otherwise ``label`` as written, stripped."""
    name = normalise_lead_name(label)
    if name in STANDARD_LEADS:
        return _AUGMENTED.get(name, name)
    return label.strip()
