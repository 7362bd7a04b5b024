"""Physical-unit handling: every reader hands the pipeline signals in millivolts.

Files state their units in many spellings ("uV", "µV", "microvolts", "mV", "V").
Voltage units are converted to mV; anything else (a missing or unknown unit) is
assumed to be mV already, and its original spelling is kept in ``Record.units`` so
that a reviewer can see the assumption.
"""

from __future__ import annotations

import re

import numpy as np

MV = "mV"

# lower-cased unit spelling -> factor that turns a value in that unit into mV
_TO_MV: dict[str, float] = {
    "mv": 1.0, "millivolt": 1.0, "millivolts": 1.0,
    "uv": 1e-3, "\u00b5v": 1e-3, "\u03bcv": 1e-3, "microvolt": 1e-3, "microvolts": 1e-3,
    "nv": 1e-6, "nanovolt": 1e-6, "nanovolts": 1e-6,
    "v": 1e3, "volt": 1e3, "volts": 1e3,
}

_UNIT_ALTERNATIVES = "|".join(
    re.escape(u) for u in sorted(_TO_MV, key=len, reverse=True)
)
# "II (uV)", "II [mV]", "V1 uV" (space) and "II_uV" carry their unit in the column name.
_BRACKETED_UNIT = re.compile(rf"^(?P<name>.*?)\s*[\(\[]\s*(?P<unit>{_UNIT_ALTERNATIVES})\s*[\)\]]$",
                             re.IGNORECASE)
# A bare "V" suffix is not taken as volts: "ECG V" or "Lead_V" more likely name a lead.
_SUFFIX_UNIT = re.compile(
    rf"^(?P<name>.+?)[\s_]+(?P<unit>{'|'.join(re.escape(u) for u in _TO_MV if u != 'v')})$",
    re.IGNORECASE,
)


def mv_factor(unit: str | None) -> float | None:
    """Factor converting ``unit`` to millivolts, or None when ``unit`` is not a voltage."""
    if unit is None:
        return None
    return _TO_MV.get(unit.strip().lower())


def is_voltage(unit: str | None) -> bool:
    """True for a recognised voltage unit (mV, uV, V, ...)."""
    return mv_factor(unit) is not None


def output_unit(unit: str | None) -> str:
    """The unit a lead carries after conversion: "mV", or the unknown unit unchanged."""
    if not unit or not unit.strip():
        return MV
    return MV if is_voltage(unit) else unit.strip()


def convert_to_mv(signals: np.ndarray, units: list[str]) -> list[str]:
    """Scale the columns of ``signals`` (n, leads) to mV in place; return the new units.

    Columns in an unknown unit are left as they are (assumed mV).
    """
    for i, unit in enumerate(units):
        factor = mv_factor(unit)
        if factor is not None and factor != 1.0:
            signals[:, i] *= np.float32(factor)
    return [output_unit(u) for u in units]


def split_name_unit(column: str) -> tuple[str, str | None]:
    """Split a column title such as "II (uV)" or "V1_mV" into ("II", "uV").

    Returns ``(column, None)`` when the title names no voltage unit.
    """
    text = column.strip()
    for pattern in (_BRACKETED_UNIT, _SUFFIX_UNIT):
        match = pattern.match(text)
        if match and match.group("name").strip():
            return match.group("name").strip(), match.group("unit")
    return text, None
