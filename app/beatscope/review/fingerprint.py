"""A record's fingerprint: which recording a review belongs to.

Built from what identifies the signal itself (sample count, sampling rate, leads, the
header's bytes, and the first and last blocks of samples), not from the file's name
or time stamp: a renamed or copied record keeps its review, an edited one does not
silently inherit another recording's.
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Samples hashed at each end of the record.
BLOCK = 4096


def record_fingerprint(record) -> str:
    h = hashlib.sha256()
    h.update(f"{record.n_samples}|{float(record.fs)!r}|{','.join(record.lead_names)}".encode())
    path = getattr(record, "source_path", None)
    if path is not None and str(path).endswith(".hea"):
        try:
            h.update(path.read_bytes())
        except OSError:
            pass  # the samples below still identify it
    x = np.asarray(record.signals)
    h.update(np.ascontiguousarray(x[:BLOCK], dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(x[-BLOCK:], dtype=np.float32).tobytes())
    return h.hexdigest()
