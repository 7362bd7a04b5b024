"""The rhythm network: a strided 1-D CNN, ONE bidirectional LSTM layer, sigmoid outputs.

After the seed finding (``../shared/docs/METHODS.md`` section 2): a CNN front end
followed by a single BiLSTM layer is the best trade-off; deeper recurrent stacks
over-fit. The input is one lead, 10 s at 100 Hz (1,000 samples), z-scored per
window. Five strided conv blocks (stride 2 each) turn it into 32 steps of about
0.31 s, each step a little more than a QRS-T complex apart at rest: the LSTM then
sees the beat-to-beat sequence (RR irregularity) and the per-step features
(P wave present or not). Mean and max pooling over the LSTM outputs feed one
linear layer with one logit per label (independent sigmoids: multi-label).
"""

from __future__ import annotations

import torch
from torch import nn

#: Sampling rate of the model's input (Hz) and window length (s).
MODEL_FS = 100.0
WINDOW_S = 10.0
WINDOW_SAMPLES = int(MODEL_FS * WINDOW_S)


class RhythmCnnBiLstm(nn.Module):
    """``(batch, 1, 1000)`` z-scored windows -> ``(batch, n_classes)`` logits."""

    def __init__(self, n_classes: int = 4, channels: tuple[int, ...] = (16, 32, 48, 64, 64),
                 kernels: tuple[int, ...] = (7, 7, 5, 5, 5), hidden: int = 64,
                 dropout: float = 0.3) -> None:
        super().__init__()
        if len(channels) != len(kernels):
            raise ValueError("channels and kernels need one entry per conv block")
        self._config = {"n_classes": int(n_classes), "channels": list(channels),
                        "kernels": list(kernels), "hidden": int(hidden),
                        "dropout": float(dropout)}
        blocks: list[nn.Module] = []
        c_in = 1
        for c, k in zip(channels, kernels, strict=True):
            blocks += [nn.Conv1d(c_in, c, k, stride=2, padding=k // 2, bias=False),
                       nn.BatchNorm1d(c), nn.ReLU(inplace=True),
                       nn.Conv1d(c, c, 3, padding=1, bias=False),
                       nn.BatchNorm1d(c), nn.ReLU(inplace=True)]
            c_in = c
        self.cnn = nn.Sequential(*blocks)
        self.lstm = nn.LSTM(c_in, hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(4 * hidden, n_classes)

    def config(self) -> dict:
        return dict(self._config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.cnn(x).transpose(1, 2)  # (batch, steps, channels)
        h, _ = self.lstm(h)
        pooled = torch.cat([h.mean(dim=1), h.amax(dim=1)], dim=1)
        return self.head(self.drop(pooled.float()))


class RhythmEnsemble(nn.Module):
    """Several :class:`RhythmCnnBiLstm` (seeds of one configuration) as one network:
    the weighted mean of their logits.

    Logits, not probabilities, are averaged so that a member's per-label threshold
    carries over as a logit too: the ensemble's threshold is the logistic of the
    members' mean threshold logit, and "ensemble above its threshold" is then
    "the members' mean margin above zero", the decision the cross-validation scores.
    """

    def __init__(self, members: list[nn.Module], weights: list[float] | None = None) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        w = torch.tensor(weights if weights is not None else [1.0] * len(members),
                         dtype=torch.float32)
        if w.shape != (len(members),) or not torch.all(w >= 0) or w.sum() <= 0:
            raise ValueError("one non-negative weight per member, with a positive sum")
        self.members = nn.ModuleList(members)
        self.register_buffer("weights", w / w.sum(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.members[0](x).float() * self.weights[0]
        for w, m in zip(self.weights[1:], self.members[1:], strict=True):
            out = out + m(x).float() * w
        return out
