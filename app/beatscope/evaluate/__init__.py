"""Scoring BeatScope's output against reference annotations (AAMI EC57 style)."""

from beatscope.evaluate.detection import DetectionScore, excluded_intervals, score_detection
from beatscope.evaluate.matching import match_beats

__all__ = ["DetectionScore", "excluded_intervals", "match_beats", "score_detection"]
