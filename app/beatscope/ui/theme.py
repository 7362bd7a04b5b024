"""Colours and names on screen. The paper, trace and class colours are
:mod:`beatscope.display.palette`'s, which the PDF report shares."""

from __future__ import annotations

from PySide6.QtGui import QColor

from beatscope.display.palette import (  # noqa: F401 (re-exported for the widgets)
    CLASS_COLORS,
    GRID_LARGE,
    GRID_SMALL,
    PAPER_BACKGROUND,
    TRACE,
)

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
