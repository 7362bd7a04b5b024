"""SLAP: a 2-layer stacked LSTM over a beat cut into short patches.

Why patches. An LSTM fed the whole 400-sample beat as *one* time step is just a
gated MLP: the recurrence never runs. Fed one sample per step (400 steps x 2
leads) it is a true sequence model but it runs 400 dependent steps per beat,
which is slow on CPU and makes gradients travel 400 steps. Cutting the beat into
non-overlapping patches of ``patch`` samples (default 16 = 44 ms at 360 Hz) gives
25 steps of ``16 x 2 = 32`` features: each step still sees a QRS-scale piece of
the waveform (a QRS lasts 80-120 ms, i.e. 2-3 patches), and the recurrence runs
over the beat's P-QRS-T order. Forward speed, fp32, batch 512, on a 2-core AMD
EPYC shared with a training job (``bench/classifier.py`` measures it again):
patch=16 ~21,900 beats/s vs patch=1 (400 steps x 2) ~1,360 (2 threads), and
14,600 vs 740 (1 thread): the 400-step LSTM is 16-20x slower. Patches discard
nothing (every sample is still an input; only the step size changes) and no
accuracy gain is expected from 2.8-ms steps, so patches are the default. (The
two variants have not been trained against each other.)

Head: the mean of the top layer's outputs over the steps (the whole beat) and its
last output (the end of the sequence, after the T wave) are concatenated with the
RR branch, then dropout and a linear layer.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from beatscope.models.rr_branch import N_RR_FEATURES, RRBranch, check_rr

#: Samples per beat window (see :data:`beatscope.segment.BEAT_LENGTH`).
BEAT_LENGTH = 400


def to_patches(x: torch.Tensor, patch: int) -> torch.Tensor:
    """``(B, leads, L)`` -> ``(B, L // patch, leads * patch)``, leads-major within a step.

    Step ``t`` holds samples ``[t*patch, (t+1)*patch)`` of lead 0, then of lead 1.
    """
    b, leads, length = x.shape
    if length % patch:
        raise ValueError(f"window length {length} is not a multiple of patch {patch}")
    steps = length // patch
    return x.reshape(b, leads, steps, patch).permute(0, 2, 1, 3).reshape(b, steps, leads * patch)


class SLAP(nn.Module):
    """Stacked-LSTM beat classifier: ``(B, in_leads, 400)`` (+ RR) -> ``(B, n_classes)``."""

    def __init__(
        self,
        in_leads: int = 2,
        n_classes: int = 5,
        n_rr: int = N_RR_FEATURES,
        use_rr: bool = True,
        hidden: int = 128,
        patch: int = 16,
        layers: int = 2,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if BEAT_LENGTH % patch:
            raise ValueError(f"patch must divide {BEAT_LENGTH}, got {patch}")
        self._config: dict[str, Any] = {
            "in_leads": in_leads, "n_classes": n_classes, "n_rr": n_rr, "use_rr": use_rr,
            "hidden": hidden, "patch": patch, "layers": layers, "dropout": dropout,
        }
        self.in_leads = in_leads
        self.patch = patch
        self.use_rr = use_rr
        self.lstm = nn.LSTM(
            input_size=in_leads * patch,
            hidden_size=hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.rr_branch = RRBranch(n_rr) if use_rr else None
        head_in = 2 * hidden + (self.rr_branch.out_dim if self.rr_branch else 0)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(head_in, n_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """Orthogonal recurrent weights and forget-gate bias 1 (standard LSTM practice)."""
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight_hh"):
                for g in p.data.chunk(4, 0):
                    nn.init.orthogonal_(g)
            elif name.startswith("weight_ih"):
                nn.init.xavier_uniform_(p.data)
            elif name.startswith("bias"):
                nn.init.zeros_(p.data)
                if name.startswith("bias_ih"):
                    h = p.shape[0] // 4
                    p.data[h:2 * h].fill_(1.0)  # gate order i, f, g, o

    def config(self) -> dict[str, Any]:
        """Constructor keyword arguments (JSON-serialisable)."""
        return dict(self._config)

    def forward(self, x: torch.Tensor, rr: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.in_leads:
            raise ValueError(f"x must be (batch, {self.in_leads}, length), got {tuple(x.shape)}")
        out, _ = self.lstm(to_patches(x, self.patch))
        feats = torch.cat([out.mean(dim=1), out[:, -1]], dim=1)
        rr = check_rr(rr, self.use_rr, x.shape[0])
        if self.rr_branch is not None and rr is not None:
            feats = torch.cat([feats, self.rr_branch(rr).to(feats.dtype)], dim=1)
        return self.fc(self.dropout(feats))
