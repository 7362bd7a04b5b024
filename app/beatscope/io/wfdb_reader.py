"""WFDB records (``.hea`` + ``.dat`` [+ ``.atr``]), single- or multi-segment.

Plain single-segment records go through the memory-mapped decoder in
``wfdb_fast`` (a 24-hour Holter in about a second); everything else the ``wfdb``
package understands (multi-segment and variable-layout records, multi-frequency
signals, skew, FLAC and the rarer formats) goes through ``wfdb.rdrecord``.
Short (truncated) signal files are read up to their last complete frame, and a
header whose format code does not match the bytes is caught before the garbage
reaches the pipeline.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

import numpy as np
import wfdb
from wfdb.io import _signal as wfdb_signal

from beatscope.errors import RecordError
from beatscope.io import wfdb_fast
from beatscope.io.record import Annotations, Record
from beatscope.io.units import convert_to_mv
from beatscope.io.validate import check_fs, garbage_fraction

WFDB_DEFAULT_FS = 250.0  # the WFDB standard's value when a header gives none
GARBAGE_THRESHOLD = 0.08  # median step / full scale above which samples are not an ECG


def record_base(path: Path) -> Path:
    """The WFDB record path without extension (``/x/100.hea`` -> ``/x/100``)."""
    return path.with_name(path.name[: -len(".hea")]) if path.suffix == ".hea" else path


def _record_line(hea: Path) -> list[str]:
    """Tokens of the header's record line (the first line that is not a comment)."""
    with open(hea, encoding="latin-1") as fh:
        for line in fh:
            text = line.split("#", 1)[0].strip()
            if text:
                tokens = text.split()
                if len(tokens) < 2 or not tokens[1].isdigit():
                    raise RecordError(f"{hea}: not a WFDB header (record line {text[:40]!r} "
                                      "does not give a number of signals)")
                return tokens
    raise RecordError(f"{hea}: the header has no record line")


def _header_fs(hea: Path, tokens: list[str]) -> float | None:
    """The sampling rate written in the record line, or None when it is omitted."""
    if len(tokens) < 3:
        return None
    text = tokens[2].split("/", 1)[0].split("(", 1)[0]
    try:
        return float(text)
    except ValueError:
        raise RecordError(f"{hea}: sampling rate {tokens[2]!r} in the header is not a number") \
            from None


def _description_lines(hea: Path) -> list[str]:
    """The header's lines without comments and blank lines (record line first)."""
    with open(hea, encoding="latin-1") as fh:
        lines = [ln.split("#", 1)[0].strip() for ln in fh]
    return [ln for ln in lines if ln]


def _header_comments(hea: Path) -> list[str]:
    """The header's ``#`` comment lines, decoded as UTF-8 (latin-1 when that fails):
    wfdb's own reader drops non-ASCII letters, and a patient's name needs them."""
    raw = hea.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return [ln.strip()[1:].strip() for ln in text.splitlines() if ln.strip().startswith("#")]


def data_files(hea: Path) -> list[str]:
    """Names of the signal files a single-segment header refers to (cheap, no wfdb)."""
    names: list[str] = []
    lines = _description_lines(hea)
    if not lines or "/" in lines[0].split()[0]:
        return names
    for line in lines[1:]:
        name = line.split()[0]
        if name not in names:
            names.append(name)
    return names


def read_wfdb(hea: Path, fs: float | None = None) -> Record:
    """Read the WFDB record whose header is ``hea``; ``fs`` is used only when the header
    gives no sampling rate."""
    base = record_base(hea)
    tokens = _record_line(hea)
    header_fs = _header_fs(hea, tokens)
    comments: list[str] = []
    if header_fs is None:
        if fs is None:
            fs_value = WFDB_DEFAULT_FS
            comments.append("header gives no sampling rate: WFDB default 250 Hz assumed")
        else:
            fs_value = float(fs)
    else:
        fs_value = check_fs(header_fs, hea, "header")
        if fs is not None and not math.isclose(float(fs), fs_value):
            comments.append(f"--fs {float(fs):g} ignored: the header says {fs_value:g} Hz")

    if int(tokens[1]) == 0:
        raise RecordError(f"{hea}: the header describes no signals")
    described = len(_description_lines(hea)) - 1
    multi = "/" in tokens[0]
    announced = tokens[0].split("/", 1)[1] if multi else tokens[1]
    if not announced.isdigit() or described < int(announced):
        what = "segments" if multi else "signals"
        raise RecordError(f"{hea}: the header announces {announced} {what} "
                          f"but describes {described}")
    header = wfdb.rdheader(str(base))
    if getattr(header, "n_seg", None) is not None:
        signals, names, units, fmt_name = _read_multi_segment(hea, header, fs_value, comments)
    else:
        signals, names, units, fmt_name = _read_single_segment(hea, base, header, fs_value,
                                                               comments)
        units = convert_to_mv(signals, units)
    start = None
    if header.base_date is not None and header.base_time is not None:
        start = _dt.datetime.combine(header.base_date, header.base_time)
    return Record(
        name=str(header.record_name or base.name),
        signals=signals,
        fs=fs_value,
        lead_names=names,
        units=units,
        source_path=hea,
        start_datetime=start,
        annotations=_read_annotations(base, fs_value, comments),
        format_name=fmt_name,
        notes=comments,
        comments=_header_comments(hea),
    )


def _check_signal_files(hea: Path, header: object) -> None:
    for name in dict.fromkeys(header.file_name):  # type: ignore[attr-defined]
        dat = hea.parent / name
        if not dat.is_file():
            raise RecordError(f"{hea}: signal file {name} is missing")
        if dat.stat().st_size == 0:
            raise RecordError(f"{hea}: signal file {name} is empty (0 bytes)")


def _frames_on_disk(hea: Path, header: object) -> int | None:
    """Complete frames present in the shortest signal file, or None if not computable."""
    sizes: dict[str, float] = {}
    offsets: dict[str, int] = {}
    n_sig = header.n_sig  # type: ignore[attr-defined]
    spf = header.samps_per_frame or [1] * n_sig  # type: ignore[attr-defined]
    byte_offset = header.byte_offset or [None] * n_sig  # type: ignore[attr-defined]
    for i in range(n_sig):
        fmt = header.fmt[i]  # type: ignore[attr-defined]
        per_sample = wfdb_signal.BYTES_PER_SAMPLE.get(fmt, 0)
        if not per_sample:
            return None  # compressed (FLAC) or unknown: only wfdb can tell
        name = header.file_name[i]  # type: ignore[attr-defined]
        sizes[name] = sizes.get(name, 0.0) + per_sample * (spf[i] or 1)
        offsets[name] = int(byte_offset[i] or 0)
    frames = []
    for name, frame_bytes in sizes.items():
        size = (hea.parent / name).stat().st_size - offsets[name]
        frames.append(int(max(0, size) // frame_bytes))
    return min(frames)


def _settle_length(hea: Path, header_len: int | None, on_disk: int | None, fs: float,
                   comments: list[str]) -> int | None:
    """How many frames to read, given what the header promises and the files hold."""
    if on_disk is None:
        return header_len
    if on_disk == 0:
        raise RecordError(f"{hea}: the signal file holds no complete sample")
    if header_len is None:
        return on_disk
    if on_disk < header_len:
        if on_disk < fs:
            raise RecordError(
                f"{hea}: signal file truncated: header says {header_len} samples, "
                f"file holds only {on_disk} ({on_disk / fs:.2g} s)"
            )
        comments.append(f"truncated: header says {header_len} samples, file holds {on_disk}")
        return on_disk
    if on_disk - header_len >= fs:
        comments.append(
            f"signal file holds {on_disk} samples, header says {header_len}: read {header_len}"
        )
    return header_len


def _read_single_segment(hea: Path, base: Path, header: object, fs: float,
                         comments: list[str]) -> tuple[np.ndarray, list[str], list[str], str]:
    unknown = [f for f in header.fmt if f not in wfdb_signal.DAT_FMTS]  # type: ignore[attr-defined]
    if unknown:
        raise RecordError(f"{hea}: unknown WFDB signal format {unknown[0]!r} in the header")
    _check_signal_files(hea, header)
    files = list(dict.fromkeys(header.file_name))  # type: ignore[attr-defined]
    if all(f.lower().endswith(".mat") for f in files) and len(files) == 1:
        from beatscope.io.mat_reader import read_mat_signals  # PhysioNet challenge layout

        mat = read_mat_signals(hea.parent / files[0], header, fs, comments)
        return mat, list(header.sig_name), list(header.units), "MAT"  # type: ignore[attr-defined]

    n_sig = int(header.n_sig)  # type: ignore[attr-defined]
    gains = np.array([g if g else 200.0 for g in header.adc_gain],  # type: ignore[attr-defined]
                     dtype=np.float64)
    baselines = np.array(header.baseline, dtype=np.float64)  # type: ignore[attr-defined]
    groups = wfdb_fast.plan_fast_read(header, hea.parent)
    if groups is not None:
        on_disk = min(wfdb_fast.available_frames(g) for g in groups)
        n = _settle_length(hea, header.sig_len, on_disk, fs, comments)  # type: ignore[attr-defined]
        assert n is not None
        signals = np.empty((n, n_sig), dtype=np.float32)
        for group in groups:
            wfdb_fast.decode_into(signals, group, n, gains, baselines)
        bits = [wfdb_fast.FORMAT_BITS[f] for f in header.fmt]  # type: ignore[attr-defined]
    else:
        n = _settle_length(hea, header.sig_len, _frames_on_disk(hea, header), fs,  # type: ignore[attr-defined]
                           comments)
        rec = wfdb.rdrecord(str(base), sampto=n, physical=True, smooth_frames=True)
        signals = np.asarray(rec.p_signal, dtype=np.float32)
        if any((s or 1) > 1 for s in (header.samps_per_frame or [])):  # type: ignore[attr-defined]
            comments.append(f"signals with several samples per frame averaged to {fs:g} Hz")
        bits = [wfdb_signal.BIT_RES.get(f, 16) for f in header.fmt]  # type: ignore[attr-defined]

    # Judge the steps against the converter range the header declares (at least 12 bits,
    # at most what the format can hold): garbage from a wrong format code spans far more.
    adc_res = header.adc_res or [0] * n_sig  # type: ignore[attr-defined]
    full_scale = np.array([2.0 ** min(b, max(int(r or 0), 12))
                           for b, r in zip(bits, adc_res, strict=True)]) / gains
    if np.all(garbage_fraction(signals, full_scale) > GARBAGE_THRESHOLD):
        fmts = "/".join(dict.fromkeys(header.fmt))  # type: ignore[attr-defined]
        raise RecordError(
            f"{hea}: the samples do not look like an ECG stored in format {fmts}: "
            "the header's format code (or byte offset) is probably wrong"
        )
    return signals, list(header.sig_name), list(header.units), "WFDB"  # type: ignore[attr-defined]


def _read_multi_segment(hea: Path, header: object, fs: float, comments: list[str]
                        ) -> tuple[np.ndarray, list[str], list[str], str]:
    """Join the segments of a multi-segment record into one (n, leads) array in mV.

    Each segment is read like a single-segment record (fast path included) and its
    units converted on its own, since segments may differ in gain and units. With a
    variable layout (first segment of length 0) the layout segment names the leads and
    segments are matched to them by name; leads a segment lacks, and null ("~")
    segments, are NaN, which ``finalise`` turns into ``invalid_mask``.
    """
    seg_names = list(header.seg_name)  # type: ignore[attr-defined]
    seg_lens = [int(n) for n in header.seg_len]  # type: ignore[attr-defined]
    for seg in seg_names:
        if seg != "~" and not (hea.parent / f"{seg}.hea").is_file():
            raise RecordError(f"{hea}: segment header {seg}.hea is missing")
    seg_headers = {seg: wfdb.rdheader(str(hea.parent / seg)) for seg in dict.fromkeys(seg_names)
                   if seg != "~"}
    first = 0
    if seg_lens and seg_lens[0] == 0 and seg_names[0] != "~":
        names = list(seg_headers[seg_names[0]].sig_name)
        first = 1
    else:
        names = next((list(seg_headers[s].sig_name) for s in seg_names if s != "~"), [])
    n_sig = int(header.n_sig or len(names))  # type: ignore[attr-defined]
    names = (names + [f"lead{i + 1}" for i in range(len(names), n_sig)])[:n_sig]
    units: list[str | None] = [None] * n_sig

    signals = np.full((sum(seg_lens[first:]), n_sig), np.nan, dtype=np.float32)
    pos = 0
    for seg, length in zip(seg_names[first:], seg_lens[first:], strict=True):
        if seg == "~" or length == 0:
            pos += length
            continue
        seg_hea = hea.parent / f"{seg}.hea"
        seg_comments: list[str] = []
        part, part_names, part_units, _ = _read_single_segment(
            seg_hea, record_base(seg_hea), seg_headers[seg], fs, seg_comments)
        part_units = convert_to_mv(part, part_units)
        comments.extend(f"segment {seg}: {c}" for c in seg_comments)
        rows = min(length, part.shape[0])
        if part.shape[0] < length:
            comments.append(f"segment {seg}: {part.shape[0]} of {length} samples present")
        used: set[int] = set()
        for j, name in enumerate(part_names):
            target = next((i for i, n in enumerate(names) if n == name and i not in used), None)
            if target is None:
                comments.append(f"segment {seg}: lead {name} is not in the layout: skipped")
                continue
            used.add(target)
            signals[pos:pos + rows, target] = part[:rows, j]
            units[target] = units[target] or part_units[j]
        pos += length
    comments.append(f"multi-segment record: {len(seg_names) - first} segments joined")
    return signals, names, [u or "mV" for u in units], "WFDB multi-segment"


def _read_annotations(base: Path, fs: float, comments: list[str]) -> Annotations | None:
    """The record's ``.atr`` reference annotations, or None; an unreadable file is noted,
    not fatal (the signals are still worth reviewing)."""
    atr = base.with_name(base.name + ".atr")
    if not atr.is_file():
        return None
    try:
        ann = wfdb.rdann(str(base), "atr")
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - a broken .atr must not block the signals
        comments.append(f"reference annotations {atr.name} unreadable: {exc}")
        return None
    sample = np.asarray(ann.sample, dtype=np.int64)
    if ann.fs and not math.isclose(float(ann.fs), fs):
        sample = np.round(sample * (fs / float(ann.fs))).astype(np.int64)
        comments.append(f"annotation times rescaled from {float(ann.fs):g} Hz")
    aux = tuple((a or "").replace("\x00", "") for a in (ann.aux_note or [""] * len(sample)))
    return Annotations(sample=sample, symbol=tuple(ann.symbol), aux_note=aux, extension="atr")
