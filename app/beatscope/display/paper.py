"""ECG paper arithmetic: chart speed, gain, grid steps and lead stacking.

Paper ECG is read in millimetres: at the standard 25 mm/s and 10 mm/mV a small
(1 mm) box is 40 ms by 0.1 mV and a large (5 mm) box 200 ms by 0.5 mV. The
viewer keeps that relation on screen: a physical millimetre of the display is
``pixels_per_mm`` pixels, so the visible time span follows from the plot width
and the speed, and the visible millivolts from its height and the gain.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SPEEDS_MM_PER_S: tuple[float, ...] = (12.5, 25.0, 50.0)
GAINS_MM_PER_MV: tuple[float, ...] = (5.0, 10.0, 20.0)
DEFAULT_SPEED = 25.0
DEFAULT_GAIN = 10.0
#: Screens that report no usable physical size get the CSS reference pixel.
FALLBACK_PIXELS_PER_MM = 96 / 25.4
#: Grid lines closer than this many pixels are not drawn (they would be a smear).
MIN_GRID_SPACING_PX = 3.0
#: Leads are never stacked closer than this (mV), whatever the window height.
MIN_LEAD_SPACING_MV = 1.5


@dataclass(frozen=True)
class PaperScale:
    """The nominal chart speed and gain, and how big a millimetre is on screen."""

    speed_mm_s: float = DEFAULT_SPEED
    gain_mm_mv: float = DEFAULT_GAIN
    pixels_per_mm: float = FALLBACK_PIXELS_PER_MM

    def with_speed(self, speed: float) -> PaperScale:
        return replace(self, speed_mm_s=float(speed))

    def with_gain(self, gain: float) -> PaperScale:
        return replace(self, gain_mm_mv=float(gain))

    # --- time axis
    def seconds_for_width(self, width_px: float) -> float:
        """Visible time span of a plot ``width_px`` wide at the nominal speed."""
        return width_px / self.pixels_per_mm / self.speed_mm_s

    def effective_speed(self, width_px: float, span_s: float) -> float:
        """The speed the screen shows when ``span_s`` seconds fill ``width_px``."""
        return width_px / self.pixels_per_mm / max(span_s, 1e-9)

    @property
    def small_box_s(self) -> float:
        return 1.0 / self.speed_mm_s

    @property
    def large_box_s(self) -> float:
        return 5.0 / self.speed_mm_s

    # --- amplitude axis
    def millivolts_for_height(self, height_px: float) -> float:
        return height_px / self.pixels_per_mm / self.gain_mm_mv

    @property
    def small_box_mv(self) -> float:
        return 1.0 / self.gain_mm_mv

    @property
    def large_box_mv(self) -> float:
        return 5.0 / self.gain_mm_mv

    def lead_spacing_mv(self, height_px: float, n_leads: int) -> float:
        """Baseline-to-baseline distance that shares the height among the leads.

        Rounded down to whole large boxes, so every baseline sits on a 5-mm line
        as on a printed strip.
        """
        share = self.millivolts_for_height(height_px) / max(1, n_leads)
        boxes = max(1, int(share / self.large_box_mv))
        return max(MIN_LEAD_SPACING_MV, boxes * self.large_box_mv)


def grid_visible(step: float, pixels_per_unit: float) -> bool:
    """Whether grid lines ``step`` data units apart are far enough apart to draw."""
    return step * pixels_per_unit >= MIN_GRID_SPACING_PX
