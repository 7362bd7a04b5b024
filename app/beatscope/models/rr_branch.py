"""The RR-feature branch shared by both classifiers.

Raw RR features span very different scales (seconds around 0.3-2, ratios around
1 but up to ~10 after a dropped beat, and absurd values around detector misses),
so they are normalised *inside* the model: whatever the model sees at training
time it also sees at inference time, with no separate scaler file to keep in step
with the weights.

Every feature is positive (durations and ratios of durations), so a log maps it
onto a symmetric scale: ``log(0.8 s) = -0.22``, ``log(ratio 1) = 0``, a premature
beat at ``pre/local = 0.6`` gives ``-0.51``. The clamp to ``[-3, 3]`` (a factor of
about 20 either way: 50 ms to 20 s, ratios 0.05 to 20) keeps detector errors and
long pauses from producing extreme activations.
"""

from __future__ import annotations

import torch
from torch import nn

#: Number of RR features (see :data:`beatscope.segment.RR_FEATURE_NAMES`).
N_RR_FEATURES = 8
#: Width of the RR branch's output, concatenated with the signal features.
RR_EMBED_DIM = 32
#: log-features are clamped to ``[-LOG_CLAMP, LOG_CLAMP]``.
LOG_CLAMP = 3.0
#: floor applied before the log, so a zero (or negative, i.e. corrupt) value cannot
#: give -inf/NaN; far below anything physiological (0.1 ms).
_EPS = 1e-4


class RRTransform(nn.Module):
    """Fixed (parameter-free) normalisation: ``clamp(log(max(rr, eps)), -3, 3)``.

    All eight features are durations (s) or ratios of durations, so one rule fits
    all. NaN inputs (which :func:`beatscope.segment.rr_features` never produces)
    become 0, i.e. "typical".
    """

    def forward(self, rr: torch.Tensor) -> torch.Tensor:
        rr = torch.nan_to_num(rr.float(), nan=1.0, posinf=1e6, neginf=0.0)
        return torch.log(rr.clamp_min(_EPS)).clamp(-LOG_CLAMP, LOG_CLAMP)


class RRBranch(nn.Module):
    """``RRTransform`` then a 2-layer MLP (``n_rr -> 32 -> 32``, ReLU)."""

    def __init__(self, n_rr: int = N_RR_FEATURES, dim: int = RR_EMBED_DIM) -> None:
        super().__init__()
        self.n_rr = n_rr
        self.transform = RRTransform()
        self.mlp = nn.Sequential(
            nn.Linear(n_rr, dim),
            nn.ReLU(inplace=True),
            nn.Linear(dim, dim),
            nn.ReLU(inplace=True),
        )
        self.out_dim = dim

    def forward(self, rr: torch.Tensor) -> torch.Tensor:
        if rr.ndim != 2 or rr.shape[1] != self.n_rr:
            raise ValueError(f"rr must be (batch, {self.n_rr}), got {tuple(rr.shape)}")
        return self.mlp(self.transform(rr))


def check_rr(rr: torch.Tensor | None, use_rr: bool, batch: int) -> torch.Tensor | None:
    """The RR tensor to use, or ``None``; a model built with RR refuses to run without.

    Silently substituting zeros would feed the head a distribution it never saw in
    training, so a missing ``rr`` is an error rather than a default.
    """
    if not use_rr:
        return None
    if rr is None:
        raise ValueError("this model was built with use_rr=True: pass the RR features")
    if rr.shape[0] != batch:
        raise ValueError(f"rr has {rr.shape[0]} rows for a batch of {batch} beats")
    return rr
