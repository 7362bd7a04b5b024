"""Philips XLI waveform compression, as Philips PageWriter / Sierra ECG XML files use it.

Written from the description and reference decoders of the sierra-ecg-tools project
(C#, Java and the ``sierraecg`` PyPI package, MIT); that package is not used directly
because its decoder emits one byte per Python call with no bound on the output, so a
crafted chunk could make it run for minutes and fill memory.

Layout: one chunk per lead, each an 8-byte header (int32 chunk size, int16 unknown,
int16 first delta code; little-endian) and ``size`` bytes of LZW codes: 10-bit, read
most-significant bit first, no clear code, a table that grows to 1023 entries and then
stays fixed; a code above 1022 ends the chunk. The decompressed bytes hold 16-bit
delta codes with all high bytes first and all low bytes after them. The samples follow
from a second-order predictor: ``x[i] = 2*x[i-1] - x[i-2] - (d[i-1] - 64)``, where the
first correction is the header's delta code instead of ``d[1] - 64``.
"""

from __future__ import annotations

import numpy as np

CODE_BITS = 10
MAX_CODE = (1 << CODE_BITS) - 2  # 1022: the last code that names a table entry
HEADER_BYTES = 8
DELTA_BIAS = 64


class XliError(ValueError):
    """The XLI data is damaged or expands beyond what the file declares."""


def _codes(chunk: bytes) -> np.ndarray:
    """The chunk's 10-bit codes, most-significant bit first (trailing bits dropped)."""
    bits = np.unpackbits(np.frombuffer(chunk, dtype=np.uint8))
    usable = len(bits) - len(bits) % CODE_BITS
    rows = bits[:usable].reshape(-1, CODE_BITS).astype(np.int64)
    return rows @ (1 << np.arange(CODE_BITS - 1, -1, -1, dtype=np.int64))


def lzw_decompress(chunk: bytes, max_bytes: int) -> bytes:
    """Undo the LZW stage of one chunk; XliError when the output passes ``max_bytes``."""
    table: dict[int, bytes] = {code: bytes([code]) for code in range(256)}
    next_code = 256
    previous = b""
    out = bytearray()
    for code in _codes(chunk).tolist():
        if code > MAX_CODE:
            break  # the end-of-data code
        entry = table.get(code)
        if entry is None:  # the code being defined by this very step (cScSc)
            if not previous:
                raise XliError(f"LZW code {code} used before it is defined")
            entry = previous + previous[:1]
            table[code] = entry
        if previous and next_code <= MAX_CODE:
            table[next_code] = previous + entry[:1]
            next_code += 1
        previous = entry
        out += entry
        if len(out) > max_bytes:
            raise XliError(f"a lead expands beyond {max_bytes} bytes")
    return bytes(out)


def _unpack(data: bytes) -> np.ndarray:
    """16-bit delta codes from [all high bytes][all low bytes] (odd length: low byte 0)."""
    if len(data) % 2:
        data += b"\x00"
    half = len(data) // 2
    raw = np.frombuffer(data, dtype=np.uint8)
    words = (raw[:half].astype(np.uint16) << 8) | raw[half:]
    return words.view(np.int16).astype(np.int64)


def decode_deltas(deltas: np.ndarray, first: int) -> np.ndarray:
    """Samples from the delta codes (int64, so no wrap-around; as the C# decoder)."""
    if len(deltas) < 3:
        return deltas.copy()
    # x[i] - x[i-1] = (x[i-1] - x[i-2]) - c[i] for i >= 2, with c[2] = first and
    # c[i] = d[i-1] - 64 after: two cumulative sums rebuild x.
    corrections = np.concatenate(([first], deltas[2:-1] - DELTA_BIAS))
    steps = (deltas[1] - deltas[0]) - np.cumsum(corrections)
    return np.concatenate((deltas[:2], deltas[1] + np.cumsum(steps)))


def xli_decode(data: bytes, n_leads: int, max_samples: int) -> list[np.ndarray]:
    """The first ``n_leads`` leads of an XLI stream, each at most ``max_samples`` long.

    Carts may store more chunks than leads (the DXL algorithm keeps 16 channels); the
    ones after ``n_leads`` are not decoded. XliError on a truncated or damaged stream.
    """
    leads: list[np.ndarray] = []
    offset = 0
    while len(leads) < n_leads:
        header = data[offset:offset + HEADER_BYTES]
        if len(header) < HEADER_BYTES:
            raise XliError(f"the data holds {len(leads)} lead(s), {n_leads} declared")
        size = int.from_bytes(header[0:4], "little", signed=True)
        first = int.from_bytes(header[6:8], "little", signed=True)
        offset += HEADER_BYTES
        if size < 0 or offset + size > len(data):
            raise XliError(f"lead {len(leads) + 1}: chunk of {size} bytes, "
                           f"{len(data) - offset} left (truncated?)")
        if size > 3 * max_samples + 64:  # 10-bit codes: at most 2.5 bytes per sample
            raise XliError(f"lead {len(leads) + 1}: chunk of {size} bytes, more than "
                           f"{max_samples} samples could need")
        chunk = data[offset:offset + size]
        offset += size
        deltas = _unpack(lzw_decompress(chunk, max_bytes=2 * max_samples))
        leads.append(decode_deltas(deltas, first))
    return leads
