"""Where the keyboard's next/previous commands land."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def adjacent_beat(sample: np.ndarray, current: int | None, step: int) -> int | None:
    """Beat index ``step`` beats away from ``current`` (clamped); the first beat if none."""
    n = len(sample)
    if n == 0:
        return None
    if current is None:
        return 0 if step >= 0 else n - 1
    return int(np.clip(current + step, 0, n - 1))


def adjacent_beat_of_class(sample: np.ndarray, label: np.ndarray, fs: float, t: float,
                           cls: str, forward: bool) -> int | None:
    """Index of the next (or previous) ``cls`` beat strictly after (before) time ``t``."""
    where = np.flatnonzero(label == cls)
    if len(where) == 0:
        return None
    times = sample[where]
    pos = t * fs
    if forward:
        k = int(np.searchsorted(times, pos, side="right"))
        # a beat within half a sample of t is the current one, not the next
        while k < len(times) and times[k] - pos <= 0.5:
            k += 1
        return int(where[k]) if k < len(times) else None
    k = int(np.searchsorted(times, pos, side="left")) - 1
    while k >= 0 and pos - times[k] <= 0.5:
        k -= 1
    return int(where[k]) if k >= 0 else None


def adjacent_episode(episodes: Sequence[dict], t: float, forward: bool,
                     tolerance_s: float = 0.05) -> int | None:
    """Index in ``episodes`` of the next (previous) one starting after (before) ``t``.

    ``episodes`` are dicts with ``start_s``; they need not be sorted.
    """
    starts = [(float(e["start_s"]), i) for i, e in enumerate(episodes)]
    if forward:
        later = [(s, i) for s, i in starts if s > t + tolerance_s]
        return min(later)[1] if later else None
    earlier = [(s, i) for s, i in starts if s < t - tolerance_s]
    return max(earlier)[1] if earlier else None
