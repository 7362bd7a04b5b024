"""Record readers: WFDB (fast path and wfdb fallback, multi-segment), .mat, EDF, CSV,
lead selection and record discovery. All inputs are the shipped excerpts in
tests/data or files built from them in tmp_path."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pyedflib
import pyedflib.highlevel as edf
import pytest
import scipy.io
import wfdb

from beatscope.errors import RecordError
from beatscope.io import Record, find_records, load_record, select_model_leads, wfdb_fast

DATA = Path(__file__).parent / "data"
EXCERPTS = ["mitdb_100", "mitdb_119", "mitdb_208", "mitdb_203", "mitdb_201_afib",
            "nstdb_118e06"]


def digital(name: str = "mitdb_100") -> np.ndarray:
    return wfdb.rdrecord(str(DATA / name), physical=False).d_signal


def write_wfdb(directory: Path, name: str, d: np.ndarray, fmt: str = "16",
               gain: float = 200.0, baseline: int = 1024, units: str = "mV",
               names: list[str] | None = None, fs: float = 360, **kw: object) -> Path:
    n = d.shape[1]
    wfdb.wrsamp(name, fs=fs, units=[units] * n, sig_name=names or ["MLII", "V5"][:n],
                d_signal=d, fmt=[fmt] * n, adc_gain=[gain] * n, baseline=[baseline] * n,
                write_dir=str(directory), **kw)
    return directory / f"{name}.hea"


# --------------------------------------------------------------------------- WFDB


@pytest.mark.parametrize("name", EXCERPTS)
def test_excerpt_fast_path_equals_wfdb(name: str) -> None:
    rec = load_record(DATA / f"{name}.hea")
    ref = wfdb.rdrecord(str(DATA / name))
    assert rec.signals.dtype == np.float32
    assert np.array_equal(rec.signals, ref.p_signal.astype(np.float32))
    assert rec.fs == 360.0
    assert rec.lead_names == ref.sig_name
    assert rec.units == ["mV", "mV"]
    assert rec.format_name == "WFDB"
    assert rec.invalid_mask is None
    ann = wfdb.rdann(str(DATA / name), "atr")
    assert rec.annotations is not None
    assert rec.annotations.sample.dtype == np.int64
    assert np.array_equal(rec.annotations.sample, ann.sample)
    assert rec.annotations.symbol == tuple(ann.symbol)
    assert all("\x00" not in a for a in rec.annotations.aux_note)
    assert rec.annotations.aux_note[0].startswith("(")  # the rhythm in force at the start


def test_afib_excerpt_is_in_afib() -> None:
    rec = load_record(DATA / "mitdb_201_afib")
    assert rec.annotations is not None
    rhythms = [a for a in rec.annotations.aux_note if a]
    assert rhythms == ["(AFIB"]


def test_fast_path_does_not_use_wfdb_rdrecord(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kw: object) -> None:
        raise AssertionError("wfdb.rdrecord must not be called for a format 212 record")

    monkeypatch.setattr(wfdb, "rdrecord", boom)
    assert load_record(DATA / "mitdb_119.hea").n_samples == 43200


@pytest.mark.parametrize("fmt", ["16", "61", "80", "160", "212", "24", "32"])
def test_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    d = digital()[:3600].astype(np.int64) - 1024
    if fmt == "80":  # 8-bit format: squeeze the 11-bit samples
        d = np.clip(d // 8, -127, 127)
    if fmt in ("61", "160"):  # wfdb cannot write these: write the bytes ourselves
        raw = d.astype(">i2") if fmt == "61" else (d + 32768).astype("<u2")
        raw.tofile(tmp_path / f"f{fmt}.dat")
        (tmp_path / f"f{fmt}.hea").write_text(
            f"f{fmt} 2 360 3600\n"
            + "".join(f"f{fmt}.dat {fmt} 200/mV 16 0 0 0 0 {n}\n" for n in ("MLII", "V5")))
    else:
        write_wfdb(tmp_path, f"f{fmt}", d, fmt=fmt, baseline=0)
    rec = load_record(tmp_path / f"f{fmt}.hea")
    ref = wfdb.rdrecord(str(tmp_path / f"f{fmt}")).p_signal.astype(np.float32)
    assert np.array_equal(rec.signals, ref)
    assert (wfdb_fast.plan_fast_read(wfdb.rdheader(str(tmp_path / f"f{fmt}")), tmp_path)
            is None) == (fmt == "24")


@pytest.mark.parametrize("fmt", ["212", "16", "80"])
def test_fast_path_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           fmt: str) -> None:
    monkeypatch.setattr(wfdb_fast, "CHUNK_FRAMES", 1000)
    d = digital()[:3601].astype(np.int64) - 1024
    d = np.column_stack([d, d[:, 0] - d[:, 1]])  # 3 leads, odd number of samples
    if fmt == "80":
        d = np.clip(d // 16, -127, 127)
    hea = write_wfdb(tmp_path, "chunks", d, fmt=fmt, baseline=0, names=["MLII", "V5", "X"])
    rec = load_record(hea)
    ref = wfdb.rdrecord(str(tmp_path / "chunks")).p_signal.astype(np.float32)
    assert np.array_equal(rec.signals, ref)


def test_byte_offset_fast_path(tmp_path: Path) -> None:
    d = digital()[:3600]
    raw = (DATA / "mitdb_100.dat").read_bytes()[: 3600 * 3]
    (tmp_path / "off.dat").write_bytes(b"JUNK" * 64 + raw)  # 256-byte prefix
    (tmp_path / "off.hea").write_text(
        "off 2 360 3600\n"
        "off.dat 212+256 200(1024)/mV 11 0 0 0 0 MLII\n"
        "off.dat 212+256 200(1024)/mV 11 0 0 0 0 V5\n")
    rec = load_record(tmp_path / "off.hea")
    assert np.array_equal(rec.signals, ((d - 1024) / 200.0).astype(np.float32))
    assert np.array_equal(rec.signals,
                          wfdb.rdrecord(str(tmp_path / "off")).p_signal.astype(np.float32))


def test_skewed_record_goes_through_wfdb(tmp_path: Path) -> None:
    for ext in ("dat", "hea"):
        shutil.copy(DATA / f"mitdb_100.{ext}", tmp_path / f"sk.{ext}")
    lines = (tmp_path / "sk.hea").read_text().replace("mitdb_100", "sk").splitlines()
    lines[2] = lines[2].replace("sk.dat 212", "sk.dat 212:3", 1)
    (tmp_path / "sk.hea").write_text("\n".join(lines) + "\n")
    rec = load_record(tmp_path / "sk.hea")
    ref = wfdb.rdrecord(str(tmp_path / "sk")).p_signal.astype(np.float32)
    assert np.array_equal(rec.signals, np.nan_to_num(ref))  # skew leaves 3 samples NaN
    assert rec.invalid_mask is not None and rec.invalid_mask[-3:, 1].all()
    plain = load_record(DATA / "mitdb_100.hea").signals
    assert np.array_equal(rec.signals[:100, 1], plain[3:103, 1])


def test_odd_sample_count_212_and_separate_files(tmp_path: Path) -> None:
    d = digital()[:3601, :1]  # odd number of 12-bit samples: last pair half used
    rec = load_record(write_wfdb(tmp_path, "odd", d, fmt="212"))
    assert np.array_equal(rec.signals, wfdb.rdrecord(str(tmp_path / "odd")).p_signal
                          .astype(np.float32))
    # two signals in two files, different formats
    d2 = digital()[:3600]
    wfdb.wrsamp("two", fs=360, units=["mV", "uV"], sig_name=["MLII", "V5"], d_signal=d2,
                fmt=["212", "16"], adc_gain=[200.0, 0.2], baseline=[1024, 1024],
                write_dir=str(tmp_path))
    hea = (tmp_path / "two.hea").read_text().splitlines()
    hea[2] = hea[2].replace("two.dat", "two_v5.dat", 1)
    (tmp_path / "two.hea").write_text("\n".join(hea) + "\n")
    wfdb.wrsamp("two_v5", fs=360, units=["uV"], sig_name=["V5"], d_signal=d2[:, 1:],
                fmt=["16"], adc_gain=[0.2], baseline=[1024], write_dir=str(tmp_path))
    # two.dat was written with both signals; rewrite it with MLII only
    wfdb.wrsamp("two_ml", fs=360, units=["mV"], sig_name=["MLII"], d_signal=d2[:, :1],
                fmt=["212"], adc_gain=[200.0], baseline=[1024], write_dir=str(tmp_path))
    shutil.copy(tmp_path / "two_ml.dat", tmp_path / "two.dat")
    rec = load_record(tmp_path / "two.hea")
    expected = ((d2 - 1024) / 200.0).astype(np.float32)
    assert rec.units == ["mV", "mV"]
    np.testing.assert_allclose(rec.signals, expected, atol=1e-6)


def test_units_converted_to_mv(tmp_path: Path) -> None:
    d = digital()[:3600] - 1024
    uv = load_record(write_wfdb(tmp_path, "uv", d, gain=0.2, baseline=0, units="uV"))
    volts = load_record(write_wfdb(tmp_path, "v", d, gain=200000.0, baseline=0, units="V"))
    odd = load_record(write_wfdb(tmp_path, "nu", d, gain=200.0, baseline=0, units="NU"))
    expected = (d / 200.0).astype(np.float32)
    np.testing.assert_allclose(uv.signals, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(volts.signals, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(odd.signals, expected)
    assert uv.units == volts.units == ["mV", "mV"]
    assert odd.units == ["NU", "NU"]  # unknown unit: kept, values taken as they are


def test_start_datetime_from_header(tmp_path: Path) -> None:
    hea = write_wfdb(tmp_path, "dated", digital()[:3600], base_date=dt.date(2024, 5, 1),
                     base_time=dt.time(8, 30, 15))
    assert load_record(hea).start_datetime == dt.datetime(2024, 5, 1, 8, 30, 15)
    assert load_record(DATA / "mitdb_100.hea").start_datetime is None


def test_record_can_be_named_by_hea_dat_atr_or_base_name() -> None:
    reference = load_record(DATA / "mitdb_100.hea")
    for path in (DATA / "mitdb_100", DATA / "mitdb_100.dat", DATA / "mitdb_100.atr",
                 str(DATA / "mitdb_100")):
        rec = load_record(path)
        assert rec.source_path == DATA / "mitdb_100.hea"
        assert np.array_equal(rec.signals, reference.signals)


def test_metadata_is_json_friendly() -> None:
    meta = load_record(DATA / "mitdb_100").metadata()
    assert meta["n_samples"] == 43200 and meta["n_leads"] == 2
    assert meta["has_reference_annotations"] is True
    assert meta["duration_s"] == 120.0


def _multi_segment(tmp_path: Path, variable: bool) -> tuple[Path, np.ndarray]:
    d = digital()[:7200]
    write_wfdb(tmp_path, "ms_0001", d[:3600], fmt="212")
    if variable:  # second segment: MLII only, in uV
        write_wfdb(tmp_path, "ms_0002", d[3600:, :1], fmt="16", gain=0.2, units="uV")
        (tmp_path / "ms_layout.hea").write_text(
            "ms_layout 2 360 0\n~ 0 200/mV 12 0 0 0 0 MLII\n~ 0 200/mV 12 0 0 0 0 V5\n")
        master = "ms/3 2 360 7200\nms_layout 0\nms_0001 3600\nms_0002 3600\n"
    else:
        write_wfdb(tmp_path, "ms_0002", d[3600:], fmt="16")
        master = "ms/2 2 360 7200\nms_0001 3600\nms_0002 3600\n"
    (tmp_path / "ms.hea").write_text(master)
    return tmp_path / "ms.hea", ((d - 1024) / 200.0).astype(np.float32)


def test_multi_segment_fixed_layout(tmp_path: Path) -> None:
    hea, expected = _multi_segment(tmp_path, variable=False)
    rec = load_record(hea)
    assert rec.format_name == "WFDB multi-segment"
    assert rec.lead_names == ["MLII", "V5"]
    assert np.array_equal(rec.signals, expected)
    assert rec.invalid_mask is None
    ref = wfdb.rdrecord(str(tmp_path / "ms")).p_signal.astype(np.float32)
    assert np.array_equal(rec.signals, ref)


def test_multi_segment_variable_layout(tmp_path: Path) -> None:
    hea, expected = _multi_segment(tmp_path, variable=True)
    rec = load_record(hea)
    assert rec.n_samples == 7200 and rec.lead_names == ["MLII", "V5"]
    assert rec.units == ["mV", "mV"]
    np.testing.assert_allclose(rec.signals[:, 0], expected[:, 0], atol=1e-6)  # uV -> mV
    assert np.array_equal(rec.signals[:3600, 1], expected[:3600, 1])
    assert rec.invalid_mask is not None
    assert rec.invalid_mask[3600:, 1].all() and not rec.invalid_mask[:, 0].any()
    assert np.all(rec.signals[3600:, 1] == 0)


# --------------------------------------------------------------------------- .mat


def _mat(tmp_path: Path, name: str, with_header: bool) -> np.ndarray:
    d = digital()[:9000]
    scipy.io.savemat(str(tmp_path / f"{name}.mat"), {"val": d.T.astype(np.int16)}, format="4")
    if with_header:
        (tmp_path / f"{name}.hea").write_text(
            f"{name} 2 360 9000\n"
            f"{name}.mat 16+24 200(1024)/mV 16 0 0 0 0 MLII\n"
            f"{name}.mat 16+24 200(1024)/mV 16 0 0 0 0 V1\n"
        )
    return d


def test_mat_with_header(tmp_path: Path) -> None:
    d = _mat(tmp_path, "A0001", with_header=True)
    expected = ((d - 1024) / 200.0).astype(np.float32)
    for path in (tmp_path / "A0001.mat", tmp_path / "A0001.hea", tmp_path / "A0001"):
        rec = load_record(path)
        assert rec.fs == 360.0 and rec.lead_names == ["MLII", "V1"]
        assert rec.format_name == "MAT"
        assert np.array_equal(rec.signals, expected)


def test_mat_without_header_needs_fs(tmp_path: Path) -> None:
    d = _mat(tmp_path, "A00002", with_header=False)
    with pytest.raises(RecordError, match="sampling rate unknown: pass --fs"):
        load_record(tmp_path / "A00002.mat")
    rec = load_record(tmp_path / "A00002.mat", fs=300)
    assert rec.fs == 300.0 and rec.lead_names == ["ECG1", "ECG2"]
    np.testing.assert_array_equal(rec.signals, (d / 1000.0).astype(np.float32))
    assert any("1000" in c and "mV" in c for c in rec.notes)


def test_mat_single_lead_v5_file(tmp_path: Path) -> None:
    d = digital()[:3000, 0]
    scipy.io.savemat(str(tmp_path / "A00003.mat"), {"val": d[None, :].astype(np.int16)})
    rec = load_record(tmp_path / "A00003.mat", fs=300)
    assert rec.lead_names == ["ECG"] and rec.signals.shape == (3000, 1)


# --------------------------------------------------------------------------- EDF


def _edf(path: Path, channels: list[tuple[str, str, float]], seconds: int = 10) -> None:
    signals, headers = [], []
    t = np.arange(seconds * 256) / 256.0
    for k, (label, unit, fs) in enumerate(channels):
        n = int(seconds * fs)
        x = np.sin(2 * np.pi * (k + 1) * np.arange(n) / fs)
        scale = {"uV": 1000.0, "mV": 1.0}.get(unit, 10.0)
        signals.append(x * scale)
        headers.append(edf.make_signal_header(label, dimension=unit, sample_frequency=fs,
                                              physical_min=-2 * scale, physical_max=2 * scale))
    del t
    header = edf.make_header(startdate=dt.datetime(2023, 3, 4, 10, 11, 12))
    edf.write_edf(str(path), signals, headers, header)


def test_edf_picks_ecg_channels(tmp_path: Path) -> None:
    path = tmp_path / "psg.edf"
    _edf(path, [("EEG Fp1", "uV", 256), ("ECG II", "uV", 256), ("Resp", "a.u.", 32),
                ("V1", "mV", 256), ("SpO2", "%", 1), ("ECG aux", "mV", 128)])
    rec = load_record(path)
    assert rec.lead_names == ["ECG II", "V1"]
    assert rec.fs == 256.0 and rec.n_samples == 2560
    assert rec.units == ["mV", "mV"]
    assert rec.start_datetime == dt.datetime(2023, 3, 4, 10, 11, 12)
    assert rec.format_name.startswith("EDF")
    expected = np.sin(2 * np.pi * 2 * np.arange(2560) / 256.0)  # ECG II, in uV -> mV
    np.testing.assert_allclose(rec.signals[:, 0], expected, atol=2e-3)
    assert any("ECG aux" in c for c in rec.notes)  # other rate: dropped, noted
    assert select_model_leads(rec.lead_names) == [0, 1]


def test_edf_without_ecg_labels_takes_voltage_channels(tmp_path: Path) -> None:
    path = tmp_path / "holter.edf"
    _edf(path, [("Chan 1", "mV", 200), ("Chan 2", "mV", 200), ("Accel", "g", 25)])
    rec = load_record(path)
    assert rec.lead_names == ["Chan 1", "Chan 2"]
    assert any("voltage" in c for c in rec.notes)


def test_bdf_magic_and_misnamed_edf(tmp_path: Path) -> None:
    path = tmp_path / "rec.edf"
    _edf(path, [("ECG", "mV", 250)])
    misnamed = tmp_path / "rec.bin"
    shutil.copy(path, misnamed)
    assert load_record(misnamed).lead_names == ["ECG"]
    x = np.sin(np.arange(2500) / 10.0)
    edf.write_edf(str(tmp_path / "b.bdf"), [x], [edf.make_signal_header(
        "EKG", dimension="uV", sample_frequency=250, physical_min=-2, physical_max=2,
        digital_min=-8388608, digital_max=8388607)], file_type=pyedflib.FILETYPE_BDFPLUS)
    assert (tmp_path / "b.bdf").read_bytes()[:8] == b"\xffBIOSEMI"
    rec = load_record(tmp_path / "b.bdf")
    assert rec.format_name == "BDF+" and rec.units == ["mV"]
    np.testing.assert_allclose(rec.signals[:, 0], x / 1000.0, atol=1e-7)


# --------------------------------------------------------------------------- CSV


def _csv_samples(seconds: float = 5.0, fs: float = 250.0) -> np.ndarray:
    n = int(seconds * fs)
    k = np.arange(n)
    return np.column_stack([np.sin(k / 10.0), np.cos(k / 7.0)]).round(4)


def test_csv_with_time_column_in_seconds(tmp_path: Path) -> None:
    x = _csv_samples()
    t = np.arange(len(x)) / 250.0
    path = tmp_path / "export.csv"
    rows = "\n".join(f"{ti:.4f},{a},{b}" for ti, (a, b) in zip(t, x, strict=True))
    path.write_text("time,Lead II,V1\n" + rows + "\n")
    rec = load_record(path)
    assert rec.fs == pytest.approx(250.0)
    assert rec.lead_names == ["Lead II", "V1"]
    assert rec.format_name == "CSV"
    np.testing.assert_allclose(rec.signals, x, atol=1e-6)


def test_csv_time_in_ms_with_rounding_and_units(tmp_path: Path) -> None:
    x = _csv_samples(fs=360.0)
    t_ms = np.round(np.arange(len(x)) * 1000.0 / 360.0)  # jitter of +-0.5 ms
    path = tmp_path / "ms.csv"
    rows = "\n".join(f"{ti:.0f};{a * 1000:.1f};{b}" for ti, (a, b) in zip(t_ms, x, strict=True))
    path.write_text("# exported by some monitor\ntime_ms;II (uV);V5_mV\n" + rows + "\n")
    rec = load_record(path)
    assert rec.fs == pytest.approx(360.0, rel=1e-3)
    assert rec.lead_names == ["II", "V5"] and rec.units == ["mV", "mV"]
    np.testing.assert_allclose(rec.signals, x, atol=1e-4)


def test_csv_with_given_fs_and_no_header(tmp_path: Path) -> None:
    x = _csv_samples()
    path = tmp_path / "raw.txt"
    path.write_text("\n".join(f"{a}\t{b}" for a, b in x) + "\n")
    rec = load_record(path, fs=250)
    assert rec.fs == 250.0 and rec.signals.shape == (len(x), 2)
    np.testing.assert_allclose(rec.signals, x, atol=1e-6)
    path2 = tmp_path / "named.csv"
    path2.write_text("sample,MLII\n" + "\n".join(f"{i},{a}" for i, (a, _) in enumerate(x)))
    rec2 = load_record(path2, fs=250)
    assert rec2.lead_names == ["MLII"]  # the index column is not a lead


def test_csv_empty_cells_are_invalid_samples(tmp_path: Path) -> None:
    x = _csv_samples()
    lines = [f"{a},{b}" for a, b in x]
    lines[10] = "0.5,"
    path = tmp_path / "gaps.csv"
    path.write_text("I,II\n" + "\n".join(lines) + "\n")
    rec = load_record(path, fs=250)
    assert rec.invalid_mask is not None and rec.invalid_mask[10, 1]
    assert int(rec.invalid_mask.sum()) == 1 and rec.signals[10, 1] == 0


# --------------------------------------------------------------------------- leads


@pytest.mark.parametrize(
    ("names", "n", "expected"),
    [
        (["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"], 2, [1, 6]),
        (["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"], 3,
         [1, 6, 10]),
        (["MLII", "V1"], 2, [0, 1]),
        (["V1", "MLII"], 2, [1, 0]),
        (["V5", "V2"], 2, [0, 1]),
        (["V2", "V5"], 2, [1, 0]),
        (["ECG1", "ECG2", "ECG3"], 2, [0, 1]),
        (["ecg1", "lead II"], 2, [1, 0]),
        (["ML2", "v1"], 1, [0]),
        (["V4", "ECG V1"], 2, [1, 0]),
        (["III", " mlii "], 2, [1, 0]),
        (["ECG II", "II"], 2, [0, 1]),
        (["II"], 2, [0]),
        (["ECG"], 2, [0]),
        ([], 2, []),
    ],
)
def test_select_model_leads(names: list[str], n: int, expected: list[int]) -> None:
    assert select_model_leads(names, n) == expected


# --------------------------------------------------------------------------- discovery


def test_find_records_in_directory(tmp_path: Path) -> None:
    for name in ("mitdb_100", "mitdb_119"):
        for ext in ("hea", "dat", "atr"):
            shutil.copy(DATA / f"{name}.{ext}", tmp_path / f"{name}.{ext}")
    _multi_segment(tmp_path, variable=True)
    _mat(tmp_path, "A0001", with_header=True)
    _mat(tmp_path, "A00002", with_header=False)
    _edf(tmp_path / "psg.edf", [("ECG", "mV", 250)])
    (tmp_path / "export.csv").write_text("II\n1\n")
    (tmp_path / "notes.txt").write_text("not a record\n")
    (tmp_path / "sub").mkdir()
    found = find_records([tmp_path])
    assert [p.name for p in found] == ["A00002.mat", "A0001.hea", "export.csv",
                                       "mitdb_100.hea", "mitdb_119.hea", "ms.hea", "psg.edf"]
    # explicit paths: record names and sibling files map to the header, no duplicates
    again = find_records([tmp_path / "mitdb_100", tmp_path / "mitdb_100.dat",
                          str(tmp_path / "mitdb_119.hea"), tmp_path / "notes.txt"])
    assert again == [tmp_path / "mitdb_100.hea", tmp_path / "mitdb_119.hea",
                     tmp_path / "notes.txt"]
    with pytest.raises(RecordError, match="no such file"):
        find_records([tmp_path / "missing"])
    for path in found:
        if path.name != "export.csv":  # one row: rightly refused by the loader
            assert isinstance(load_record(path, fs=300), Record)


def test_csv_semicolon_with_decimal_comma(tmp_path: Path) -> None:
    x = _csv_samples()
    rows = "\n".join(f"{a:.4f};{b:.4f}".replace(".", ",") for a, b in x)
    (tmp_path / "eu.csv").write_text("II;V1\n" + rows + "\n")
    rec = load_record(tmp_path / "eu.csv", fs=250)
    np.testing.assert_allclose(rec.signals, x, atol=1e-6)
