"""Cut the small real-ECG excerpts in tests/data from the PhysioNet databases.

Run by hand (not by the tests), from anywhere:

    .venv/bin/python tests/data/make_excerpts.py [--data /path/to/shared/data]

The databases are expected in ``<repo>/../shared/data`` (or ``<repo>/shared/data``).
Each excerpt keeps the original digital samples (format 212, same gain and baseline),
so a reader that decodes it can be checked bit for bit against ``wfdb.rdrecord``.
The reference annotations are cut to the excerpt and shifted to its own time base;
when an excerpt starts inside a rhythm episode, a ``+`` annotation carrying the
rhythm in force at the cut is added at sample 0 so the excerpt is self-describing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import wfdb

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# (database folder, source record, excerpt name, start second, length in seconds)
EXCERPTS: list[tuple[str, str, str, float, float]] = [
    ("mitdb", "100", "mitdb_100", 0.0, 120.0),
    ("mitdb", "119", "mitdb_119", 0.0, 120.0),
    ("mitdb", "208", "mitdb_208", 0.0, 120.0),
    ("mitdb", "203", "mitdb_203", 0.0, 120.0),
    # 201 is in atrial fibrillation from sample 60 to 136226 (0:00.2 - 6:18.4);
    # 2:00 - 4:00 lies well inside that episode.
    ("mitdb", "201", "mitdb_201_afib", 120.0, 120.0),
    # NSTDB: noise is added from minute 5 on, 2 min on / 2 min off; 5:00 - 7:00 is "on".
    ("nstdb", "118e06", "nstdb_118e06", 300.0, 120.0),
]


def _default_data_dir() -> Path:
    for candidate in (REPO / "shared" / "data", REPO.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "data"


def _rhythm_at(ann: wfdb.Annotation, sample: int) -> str | None:
    """The rhythm label (aux_note of the last ``+`` annotation) in force at ``sample``."""
    label = None
    for s, sym, aux in zip(ann.sample, ann.symbol, ann.aux_note, strict=True):
        if s > sample:
            break
        if sym == "+" and aux:
            label = aux
    return label


def make_excerpt(data_dir: Path, db: str, src: str, name: str, start_s: float,
                 length_s: float, out_dir: Path) -> str:
    path = str(data_dir / db / src)
    header = wfdb.rdheader(path)
    fs = float(header.fs)
    start = int(round(start_s * fs))
    stop = start + int(round(length_s * fs))
    rec = wfdb.rdrecord(path, sampfrom=start, sampto=stop, physical=False)
    ann = wfdb.rdann(path, "atr")

    wfdb.wrsamp(
        name,
        fs=fs,
        units=list(rec.units),
        sig_name=list(rec.sig_name),
        d_signal=rec.d_signal,
        fmt=["212"] * rec.n_sig,
        adc_gain=list(rec.adc_gain),
        baseline=list(rec.baseline),
        comments=[f"Excerpt of PhysioNet {db} record {src}, "
                  f"{start_s:g} s to {start_s + length_s:g} s (samples {start}-{stop})."]
        + list(rec.comments or []),
        write_dir=str(out_dir),
    )

    keep = (ann.sample >= start) & (ann.sample < stop)
    sample = ann.sample[keep] - start
    symbol = [s for s, k in zip(ann.symbol, keep, strict=True) if k]
    aux = [(a or "") for a, k in zip(ann.aux_note, keep, strict=True) if k]
    subtype = np.asarray(ann.subtype)[keep]
    chan = np.asarray(ann.chan)[keep]
    num = np.asarray(ann.num)[keep]
    note = ""
    rhythm = _rhythm_at(ann, start)
    if start > 0 and rhythm and not (len(sample) and sample[0] == 0 and symbol[0] == "+"):
        sample = np.concatenate([[0], sample])
        symbol = ["+"] + symbol
        aux = [rhythm] + aux
        subtype = np.concatenate([[0], subtype])
        chan = np.concatenate([[0], chan])
        num = np.concatenate([[0], num])
        note = f"; added '+' {rhythm.rstrip(chr(0))} at sample 0"
    wfdb.wrann(
        name, "atr", sample=np.asarray(sample, dtype=np.int64), symbol=symbol,
        aux_note=aux, subtype=subtype.astype(int), chan=chan.astype(int),
        num=num.astype(int), fs=fs, write_dir=str(out_dir),
    )
    return (f"{name}: {db}/{src} {start_s:g}-{start_s + length_s:g} s, "
            f"{len(sample)} annotations{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_default_data_dir())
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    for db, src, name, start_s, length_s in EXCERPTS:
        print(make_excerpt(args.data, db, src, name, start_s, length_s, args.out))


if __name__ == "__main__":
    main()
