"""Colours and glyphs: ECG paper, and one colour-blind-safe colour per AAMI class.

The class colours are from the Okabe-Ito palette, chosen to stay distinct under
the common colour-vision deficiencies. N is near-black, like the trace, so the
abnormal beats are the ones that stand out; S, V, F and Q also carry their
letter, so colour is never the only cue.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

CLASS_COLORS: dict[str, str] = {
    "N": "#1a1a1a",  # the trace colour: normal beats do not call for attention
    "S": "#0072B2",  # blue
    "V": "#D55E00",  # vermillion
    "F": "#CC79A7",  # reddish purple
    "Q": "#E69F00",  # orange
}
CLASS_NAMES: dict[str, str] = {
    "N": "normal / bundle branch block",
    "S": "supraventricular ectopic",
    "V": "ventricular ectopic",
    "F": "fusion",
    "Q": "paced / unclassifiable",
}
#: The legend's short names (the full ones are its tooltips): the header line keeps
#: room for the review's count on a 1,500-px window.
CLASS_SHORT_NAMES: dict[str, str] = {"N": "normal", "S": "SVEB", "V": "VEB", "F": "fusion",
                                     "Q": "paced / unclass."}

PAPER_BACKGROUND = "#fffaf8"
GRID_SMALL = "#f6d8d3"  # 1-mm lines
GRID_LARGE = "#e8a9a0"  # 5-mm lines
TRACE = "#1a1a1a"
SELECTED_BEAT = "#009E73"  # bluish green, not a class colour
EDITED_BEAT = "#222222"  # the box around a beat the reviewer changed
SELECTION_BAND = (0, 158, 115, 40)  # the beats selected with Ctrl+drag
CALIPER = "#0a5c8a"
OVERVIEW_TRACE = "#555555"
HEART_RATE = "#b03060"

#: Rhythm episode colours by label family (abnormal rhythms warm, sinus cool).
RHYTHM_COLORS: dict[str, str] = {
    "AFIB": "#D55E00",
    "AFLT": "#E69F00",
    "VT": "#B2182B",
    "SVTAC": "#0072B2",
    "BIGU": "#CC79A7",
    "TRIGU": "#CC79A7",
    "PAUSE": "#444444",
    "SBRAD": "#56B4E9",
    "STACH": "#F0A030",
    "SARRH": "#009E73",
    "SR": "#9ecae1",
    "NOISE": "#999999",
    "PACE": "#777777",
}


def class_color(cls: str) -> QColor:
    return QColor(CLASS_COLORS.get(cls, "#777777"))


def rhythm_color(label: str) -> QColor:
    return QColor(RHYTHM_COLORS.get(label, "#888888"))
