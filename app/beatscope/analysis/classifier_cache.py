"""Building the beat classifier once per process, for the CLI and the viewer alike.

Loading a weight set (hashing, unpickling, building both networks) takes about
half a second, so each process keeps one classifier per ``ClassifierSpec``.
torch is imported only when a classifier is actually built.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ClassifierSpec:
    """How to build the classifier; picklable, so each ``--jobs`` worker loads its own."""

    weights: Path | None = None  # None: the shipped production set
    device: str = "auto"
    #: an explicitly named weight set must load; the default set may be absent
    required: bool = False
    threads: int | None = None  # torch threads per process: --jobs workers share the CPUs


_cache: dict[ClassifierSpec, object] = {}
# The viewer's warm-up and its analysis job may ask at once: load only once.
_lock = threading.Lock()


def load_classifier(spec: ClassifierSpec | None):
    """The BeatClassifier for ``spec`` (cached per process), or None without weights.

    Raises WeightsError for weights that exist but do not verify, and ValueError
    for a device torch cannot use.
    """
    if spec is None:
        return None
    with _lock:
        if spec not in _cache:
            from beatscope.models import BeatClassifier, default_weights_dir, load_weight_set

            folder = spec.weights or default_weights_dir()
            if not spec.required and not (folder / "manifest.json").exists():
                _cache[spec] = None
            else:
                weight_set = load_weight_set(folder, device="cpu")
                _cache[spec] = BeatClassifier(weight_set, device=spec.device,
                                              num_threads=spec.threads)
        return _cache[spec]
