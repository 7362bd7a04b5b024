"""``load_record``: the one entry point that turns any supported file into a ``Record``."""

from __future__ import annotations

from pathlib import Path

from beatscope.errors import BeatScopeError, RecordError
from beatscope.io import validate
from beatscope.io.formats import resolve
from beatscope.io.record import Record

_MAX_REASON = 300


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def load_record(path: str | Path, *, fs: float | None = None) -> Record:
    """Read the ECG record at ``path`` (WFDB, .mat, EDF/BDF, ISHNE, HL7 aECG or CSV).

    ``fs`` supplies the sampling rate for files that do not state one (a CSV without
    time column, a .mat without header); files that state their own rate keep it.
    Signals come back in mV as float32 (n_samples, n_leads); see ``Record``.

    Every problem with the input, including unexpected failures inside a reader,
    is raised as ``RecordError`` with a one-line message naming the file.
    """
    p = Path(path).expanduser()
    kind, where = "record", p
    try:
        reader, target = resolve(p)
        kind, where = reader.name, target
        validate.check_input_file(target)
        if fs is not None:
            validate.check_fs(fs, target, "--fs")
        return validate.finalise(reader.read(target, fs))
    except (BeatScopeError, KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes a user message
        raise RecordError(f"{where}: cannot read {kind}: {_one_line(exc)}") from exc
