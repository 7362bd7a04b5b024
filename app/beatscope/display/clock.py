"""Times as a cardiologist reads them: hh:mm:ss from the start of the record."""

from __future__ import annotations

import math
import re

_CLOCK = re.compile(r"^\s*(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)\s*$")


def format_clock(seconds: float, decimals: int = 0) -> str:
    """``3725.5`` -> ``"01:02:05"`` (or ``"01:02:05.500"`` with decimals=3).

    Negative values clamp to zero; hours keep counting past 24 for multi-day records.
    """
    seconds = max(0.0, float(seconds))
    if decimals > 0:
        scale = 10 ** decimals
        total = math.floor(seconds * scale + 0.5)
        whole, frac = divmod(total, scale)
    else:
        whole, frac = math.floor(seconds + 0.5), 0
    h, rem = divmod(int(whole), 3600)
    m, s = divmod(rem, 60)
    text = f"{h:02d}:{m:02d}:{s:02d}"
    if decimals > 0:
        text += f".{frac:0{decimals}d}"
    return text


def format_duration(seconds: float) -> str:
    """Short human duration: ``"45 s"``, ``"6 min 18 s"``, ``"2 h 05 min"``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s:02d} s"
    h, rem = divmod(round(seconds), 3600)
    return f"{h} h {rem // 60:02d} min"


def parse_clock(text: str) -> float:
    """``"1:02:05"``, ``"62:05"``, ``"3725"`` or ``"12.5"`` -> seconds; ValueError otherwise."""
    match = _CLOCK.match(text)
    if not match:
        raise ValueError(f"not a time: {text!r} (use hh:mm:ss, mm:ss or seconds)")
    a, b, c = match.groups()
    parts = [p for p in (a, b) if p is not None]
    seconds = float(c)
    if parts and seconds >= 60:
        raise ValueError(f"seconds must be below 60 in {text!r}")
    if len(parts) == 2:
        if int(parts[1]) >= 60:
            raise ValueError(f"minutes must be below 60 in {text!r}")
        return int(parts[0]) * 3600 + int(parts[1]) * 60 + seconds
    if len(parts) == 1:
        return int(parts[0]) * 60 + seconds
    return seconds
