"""How many of a widget's pixels make a millimetre on its screen: what true-scale paper
(25 mm/s, 10 mm/mV) needs, for the strip and the 12-lead page alike."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from beatscope.display.paper import FALLBACK_PIXELS_PER_MM


def pixels_per_mm_of(screen) -> float:
    """Logical (widget) pixels per millimetre of ``screen`` (a QScreen or None).

    Qt reports the physical density in device pixels; widgets are laid out in logical
    pixels, which on a 2x HiDPI screen are two device pixels wide, so the density is
    divided by the device pixel ratio (else the paper came out twice true size). A
    density no real screen has (virtual and offscreen screens, some projectors) gives
    the fallback.
    """
    if screen is None:
        return FALLBACK_PIXELS_PER_MM
    dpi = float(screen.physicalDotsPerInch())
    ratio = float(screen.devicePixelRatio() or 1.0)
    return dpi / ratio / 25.4 if 50 <= dpi <= 600 * ratio else FALLBACK_PIXELS_PER_MM


def screen_pixels_per_mm(widget: QWidget) -> float:
    return pixels_per_mm_of(widget.screen())
