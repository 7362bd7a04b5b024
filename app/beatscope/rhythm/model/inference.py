"""Running the shipped rhythm model on a record, for ``derive_rhythm``.

``RhythmModel.windows(signals, fs, lead_names)`` picks one lead by name (II /
MLII first, then V1, V5, the others in file order: :func:`beatscope.io.select_model_leads`,
the same preference as the beat models; CinC's training lead is lead I-like, and
lead II is the closest standard lead with the clearest P wave), cuts 10-s windows
every 5 s, scores them in batches (bf16 autocast on the CPU where it is native)
and returns a :class:`~beatscope.rhythm.ModelWindows`. The record-level call of a
CinC-style strip is the mean of its windows' probabilities.

Weights load through :func:`beatscope.models.weights_io.load_weight_set`: size and
sha256 checked before ``torch.load(weights_only=True)``, strict state dict.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model_input import ModelWindows
from .network import MODEL_FS, WINDOW_S, RhythmCnnBiLstm, RhythmEnsemble
from .signal import cut_windows, to_model_rate, window_starts

#: Environment variable overriding :func:`default_rhythm_weights_dir`.
RHYTHM_WEIGHTS_ENV = "BEATSCOPE_RHYTHM_WEIGHTS"
#: The model's labels, in output order: CinC's N (normal sinus), A (AF), O (other
#: rhythm) and ~ (too noisy to read).
LABELS: tuple[str, ...] = ("N", "AFIB", "OTHER", "NOISE")
#: The model labels handed to ``derive_rhythm`` (fused there with the rule scores).
FUSED_MODEL_LABELS: tuple[str, ...] = ("AFIB",)
STRIDE_S = 5.0


def default_rhythm_weights_dir() -> Path:
    """``$BEATSCOPE_RHYTHM_WEIGHTS`` if set, else the shipped ``model_weights/rhythm``."""
    from beatscope.weights_location import rhythm_weights_dir

    return rhythm_weights_dir()


def _register() -> None:
    from beatscope.models import weights_io

    weights_io.ARCHITECTURES.setdefault("RhythmCnnBiLstm", RhythmCnnBiLstm)


def _bf16_native() -> bool:
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # older torch or no oneDNN: stay in float32
        return False


@dataclass
class RhythmModel:
    """A loaded rhythm model: network, labels, per-label thresholds, manifest."""

    net: Any
    labels: tuple[str, ...]
    thresholds: dict[str, float]
    manifest: dict
    manifest_sha256: str = ""
    precision: str = "fp32"
    batch: int = 256
    device: str = "cpu"  # the training loop validates on the GPU when it trains there

    @classmethod
    def load(cls, folder: str | os.PathLike[str] | None = None,
             precision: str = "auto") -> RhythmModel:
        """Verify and load a rhythm weight set; raises ``WeightsError``.

        A set holds one network (``rhythm``) or several members (an ensemble of
        seeds, ``beatscope combine-rhythm``); members are combined by
        :class:`RhythmEnsemble` and the manifest's thresholds are the ensemble's.
        """
        from beatscope.models.weights_io import WeightsError, load_weight_set

        _register()
        folder = Path(folder) if folder is not None else default_rhythm_weights_dir()
        ws = load_weight_set(folder, device="cpu")
        if not ws.models or not all(isinstance(m, RhythmCnnBiLstm) for m in ws.models.values()):
            raise WeightsError(f"{folder}: not a rhythm weight set (its networks: "
                               f"{', '.join(ws.models) or 'none'})")
        if len(ws.models) == 1:
            net = next(iter(ws.models.values()))
        else:
            weights = ws.ensemble_weights
            net = RhythmEnsemble(list(ws.models.values()), [weights[k] for k in ws.models])
            net.eval()
        thresholds = {k: float(v) for k, v in (ws.manifest.get("thresholds") or {}).items()}
        if precision == "auto":
            precision = "bf16" if _bf16_native() else "fp32"
        return cls(net, tuple(ws.classes), thresholds, ws.manifest, ws.manifest_sha256,
                   precision)

    @classmethod
    def combine(cls, models: list[RhythmModel]) -> RhythmModel:
        """Equal-weight ensemble of loaded models with the same labels (for the
        cross-validation benches, which combine the fold models of several seeds)."""
        if not models or any(m.labels != models[0].labels for m in models):
            raise ValueError("combine needs models with the same labels")
        if len(models) == 1:
            return models[0]
        net = RhythmEnsemble([m.net for m in models]).eval()
        return cls(net, models[0].labels, mean_thresholds([m.thresholds for m in models]),
                   {"members": [m.manifest for m in models]}, "", models[0].precision,
                   models[0].batch, models[0].device)

    def describe(self) -> dict:
        members = getattr(self.net, "members", None)
        return {"weights": self.manifest.get("model_version", "rhythm"),
                "manifest_sha256": self.manifest_sha256, "precision": self.precision,
                "members": 1 if members is None else len(members),
                "thresholds": dict(self.thresholds),
                "trained_on": self.manifest.get("trained_on")}

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """``(n, 1000)`` z-scored windows -> ``(n, n_labels)`` probabilities."""
        import torch

        out = np.zeros((len(windows), len(self.labels)), np.float32)
        with torch.inference_mode(), torch.autocast(
                torch.device(self.device).type, dtype=torch.bfloat16,
                enabled=self.precision == "bf16"):
            for i in range(0, len(windows), self.batch):
                x = torch.from_numpy(np.ascontiguousarray(windows[i:i + self.batch]))[:, None, :]
                logits = self.net(x.to(self.device)).float()
                out[i:i + self.batch] = torch.sigmoid(logits).cpu().numpy()
        return out

    def windows(self, signals: np.ndarray, fs: float, lead_names: list[str] | None = None,
                stride_s: float = STRIDE_S) -> ModelWindows:
        """Window probabilities over a whole record ``(n_samples, n_leads)``."""
        from beatscope.io import select_model_leads

        signals = np.asarray(signals)
        if signals.ndim == 1:
            signals = signals[:, None]
        names = list(lead_names or [f"lead{i}" for i in range(signals.shape[1])])
        lead = (select_model_leads(names, 1) or [0])[0]
        x = to_model_rate(signals[:, lead], fs)
        starts = window_starts(len(x), int(round(stride_s * MODEL_FS)))
        probs = np.zeros((len(starts), len(self.labels)), np.float32)
        chunk = 2048  # windows cut per step: bounded memory on 24-h records
        for i in range(0, len(starts), chunk):
            probs[i:i + chunk] = self.predict(cut_windows(x, starts[i:i + chunk]))
        start_s = starts / MODEL_FS
        end_s = np.minimum(start_s + WINDOW_S, max(len(x), 1) / MODEL_FS)
        return ModelWindows(start_s, end_s,
                            {label: probs[:, j].astype(np.float64)
                             for j, label in enumerate(self.labels)})

    def model_input(self, windows: ModelWindows) -> ModelWindows:
        """Only the labels ``derive_rhythm`` fuses (AFIB), renamed to its vocabulary."""
        return ModelWindows(windows.start_s, windows.end_s,
                            {k: windows.probability[k] for k in FUSED_MODEL_LABELS
                             if k in windows.probability})


def mean_in_logits(probs, axis: int = 0) -> np.ndarray:
    """Probabilities averaged as logits (clipped to 1e-7): how :class:`RhythmEnsemble`
    combines its members, for outputs and thresholds saved as probabilities."""
    p = np.clip(np.asarray(probs, np.float64), 1e-7, 1 - 1e-7)
    return 1.0 / (1.0 + np.exp(-np.mean(np.log(p / (1 - p)), axis=axis)))


def mean_thresholds(tables: list[dict[str, float]]) -> dict[str, float]:
    """An ensemble's per-label threshold: the logistic of its members' mean threshold
    logit (see :class:`RhythmEnsemble`). Labels every member has, only."""
    labels = set(tables[0]).intersection(*tables[1:]) if tables else set()
    return {label: float(mean_in_logits([t[label] for t in tables])) for label in sorted(labels)}


_DEFAULT: dict[str, RhythmModel | None] = {}


def load_default_rhythm_model(folder: str | os.PathLike[str] | None = None) -> RhythmModel | None:
    """The shipped rhythm model (cached per process and folder), or None when its
    weights are absent or refused (the rhythm rules then run alone)."""
    from beatscope.models.weights_io import WeightsError

    key = str(Path(folder) if folder is not None else default_rhythm_weights_dir())
    if key not in _DEFAULT:
        try:
            _DEFAULT[key] = RhythmModel.load(key)
        except (WeightsError, OSError, RuntimeError):
            _DEFAULT[key] = None
    return _DEFAULT[key]
