"""Atomic file writes shared by every writer in the app (outputs, weights, reviews).

A file is written under a unique temporary name in its destination folder,
flushed to disk, then renamed over the target: readers see the old file or the
new one, never half of one, even after a crash or Ctrl-C. The temporary file is
created with mode 0666 minus the umask (unlike ``tempfile.mkstemp``'s 0600), so
results stay readable to colleagues like any other file the user writes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(binary_file)`` on a temporary file next to ``path``, then rename it over."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))
