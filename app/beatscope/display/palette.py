"""The colours of ECG paper, the trace and the beat classes, shared by the viewer and the
PDF report (so a printed strip looks like the screen's). Hex strings; Qt-free.

The class colours are from the Okabe-Ito palette, chosen to stay distinct under the
common colour-vision deficiencies. N is near-black, like the trace, so the abnormal
beats are the ones that stand out; S, V, F and Q also carry their letter, so colour is
never the only cue.
"""

from __future__ import annotations

CLASS_COLORS: dict[str, str] = {
    "N": "#1a1a1a",  # the trace colour: normal beats do not call for attention
    "S": "#0072B2",  # blue
    "V": "#D55E00",  # vermillion
    "F": "#CC79A7",  # reddish purple
    "Q": "#E69F00",  # orange
}
PAPER_BACKGROUND = "#fffaf8"
GRID_SMALL = "#f6d8d3"  # 1-mm lines
GRID_LARGE = "#e8a9a0"  # 5-mm lines
TRACE = "#1a1a1a"
