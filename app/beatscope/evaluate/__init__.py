"""Scoring BeatScope's output against reference annotations (AAMI EC57 style)."""

from beatscope.evaluate.matching import match_beats
from beatscope.evaluate.detection import DetectionScore, score_detection, excluded_intervals

__all__ = ["DetectionScore", "excluded_intervals", "match_beats", "score_detection"]
