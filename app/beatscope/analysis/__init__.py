"""The headless analysis engine that the CLI and the GUI both drive."""

from beatscope.analysis.pipeline import MIN_DURATION_S, AnalysisOptions, analyze
from beatscope.analysis.result import SCHEMA_VERSION, AnalysisResult, BeatTable

__all__ = ["MIN_DURATION_S", "SCHEMA_VERSION", "AnalysisOptions", "AnalysisResult",
           "BeatTable", "analyze"]
