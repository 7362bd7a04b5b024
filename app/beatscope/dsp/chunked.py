"""Chunked, overlap-and-keep-the-centre processing of long multi-lead signals.

Every DSP stage is written as a *kernel*: a function that takes one chunk as a
C-contiguous float64 array of shape ``(n_leads, m)`` (leads first, so that
scipy/pywt work along the last, contiguous axis) and returns an array of the same
shape. :func:`apply_chunked` feeds a long ``(n_samples, n_leads)`` record through a
kernel one chunk at a time, each chunk extended by ``overlap`` samples of context on
both sides; only the central part of each result is kept. With an overlap longer
than the kernel's memory the stitched result equals the one-piece result away from
the record's own edges, while the extra memory stays at a few chunk-sized float64
buffers plus the float32 output (no float64 copy of a whole 24-h record is made).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from beatscope.errors import CancelledError

Kernel = Callable[[np.ndarray], np.ndarray]
ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]

#: Default number of samples per chunk (about 48 min at 360 Hz): a 30-min record is
#: processed in one piece, a 24-h record in ~30 pieces.
DEFAULT_CHUNK = 1 << 20


@dataclass(frozen=True)
class Chunk:
    """One piece of a chunk plan: the core ``[start, stop)`` that the piece produces
    and the extended range ``[ext_start, ext_stop)`` that it reads."""

    start: int
    stop: int
    ext_start: int
    ext_stop: int

    @property
    def core(self) -> slice:
        """Where the core lies inside the extended range."""
        return slice(self.start - self.ext_start, self.stop - self.ext_start)


def as_2d(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """View ``x`` as ``(n_samples, n_leads)``; also say whether it was 1-D."""
    x = np.asarray(x)
    if x.ndim == 1:
        return x[:, None], True
    if x.ndim != 2:
        raise ValueError(f"expected a (n_samples,) or (n_samples, n_leads) array, got {x.shape}")
    return x, False


def restore_shape(y: np.ndarray, was_1d: bool) -> np.ndarray:
    return y[:, 0] if was_1d else y


def round_up(value: int, multiple: int) -> int:
    return -(-int(value) // int(multiple)) * int(multiple)


def chunk_plan(n: int, chunk_size: int = DEFAULT_CHUNK, overlap: int = 0,
               align: int = 1) -> list[Chunk]:
    """Split ``n`` samples into cores of about ``chunk_size`` samples.

    Core starts and the overlap are multiples of ``align``, so every extended chunk
    starts on a multiple of ``align`` too (needed by block-mean decimation and by the
    shift-variant discrete wavelet transform to reproduce the one-piece result).
    """
    if n <= 0:
        return []
    align = max(1, int(align))
    overlap = round_up(max(0, overlap), align)
    n_chunks = max(1, math.ceil(n / max(1, chunk_size)))
    core = round_up(math.ceil(n / n_chunks), align)
    plan = []
    for start in range(0, n, core):
        stop = min(n, start + core)
        plan.append(Chunk(start, stop, max(0, start - overlap), min(n, stop + overlap)))
    return plan


def read_chunk(x2d: np.ndarray, chunk: Chunk, dtype=np.float64) -> np.ndarray:
    """The extended range of ``chunk`` as a fresh C-contiguous ``(n_leads, m)`` array,
    with non-finite samples replaced by 0 (so one NaN cannot spread over a record)."""
    block = np.array(x2d[chunk.ext_start:chunk.ext_stop].T, dtype=dtype, order="C")
    if not np.isfinite(block).all():
        np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return block


def check_cancel(should_cancel: CancelFn | None) -> None:
    if should_cancel is not None and should_cancel():
        raise CancelledError("Processing was cancelled.")


def iter_chunks(n: int, chunk_size: int, overlap: int, align: int,
                should_cancel: CancelFn | None = None) -> Iterator[Chunk]:
    """The chunk plan, checking ``should_cancel`` before each chunk."""
    for chunk in chunk_plan(n, chunk_size, overlap, align):
        check_cancel(should_cancel)
        yield chunk


def apply_chunked(kernel: Kernel, x: np.ndarray, *, overlap: int, align: int = 1,
                  chunk_size: int = DEFAULT_CHUNK, out: np.ndarray | None = None,
                  progress: ProgressFn | None = None, should_cancel: CancelFn | None = None,
                  progress_span: tuple[float, float] = (0.0, 1.0),
                  positional: bool = False) -> np.ndarray:
    """Run ``kernel`` over ``x`` (``(n,)`` or ``(n, n_leads)``) chunk by chunk.

    Returns a new float32 array shaped like ``x``, or fills ``out``. ``out`` may be
    ``x`` itself (a writable float32 array): the context each chunk needs from
    before its start is saved before being overwritten, so in-place processing gives
    the same result without a second full-size buffer. ``progress`` receives values
    inside ``progress_span`` after each chunk; ``should_cancel`` is polled before
    each chunk and :class:`~beatscope.errors.CancelledError` is raised when it
    returns True (an in-place run then leaves ``x`` partly processed).
    ``positional``: the kernel is called as ``kernel(block, start)``, ``start`` the
    record sample of the block's first column, for kernels whose work depends on
    where in the record they are (a local noise level).
    """
    x2d, was_1d = as_2d(x)
    n = x2d.shape[0]
    if out is None:
        out2d = np.empty(x2d.shape, dtype=np.float32)
    else:
        out2d, _ = as_2d(out)
        if out2d.shape != x2d.shape:
            raise ValueError("out has the wrong shape")
    in_place = out is not None and np.shares_memory(out2d, x2d)
    plan = chunk_plan(n, chunk_size, overlap, align)
    if in_place and any(c.start - c.ext_start > p.stop - p.start
                        for p, c in zip(plan, plan[1:], strict=False)):
        raise ValueError("in-place processing needs chunks longer than the overlap")
    saved: np.ndarray | None = None  # original samples [ext_start, start) of the next chunk
    lo, hi = progress_span
    for i, chunk in enumerate(plan):
        check_cancel(should_cancel)
        block = read_chunk(x2d, chunk)
        if saved is not None:
            block[:, : saved.shape[0]] = saved.T
        y = kernel(block, chunk.ext_start) if positional else kernel(block)
        if in_place and i + 1 < len(plan):
            nxt = plan[i + 1]
            saved = np.array(x2d[nxt.ext_start:nxt.start], dtype=np.float64)
            np.nan_to_num(saved, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        out2d[chunk.start:chunk.stop] = y[:, chunk.core].T
        if progress is not None:
            progress(lo + (hi - lo) * (i + 1) / len(plan))
    return restore_shape(out2d, was_1d)
