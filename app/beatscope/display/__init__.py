"""What the viewer shows, computed without Qt.

The Qt layer (:mod:`beatscope.ui`) only turns these arrays into pixels. Keeping
the arithmetic here (decimation, paper scale, navigation, calipers, the beat
store that fills while an analysis streams) lets it be tested headless and
reused by other front ends, the way napari keeps its layer model apart from
its ``_qt`` widgets.
"""

from beatscope.display.baseline import Baseline
from beatscope.display.beat_store import BeatStore
from beatscope.display.calipers import CaliperMeasurement, measure
from beatscope.display.clock import format_clock, format_duration, parse_clock
from beatscope.display.decimate import MinMaxPyramid, min_max_envelope
from beatscope.display.marks import marks_in_view
from beatscope.display.navigation import (
    adjacent_beat,
    adjacent_beat_of_class,
    adjacent_episode,
)
from beatscope.display.paper import (
    GAINS_MM_PER_MV,
    SPEEDS_MM_PER_S,
    PaperScale,
)
from beatscope.display.session import Phase, ViewerSession
from beatscope.display.trend import heart_rate_at, heart_rate_trend

__all__ = [
    "GAINS_MM_PER_MV",
    "SPEEDS_MM_PER_S",
    "Baseline",
    "BeatStore",
    "CaliperMeasurement",
    "MinMaxPyramid",
    "PaperScale",
    "Phase",
    "ViewerSession",
    "adjacent_beat",
    "adjacent_beat_of_class",
    "adjacent_episode",
    "format_clock",
    "format_duration",
    "heart_rate_at",
    "heart_rate_trend",
    "marks_in_view",
    "measure",
    "min_max_envelope",
    "parse_clock",
]
