"""PhysioNet/CinC challenge ``.mat`` files: a ``val`` matrix (leads x samples) of ADC units.

With a sibling ``.hea`` (the challenge layout) the header supplies gains, baselines,
sampling rate and lead names, and the record is read like any WFDB record except that
the samples come from ``scipy.io.loadmat``. Without one, the sampling rate must come
from the caller (``--fs``) or a scalar ``fs`` variable in the file, and the CinC 2017
calibration (1000 ADC units per mV, baseline 0) is assumed and recorded in ``notes``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from beatscope.errors import RecordError
from beatscope.io.record import Record
from beatscope.io.validate import check_fs

DEFAULT_GAIN = 1000.0  # ADC units per mV (CinC 2017)
_FS_KEYS = ("fs", "Fs", "FS", "sampling_rate", "sampling_frequency", "srate")


def _load(path: Path) -> dict:
    try:
        return scipy.io.loadmat(str(path))
    except NotImplementedError:
        raise RecordError(
            f"{path}: MATLAB v7.3 (HDF5) .mat files are not supported: save with -v7"
        ) from None
    except (ValueError, TypeError, OSError) as exc:
        raise RecordError(f"{path}: not a readable MATLAB .mat file: {exc}") from None


def _signal_matrix(path: Path, content: dict) -> np.ndarray:
    """The ``val`` matrix, or the only numeric 2-D matrix in the file."""
    if "val" in content:
        val = np.asarray(content["val"])
    else:
        arrays = [np.asarray(v) for k, v in content.items()
                  if not k.startswith("__") and isinstance(v, np.ndarray)
                  and v.ndim in (1, 2) and v.size > 1 and np.issubdtype(v.dtype, np.number)]
        if len(arrays) != 1:
            raise RecordError(f"{path}: no 'val' signal matrix in the .mat file")
        val = arrays[0]
    if val.ndim == 1:
        val = val[None, :]
    if val.ndim != 2 or not np.issubdtype(val.dtype, np.number):
        raise RecordError(f"{path}: 'val' is not a numeric (leads x samples) matrix")
    return val


def read_mat_signals(path: Path, header: object, fs: float, comments: list[str]) -> np.ndarray:
    """Physical samples (n, leads) of a ``.mat`` described by a WFDB ``header``, in the
    header's units."""
    val = _signal_matrix(path, _load(path))
    n_sig = int(header.n_sig)  # type: ignore[attr-defined]
    if val.shape[0] != n_sig:
        if val.shape[1] == n_sig:
            val = val.T
        else:
            raise RecordError(f"{path}: the .mat holds {val.shape[0]} leads, "
                              f"its header describes {n_sig}")
    sig_len = header.sig_len  # type: ignore[attr-defined]
    if sig_len is not None and val.shape[1] != sig_len:
        if val.shape[1] < sig_len:
            comments.append(f"truncated: header says {sig_len} samples, file holds {val.shape[1]}")
        val = val[:, : min(sig_len, val.shape[1])]
    gains = np.array([g if g else 200.0 for g in header.adc_gain])  # type: ignore[attr-defined]
    baselines = np.array(header.baseline, dtype=np.float64)  # type: ignore[attr-defined]
    return ((val.T.astype(np.float64) - baselines) / gains).astype(np.float32)


def read_mat(path: Path, fs: float | None = None) -> Record:
    """Read a challenge ``.mat`` record, with its sibling ``.hea`` when there is one."""
    hea = path.with_suffix(".hea")
    comments: list[str] = []
    if hea.is_file():
        from beatscope.io.wfdb_reader import data_files, read_wfdb

        if data_files(hea) == [path.name]:
            return read_wfdb(hea, fs)
        comments.append(f"{hea.name} describes other signal files: ignored")

    content = _load(path)
    val = _signal_matrix(path, content)
    if val.shape[0] > val.shape[1]:
        val = val.T
        comments.append("'val' stored as samples x leads: transposed")
    file_fs = next((float(np.asarray(content[k]).ravel()[0]) for k in _FS_KEYS
                    if k in content and np.asarray(content[k]).size == 1), None)
    if fs is not None:
        fs_value = check_fs(fs, path, "--fs")
    elif file_fs is not None:
        fs_value = check_fs(file_fs, path, "'fs' in the .mat")
    else:
        raise RecordError(f"{path}: no .hea next to the .mat, sampling rate unknown: pass --fs")
    comments.append(
        f"no .hea: assumed {DEFAULT_GAIN:g} ADC units/mV and baseline 0 (CinC 2017 convention)"
    )
    signals = (val.T.astype(np.float64) / DEFAULT_GAIN).astype(np.float32)
    n_leads = signals.shape[1]
    names = ["ECG"] if n_leads == 1 else [f"ECG{i + 1}" for i in range(n_leads)]
    return Record(
        name=path.stem,
        signals=signals,
        fs=fs_value,
        lead_names=names,
        units=["mV"] * n_leads,
        source_path=path,
        format_name="MAT",
        notes=comments,
    )
