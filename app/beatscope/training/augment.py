"""Training-time augmentation of z-scored beat windows (batch, 2, 400).

Each transform models a real source of variation between recordings: electrode
gain (amplitude scaling), residual baseline (offset and slope), real noise from
the MIT-BIH Noise Stress Test Database's ``bw`` (baseline wander) and ``ma``
(muscle artefact) records, and heart-rate-dependent QRS/T timing (a small time
warp about the R peak, which stays at its index), and two that make the network
see what it meets away from MIT-BIH:

* **one lead fed to both inputs** (``lead_copy``): a one-lead record (a handheld strip,
  CinC 2017, a single Holter channel) reaches the models with its lead duplicated
  (``segment.beats``); MIT-BIH's second input is V1 or a chest lead, whose normal QRS
  is unlike lead II's, so a duplicated lead II looked abnormal to a model that never
  saw one. Either lead is copied over the other, in the beat and in its difference
  from the patient's reference alike;
* **polarity** (``polarity``): both leads upside down, as with reversed electrodes or
  a lead recorded the other way round.

Channels come in pairs, one per lead: (lead 0, lead 1) of the beat, then, with the
template channels, (lead 0, lead 1) of its difference from the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

R_INDEX = 160


@dataclass(frozen=True)
class AugmentConfig:
    p: float = 0.5  # probability of each transform, independently
    scale: tuple[float, float] = (0.8, 1.25)
    offset: float = 0.3
    slope: float = 0.3
    noise_ma: float = 0.25  # noise std relative to the beat's unit std
    noise_bw: float = 0.4
    warp: float = 0.08
    lead_copy: float = 0.0  # probability that one lead replaces the other
    polarity: float = 0.0  # probability that the beat is inverted


def load_noise(nstdb: Path | None, fs_target: float = 360.0) -> dict[str, np.ndarray]:
    """The ``bw`` and ``ma`` noise records, each lead normalised to unit std."""
    if nstdb is None:
        return {}
    import wfdb

    out = {}
    for name in ("bw", "ma"):
        path = nstdb / name
        if not path.with_suffix(".hea").exists():
            continue
        rec = wfdb.rdrecord(str(path))
        x = rec.p_signal.astype(np.float32)
        x = x - x.mean(axis=0)
        out[name] = x / np.maximum(x.std(axis=0), 1e-6)
    return out


class Augmenter:
    def __init__(self, config: AugmentConfig, noise: dict[str, np.ndarray],
                 generator: torch.Generator) -> None:
        self.config = config
        self.noise = {k: torch.from_numpy(v) for k, v in noise.items()}
        self.g = generator

    def _mask(self, b: int) -> torch.Tensor:
        return (torch.rand(b, generator=self.g) < self.config.p).float()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        b, leads, n = x.shape
        c = self.config
        m = self._mask(b)[:, None, None]
        lo, hi = np.log(c.scale[0]), np.log(c.scale[1])
        gain = torch.exp(torch.empty(b, leads, 1).uniform_(lo, hi, generator=self.g))
        x = x * (1 + m * (gain - 1))
        m = self._mask(b)[:, None, None]
        t = torch.linspace(-1, 1, n)[None, None, :]
        offset = torch.empty(b, leads, 1).uniform_(-c.offset, c.offset, generator=self.g)
        slope = torch.empty(b, leads, 1).uniform_(-c.slope, c.slope, generator=self.g)
        x = x + m * (offset + slope * t)
        for name, amp in (("ma", c.noise_ma), ("bw", c.noise_bw)):
            if name not in self.noise:
                continue
            src = self.noise[name]
            m = self._mask(b)[:, None, None]
            start = torch.randint(0, len(src) - n, (b,), generator=self.g)
            idx = start[:, None] + torch.arange(n)[None, :]
            seg = src[idx]  # (b, n, 2)
            seg = seg[..., :leads] if seg.shape[-1] >= leads else seg[..., :1].expand(-1, -1, leads)
            level = torch.empty(b, 1, 1).uniform_(0, amp, generator=self.g)
            x = x + m * level * seg.permute(0, 2, 1)
        m = self._mask(b)
        if m.any():
            factor = 1 + torch.empty(b).uniform_(-c.warp, c.warp, generator=self.g) * m
            pos = R_INDEX + (torch.arange(n)[None, :] - R_INDEX) * factor[:, None]
            pos = pos.clamp(0, n - 1)
            lo_i = pos.floor().long()
            hi_i = (lo_i + 1).clamp(max=n - 1)
            w = (pos - lo_i)[:, None, :]
            gather = lambda i: torch.gather(x, 2, i[:, None, :].expand(-1, leads, -1))  # noqa: E731
            x = gather(lo_i) * (1 - w) + gather(hi_i) * w
        # last, as at inference: a duplicated lead is an exact copy, noise included
        if c.lead_copy > 0 and leads % 2 == 0:
            copy = torch.rand(b, generator=self.g) < c.lead_copy
            source = torch.randint(0, 2, (b,), generator=self.g)
            if copy.any():
                x = x.clone()
                for pair in range(0, leads, 2):
                    for s in (0, 1):
                        rows = copy & (source == s)
                        x[rows, pair + 1 - s] = x[rows, pair + s]
        if c.polarity > 0:
            flip = torch.rand(b, generator=self.g) < c.polarity
            x = x * torch.where(flip, -1.0, 1.0)[:, None, None]
        return x
