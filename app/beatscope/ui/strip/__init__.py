"""The strip view: stacked leads on ECG paper, beat marks, calipers."""

from beatscope.ui.strip.view import StripView

__all__ = ["StripView"]
