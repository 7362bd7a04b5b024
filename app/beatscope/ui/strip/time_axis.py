"""A time axis that reads hh:mm:ss from the start of the record."""

from __future__ import annotations

import pyqtgraph as pg

from beatscope.display import format_clock

#: Tick spacings a clock reader expects (seconds), from 40 ms to 6 h.
_NICE_S = (0.04, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
           7200, 10800, 21600)
#: Aim for a labelled tick every this many pixels.
_LABEL_SPACING_PX = 110


class TimeAxis(pg.AxisItem):
    def __init__(self, orientation: str = "bottom", **kwargs):
        super().__init__(orientation, **kwargs)

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802 (Qt API)
        span = abs(maxVal - minVal)
        if span <= 0 or size <= 0:
            return []
        wanted = span * _LABEL_SPACING_PX / size
        major = next((s for s in _NICE_S if s >= wanted), _NICE_S[-1])
        minor = next((s for s in reversed(_NICE_S) if s <= major / 4), major / 5)
        return [(major, 0), (minor, 0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (Qt API)
        decimals = 0 if spacing >= 1 else (1 if spacing >= 0.1 else 2)
        return [format_clock(v, decimals) for v in values]
