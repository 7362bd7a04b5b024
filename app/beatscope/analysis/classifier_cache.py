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


#: The manifest sha256 each installed classifier was built from (install_classifier).
_installed: dict[ClassifierSpec, str | None] = {}


def install_classifier(spec: ClassifierSpec, files: dict[str, bytes] | None,
                       origin: Path, manifest_sha256: str | None) -> None:
    """Build ``spec``'s classifier from weight files read on another machine and cache
    it, so that ``load_classifier(spec)`` in this process returns it without looking
    at this machine's disk (a Ray worker, whose node may not hold the weights).

    ``files`` is ``weights_io.read_weight_set_files``'s dict (None: the sender had no
    weight set, so beats are labelled Q there too); every file is verified against the
    manifest, and the manifest against ``manifest_sha256``, the hash the sender's
    outputs record. A process that already holds that set keeps it.
    """
    with _lock:
        if holds_installed(spec, manifest_sha256):
            return
        if files is None:
            _cache[spec] = None
        else:
            from beatscope.models import BeatClassifier
            from beatscope.models.weights_io import WeightsError, load_weight_set_from_files

            weight_set = load_weight_set_from_files(files, origin, device="cpu")
            if weight_set.manifest_sha256 != manifest_sha256:
                raise WeightsError(f"{origin}: the manifest received is not the one sent "
                                   f"(sha256 {weight_set.manifest_sha256[:12]}…, expected "
                                   f"{(manifest_sha256 or '')[:12]}…)")
            _cache[spec] = BeatClassifier(weight_set, device=spec.device,
                                          num_threads=spec.threads)
        _installed[spec] = manifest_sha256


def holds_installed(spec: ClassifierSpec, manifest_sha256: str | None) -> bool:
    """Whether this process already holds ``spec``'s classifier installed from that
    manifest (so the sender's weight files need not be fetched again)."""
    return spec in _cache and _installed.get(spec, "") == manifest_sha256
