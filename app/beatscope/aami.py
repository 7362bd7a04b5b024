"""AAMI EC57 beat classes and the MIT-BIH symbol mapping (one table for the whole app)."""

from __future__ import annotations

AAMI_CLASSES: tuple[str, ...] = ("N", "S", "V", "F", "Q")

# MIT-BIH / WFDB beat symbols -> AAMI EC57 class.
SYMBOL_TO_AAMI: dict[str, str] = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "E": "V",
    "F": "F",
    "/": "Q", "f": "Q", "Q": "Q",
}

BEAT_SYMBOLS: frozenset[str] = frozenset(SYMBOL_TO_AAMI)


def is_beat(symbol: str) -> bool:
    """True for annotation symbols that mark a heartbeat (not rhythm, noise or artefact marks)."""
    return symbol in BEAT_SYMBOLS
