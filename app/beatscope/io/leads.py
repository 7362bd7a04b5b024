"""Lead names: normalising the many spellings, and choosing the leads the beat models use.

The beat models were trained on MIT-BIH records (MLII plus V1/V5), so when a record
offers several leads we feed them the closest equivalents: a limb lead II first,
then V1, then V5, then whatever else the record has, in file order.
"""

from __future__ import annotations

import re

# Normalised name -> preference rank (lower is preferred).
_PREFERRED: dict[str, int] = {
    # limb lead II and its modified (Mason-Likar / Holter) variants
    "II": 0, "MLII": 0, "ML2": 0, "DII": 0, "D2": 0, "MII": 0,
    # V1 and modified V1
    "V1": 1, "MV1": 1, "MCL1": 1,
    # V5 and its bipolar Holter equivalents
    "V5": 2, "MV5": 2, "CM5": 2, "CC5": 2, "ML5": 2,
}

# Standard 12-lead and Holter lead names, normalised (used to recognise ECG channels).
STANDARD_LEADS: frozenset[str] = frozenset(
    {"I", "II", "III", "AVR", "AVL", "AVF", "MLI", "MLII", "MLIII", "ML2", "DI", "DII",
     "DIII", "D1", "D2", "D3", "MV1", "MCL1", "MV5", "CM5", "CC5", "ML5", "CM2", "CM1",
     "CM3"}
    | {f"V{i}" for i in range(1, 10)}
    | {f"V{i}R" for i in range(1, 7)}
)

_PREFIX = re.compile(r"^(?:ECG|EKG|LEAD|DERIVATION)+")
_UNIT_SUFFIX = re.compile(r"\((?:[^)]*)\)$|\[(?:[^\]]*)\]$")


def normalise_lead_name(name: str) -> str:
    """Upper-case ``name`` and drop spaces, separators, unit suffixes and ECG/lead prefixes.

    "lead II" -> "II", "ECG V1" -> "V1", "MLII" -> "MLII", "II (mV)" -> "II",
    "ECG1" -> "1" (a channel number, not a lead name).
    """
    text = _UNIT_SUFFIX.sub("", name.strip()).upper()
    text = re.sub(r"[\s_\-.:]+", "", text)
    stripped = _PREFIX.sub("", text)
    return stripped if stripped else text


def is_ecg_label(label: str) -> bool:
    """True when a channel label names an ECG lead ("ECG", "EKG II", "V5", "MLII", ...)."""
    upper = label.upper()
    if "ECG" in upper or "EKG" in upper:
        return True
    return normalise_lead_name(label) in STANDARD_LEADS


def select_model_leads(lead_names: list[str], n: int = 2) -> list[int]:
    """Indices of up to ``n`` distinct leads for the beat models, best first.

    Preference: lead II (MLII, ML2, "lead II", ...), then V1, then V5, then the other
    leads in file order. Matching ignores case, spaces and "ECG"/"lead" prefixes.
    A one-lead record gives ``[0]``; no leads (or ``n < 1``) gives ``[]``.
    """
    if n < 1 or not lead_names:
        return []
    ranked = sorted(
        range(len(lead_names)),
        key=lambda i: (_PREFERRED.get(normalise_lead_name(lead_names[i]), 3), i),
    )
    return ranked[:n]
