"""The state of the viewer's open record, and what its commands do to it.

Qt-free: the window forwards the worker's reports here (``loaded``,
``add_beats``, ``finish``, ``fail``) and asks it where navigation commands
land, then renders the answer. Tests can drive a whole session without a
display.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from beatscope.display.beat_store import BeatStore
from beatscope.display.decimate import MinMaxPyramid
from beatscope.display.navigation import adjacent_beat, adjacent_beat_of_class, adjacent_episode


class Phase(enum.Enum):
    EMPTY = "no record"
    LOADING = "opening"
    ANALYSING = "analysing"
    DONE = "analysed"
    CANCELLED = "analysis cancelled"
    FAILED = "analysis failed"


@dataclass
class ViewerSession:
    record: object | None = None  # beatscope.io.Record
    pyramid: MinMaxPyramid | None = None
    beats: BeatStore | None = None
    result: object | None = None  # AnalysisResult once finished
    model: dict | None = None  # the classifier's describe(); None = no classifier
    phase: Phase = Phase.EMPTY
    selected_beat: int | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: the finished analysis a re-analysis is replacing: it stands until the new one
    #: is complete, and comes back if that one is cancelled or fails
    _previous: tuple | None = field(default=None, repr=False)

    # ---------------------------------------------------------------- reports
    def loaded(self, record, pyramid: MinMaxPyramid) -> None:
        self._previous = None
        self.record, self.pyramid = record, pyramid
        self.beats = BeatStore(record.fs)
        self.result, self.model, self.selected_beat = None, None, None
        self.phase, self.error = Phase.ANALYSING, None
        self.warnings = list(record.notes)

    def restart(self) -> None:
        """Re-analysis of the open record: the beats are rebuilt from scratch, and the
        finished result is kept aside until the new one is complete."""
        if self.record is None:
            return
        if self.result is not None:
            self._previous = (self.beats, self.result, self.warnings)
        self.beats = BeatStore(self.record.fs)
        self.result, self.selected_beat, self.error = None, None, None
        self.phase = Phase.ANALYSING

    def add_beats(self, first: int, samples, labels, probabilities) -> None:
        if self.beats is not None:
            self.beats.extend(first, samples, labels, probabilities)

    def finish(self, result) -> bool:
        """Take the final result; True when the streamed beats had to be replaced."""
        self.result = result
        b = result.beats
        replaced = self.beats is None or len(self.beats) != len(b)
        if replaced:  # streaming is an optimisation; the result is the truth
            self.beats = BeatStore(result.record.fs)
            self.beats.extend(0, b.sample, b.label, b.probability)
        self.warnings = list(result.warnings)
        self.phase = Phase.DONE
        self._previous = None
        return replaced

    def fail(self, message: str) -> bool:
        """The analysis failed; True when a re-analysis failed and the previous
        result is back."""
        self.error = message
        if self.record is not None and self.phase in (Phase.ANALYSING, Phase.LOADING):
            if self._restore_previous():
                return True
            self.phase = Phase.FAILED
        return False

    def cancel(self) -> bool:
        """The analysis was cancelled; True when a re-analysis was cancelled and the
        previous result is back (a finished result is never thrown away)."""
        if self.phase in (Phase.ANALYSING, Phase.LOADING):
            if self._restore_previous():
                return True
            self.phase = Phase.CANCELLED if self.record is not None else Phase.EMPTY
        return False

    def _restore_previous(self) -> bool:
        if self._previous is None:
            return False
        self.beats, self.result, self.warnings = self._previous
        self._previous, self.selected_beat = None, None
        self.phase = Phase.DONE
        return True

    # ------------------------------------------------------------ properties
    @property
    def duration_s(self) -> float:
        return 0.0 if self.record is None else float(self.record.duration_s)

    @property
    def rhythm(self) -> dict | None:
        return None if self.result is None else getattr(self.result, "rhythm", None)

    @property
    def episodes(self) -> list[dict]:
        return list((self.rhythm or {}).get("episodes") or [])

    def beat_time(self, index: int) -> float:
        return float(self.beats.sample[index] / self.beats.fs)

    # ------------------------------------------------------------ navigation
    def step_beat(self, step: int) -> int | None:
        if self.beats is None:
            return None
        self.selected_beat = adjacent_beat(self.beats.sample, self.selected_beat, step)
        return self.selected_beat

    def jump_to_class(self, cls: str, t: float, forward: bool) -> int | None:
        """Select the next (previous) beat of ``cls`` after (before) time ``t``."""
        if self.beats is None:
            return None
        index = adjacent_beat_of_class(self.beats.sample, self.beats.label, self.beats.fs,
                                       t, cls, forward)
        if index is not None:
            self.selected_beat = index
        return index

    def jump_to_episode(self, t: float, forward: bool) -> dict | None:
        episodes = self.episodes
        i = adjacent_episode(episodes, t, forward)
        return None if i is None else episodes[i]

    def select(self, index: int | None) -> None:
        if index is not None and self.beats is not None:
            index = int(np.clip(index, 0, len(self.beats) - 1))
        self.selected_beat = index
