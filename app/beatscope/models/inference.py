"""Classifying segmented beats with a loaded weight set.

:class:`BeatClassifier` turns ``(n, 2, 400)`` windows and ``(n, 8)`` RR features
into AAMI labels and ensemble probabilities, in batches, under
``torch.inference_mode()``.

Precision: ``"auto"`` uses bfloat16 autocast where the hardware does bf16
natively (CPUs with AVX512-BF16 or AMX, CUDA GPUs that support it) and float32
elsewhere, because emulated bf16 is *slower* than float32. bf16 roughly doubles
the ResNet's CPU throughput; the softmax and the ensemble average always run in
float32 (see :class:`~beatscope.models.ensemble.Ensemble`). ``"fp32"`` forces
exact float32 (reproducible to the last bit on one machine); ``"bf16"`` forces
autocast even where it is emulated.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from beatscope.models.ensemble import Ensemble
from beatscope.models.weights_io import LoadedWeightSet

Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["auto", "fp32", "bf16"]
#: Beats per forward pass. 256 beat 1,024 by 16 % on the 2-core CPU (bf16, BN
#: folded: 1,727 vs 1,491 beats/s for the ensemble, bench/classifier.py): the
#: activations of a smaller batch stay in cache.
DEFAULT_BATCH = 256


@dataclass(frozen=True)
class Classification:
    """Labels, ensemble probabilities and (optionally) each member's probabilities."""

    labels: np.ndarray  # (n,) '<U1'
    probs: np.ndarray  # (n, n_classes) float32, rows sum to 1
    member_probs: dict[str, np.ndarray] | None = None


def available_cpus() -> int:
    """CPUs this process may run on (affinity/cgroup-aware where the OS says so)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA GPU")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return torch.device(device)


def native_bf16(device: torch.device) -> bool:
    """True when ``device`` runs bf16 matmuls/convs natively (so autocast pays off)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool((probe is not None and probe()) or (amx is not None and amx()))
    except RuntimeError:
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"fp32"`` or ``"bf16"`` for the requested precision on ``device``."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


class BeatClassifier:
    """The ensemble of a :class:`LoadedWeightSet`, ready to classify beats.

    ``num_threads`` (default: every CPU this process may use) is applied with
    ``torch.set_num_threads``, which is process-wide: the classifier is the only
    heavy torch user in an analysis run. On a machine whose cores are busy with
    other work, pass fewer: OpenMP threads spin-wait on each other, and measured
    here (2 cores, one taken by a training job) 2 threads ran the ResNet ~25%
    slower than 1 thread and the LSTM up to 30x slower.
    """

    def __init__(
        self,
        weight_set: LoadedWeightSet,
        device: Device | str = "auto",
        precision: Precision | str = "auto",
        batch_size: int = DEFAULT_BATCH,
        num_threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.batch_size = int(batch_size)
        if self.device.type == "cpu":
            torch.set_num_threads(num_threads or available_cpus())
        self.weight_set = weight_set
        self.classes: tuple[str, ...] = tuple(weight_set.classes)
        # BN folded into the convolutions where a member offers it (inference only)
        members = {k: getattr(m, "fused_for_inference", lambda m=m: m)()
                   for k, m in weight_set.models.items()}
        self.ensemble = Ensemble(
            {k: m.to(self.device).eval() for k, m in members.items()},
            weight_set.ensemble_weights,
            weight_set.temperatures,
        ).eval()
        self._class_array = np.asarray(self.classes, dtype="<U1")
        first = next(iter(weight_set.models.values()))
        self.in_leads: int = int(getattr(first, "in_leads", 2))
        self.n_rr: int = int(getattr(first, "config", lambda: {})().get("n_rr", 8))
        for name, m in weight_set.models.items():
            n_out = getattr(m, "config", lambda: {})().get("n_classes", len(self.classes))
            if n_out != len(self.classes):
                raise ValueError(f"member '{name}' has {n_out} outputs for "
                                 f"{len(self.classes)} classes")

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _batches(self, windows: np.ndarray, rr: np.ndarray
                 ) -> Iterator[tuple[slice, torch.Tensor, torch.Tensor]]:
        for start in range(0, windows.shape[0], self.batch_size):
            sl = slice(start, start + self.batch_size)
            # from_numpy on a float32 C-contiguous slice: no copy on CPU.
            x = torch.from_numpy(np.ascontiguousarray(windows[sl], dtype=np.float32))
            r = torch.from_numpy(np.ascontiguousarray(rr[sl], dtype=np.float32))
            yield sl, x.to(self.device, non_blocking=True), r.to(self.device, non_blocking=True)

    def _check(self, windows: np.ndarray, rr: np.ndarray) -> None:
        if windows.ndim != 3 or windows.shape[1] != self.in_leads:
            raise ValueError(f"windows must be (n, {self.in_leads}, length), "
                             f"got {windows.shape}")
        if rr.shape != (windows.shape[0], self.n_rr):
            raise ValueError(f"rr must be ({windows.shape[0]}, {self.n_rr}), got {rr.shape}")

    def classify_detailed(self, windows: np.ndarray, rr: np.ndarray,
                          members: bool = False) -> Classification:
        """Labels and probabilities; with ``members=True`` also each member's probabilities.

        Member probabilities are temperature-calibrated, i.e. exactly what the
        ensemble averages, so "each model alone vs the ensemble" compares like
        with like.
        """
        windows = np.asarray(windows)
        rr = np.asarray(rr)
        self._check(windows, rr)
        n, k = windows.shape[0], len(self.classes)
        probs = np.empty((n, k), dtype=np.float32)
        per = {name: np.empty((n, k), dtype=np.float32) for name in self.ensemble.members}
        with torch.inference_mode(), self._autocast():
            for sl, x, r in self._batches(windows, rr):
                if members:
                    mp = self.ensemble.member_probs(x, r)
                    p = self.ensemble.combine(mp)
                    for name, v in mp.items():
                        per[name][sl] = v.float().cpu().numpy()
                else:
                    p = self.ensemble(x, r)
                probs[sl] = p.float().cpu().numpy()
        labels = self._class_array[np.argmax(probs, axis=1)] if n else \
            np.empty(0, dtype="<U1")
        return Classification(labels=labels, probs=probs, member_probs=per if members else None)

    def classify(self, windows: np.ndarray, rr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(labels (n,) '<U1', probs (n, n_classes) float32)`` for ``n`` beats."""
        out = self.classify_detailed(windows, rr)
        return out.labels, out.probs

    def describe(self) -> dict[str, Any]:
        """Provenance for JSON output: device, precision, members and the weight set's identity."""
        m = self.weight_set.manifest
        return {
            "device": str(self.device),
            "precision": self.precision,
            "threads": torch.get_num_threads() if self.device.type == "cpu" else None,
            "batch_size": self.batch_size,
            "models": list(self.ensemble.members),
            "weights": dict(self.ensemble.weights),
            "temperatures": dict(self.ensemble.temperatures),
            "classes": list(self.classes),
            "model_version": m.get("model_version"),
            "name": m.get("name"),
            "created": m.get("created"),
            "weights_folder": str(self.weight_set.folder),
            "manifest_sha256": self.weight_set.manifest_sha256,
            "files": {k: v.get("sha256") for k, v in m.get("files", {}).items()},
        }
