"""Vectorised decoding of plain WFDB signal files, so a 24-hour Holter opens in a second.

``wfdb.rdrecord`` decodes format 212 sample by sample through several full-size
intermediate arrays; for a 24-hour, 3-lead record that is slow and memory hungry.
Here the ``.dat`` file is memory-mapped and decoded in fixed-size chunks straight
into the final float32 array, so the file is never held in memory twice.

Covered: single-segment records with one sample per frame, no skew, whose signal
files each hold one format out of 16, 61, 160, 80, 32 and 212 (a record may spread
its signals over several such files). Anything else goes to ``wfdb.rdrecord``.
The physical values are bit-identical to ``wfdb.rdrecord(...).p_signal`` cast to
float32 (same ``(adc - baseline) / gain``; WFDB's invalid-sample codes become NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# format -> numpy dtype of one stored sample (212 is packed and handled separately)
_DTYPES: dict[str, str] = {"16": "<i2", "61": ">i2", "160": "<u2", "80": "u1", "32": "<i4"}
# offset-binary formats store sample + offset
_OFFSETS: dict[str, int] = {"160": 32768, "80": 128}
FAST_FORMATS: frozenset[str] = frozenset(_DTYPES) | {"212"}
# bits of the stored sample: the full scale of the converter as far as the file goes
FORMAT_BITS: dict[str, int] = {"16": 16, "61": 16, "160": 16, "80": 8, "32": 32, "212": 12}
# WFDB's "invalid sample" code per format (wfdb.io._signal.INVALID_SAMPLE_VALUE)
_INVALID: dict[str, int] = {"16": -(2**15), "61": -(2**15), "160": -(2**15), "80": -(2**7),
                            "32": -(2**31), "212": -(2**11)}

CHUNK_FRAMES = 1 << 18  # frames decoded per step: bounds the temporary memory


@dataclass(frozen=True)
class DatGroup:
    """The signals stored together in one ``.dat`` file."""

    path: Path
    fmt: str
    channels: tuple[int, ...]  # record channel indices, in storage order
    byte_offset: int

    @property
    def n_sig(self) -> int:
        return len(self.channels)


def plan_fast_read(header: object, directory: Path) -> list[DatGroup] | None:
    """Group a single-segment header's signals by file, or None if the fast path cannot
    decode this record (unsupported format, several samples per frame, skew, ...)."""
    n_sig = int(getattr(header, "n_sig", 0) or 0)
    if n_sig < 1 or getattr(header, "n_seg", None) is not None:
        return None
    fmts = list(header.fmt)  # type: ignore[attr-defined]
    spf = list(header.samps_per_frame or [1] * n_sig)  # type: ignore[attr-defined]
    skews = list(header.skew or [None] * n_sig)  # type: ignore[attr-defined]
    offsets = list(header.byte_offset or [None] * n_sig)  # type: ignore[attr-defined]
    files = list(header.file_name)  # type: ignore[attr-defined]
    if any((s or 1) != 1 for s in spf) or any(k not in (None, 0) for k in skews):
        return None
    groups: list[DatGroup] = []
    for i in range(n_sig):
        if fmts[i] not in FAST_FORMATS:
            return None
        off = int(offsets[i] or 0)
        if groups and groups[-1].path.name == files[i]:
            last = groups[-1]
            if last.fmt != fmts[i] or last.byte_offset != off:
                return None
            groups[-1] = DatGroup(last.path, last.fmt, last.channels + (i,), off)
        else:
            if any(g.path.name == files[i] for g in groups):
                return None  # signals of one file not contiguous in the header: unusual
            groups.append(DatGroup(directory / files[i], fmts[i], (i,), off))
    return groups


def available_frames(group: DatGroup) -> int:
    """Number of complete frames the file really holds after its byte offset."""
    n_bytes = max(0, group.path.stat().st_size - group.byte_offset)
    if group.fmt == "212":
        n_samples = (n_bytes // 3) * 2 + (1 if n_bytes % 3 == 2 else 0)
    else:
        n_samples = n_bytes // np.dtype(_DTYPES[group.fmt]).itemsize
    return n_samples // group.n_sig


def _unpack_212(raw: np.ndarray, n_samples: int) -> np.ndarray:
    """Decode packed 12-bit samples: each 3 bytes hold two two's-complement values.

    Byte 0 is the low 8 bits of the first sample, the low nibble of byte 1 its high
    4 bits; byte 2 is the low 8 bits of the second sample, the high nibble of byte 1
    its high 4 bits.
    """
    if raw.size % 3:
        raw = np.concatenate([raw, np.zeros(3 - raw.size % 3, dtype=np.uint8)])
    triplets = raw.reshape(-1, 3)
    mid = triplets[:, 1].astype(np.int16)
    out = np.empty((triplets.shape[0], 2), dtype=np.int16)
    np.bitwise_or(triplets[:, 0], (mid & 0x0F) << 8, out=out[:, 0], casting="unsafe")
    np.bitwise_or(triplets[:, 2], (mid & 0xF0) << 4, out=out[:, 1], casting="unsafe")
    flat = out.reshape(-1)[:n_samples]
    flat <<= 4  # sign-extend bit 11 through the int16
    flat >>= 4
    return flat


def _read_digital(mm: np.ndarray, group: DatGroup, first: int, count: int) -> np.ndarray:
    """Digital samples of frames ``first`` .. ``first + count`` as (count, n_sig)."""
    n = count * group.n_sig
    if group.fmt == "212":
        start_sample = first * group.n_sig
        start = group.byte_offset + (start_sample // 2) * 3
        # chunks start at even sample numbers (CHUNK_FRAMES is even), so no half triplet
        stop = start + (n * 3 + 1) // 2
        digital = _unpack_212(np.asarray(mm[start:stop]), n)
    else:
        dtype = np.dtype(_DTYPES[group.fmt])
        start = group.byte_offset + first * group.n_sig * dtype.itemsize
        digital = np.frombuffer(mm, dtype=dtype, count=n, offset=start)
        if group.fmt in _OFFSETS:
            digital = digital.astype(np.int32) - _OFFSETS[group.fmt]
    return digital.reshape(count, group.n_sig)


def decode_into(out: np.ndarray, group: DatGroup, n_frames: int, gains: np.ndarray,
                baselines: np.ndarray) -> None:
    """Fill ``out[:n_frames, group.channels]`` with physical values of ``group``'s file.

    ``gains``/``baselines`` are per record channel. Arithmetic is done in float32 when
    samples, baselines and gains are exact float32 numbers (then the one rounding step
    gives exactly WFDB's float64 result cast to float32), else in float64.
    """
    ch = list(group.channels)
    gain = np.asarray(gains, dtype=np.float64)[ch]
    base = np.asarray(baselines, dtype=np.float64)[ch]
    exact32 = (FORMAT_BITS[group.fmt] <= 24 and np.array_equal(gain.astype(np.float32), gain)
               and bool(np.all(np.abs(base) < 2**23)) and np.array_equal(np.round(base), base))
    work = np.float32 if exact32 else np.float64
    gain_w, base_w = gain.astype(work), base.astype(work)
    contiguous = ch == list(range(out.shape[1]))
    invalid = _INVALID[group.fmt]
    mm = np.memmap(group.path, dtype=np.uint8, mode="r")
    try:
        for first in range(0, n_frames, CHUNK_FRAMES):
            count = min(CHUNK_FRAMES, n_frames - first)
            digital = _read_digital(mm, group, first, count)
            if contiguous and work is np.float32:
                dest = out[first:first + count]
                np.subtract(digital, base_w, out=dest, dtype=np.float32)
                np.divide(dest, gain_w, out=dest)
            else:
                dest = ((digital.astype(work) - base_w) / gain_w).astype(np.float32)
            if digital.min() == invalid:  # the invalid code is the format's lowest value
                dest[digital == invalid] = np.nan
            if not (contiguous and work is np.float32):
                out[first:first + count, ch] = dest
    finally:
        del mm
