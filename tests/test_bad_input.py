"""Bad input: every case ends in a one-line RecordError that names the file and says
what is wrong, or, where the file is usable, in a correct Record (with a note).
Broken files are built in tmp_path from the shipped excerpts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

from beatscope.errors import BeatScopeError, RecordError
from beatscope.io import formats, load_record

DATA = Path(__file__).parent / "data"
N = 43200  # samples in each excerpt


def copy_record(tmp_path: Path, new: str, src: str = "mitdb_100",
                exts: tuple[str, ...] = ("hea", "dat")) -> Path:
    """Copy an excerpt under a new record name (header rewritten to match)."""
    for ext in exts:
        target = tmp_path / f"{new}.{ext}"
        if ext == "hea":
            target.write_text((DATA / f"{src}.hea").read_text().replace(src, new))
        else:
            shutil.copy(DATA / f"{src}.{ext}", target)
    return tmp_path / f"{new}.hea"


def edit_header(hea: Path, old: str, new: str) -> None:
    text = hea.read_text()
    assert old in text
    hea.write_text(text.replace(old, new))


def reference(src: str = "mitdb_100") -> np.ndarray:
    return wfdb.rdrecord(str(DATA / src)).p_signal.astype(np.float32)


def one_line(err: pytest.ExceptionInfo[RecordError]) -> str:
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def write_signal(tmp_path: Path, name: str, p: np.ndarray, fs: float = 360,
                 fmt: str = "16") -> Path:
    wfdb.wrsamp(name, fs=fs, units=["mV"] * p.shape[1],
                sig_name=["MLII", "V5", "V2"][: p.shape[1]], p_signal=p, fmt=[fmt] * p.shape[1],
                adc_gain=[200.0] * p.shape[1], baseline=[0] * p.shape[1],
                write_dir=str(tmp_path))
    return tmp_path / f"{name}.hea"


# --------------------------------------------------------------------------- missing/empty


def test_missing_file(tmp_path: Path) -> None:
    for path in (tmp_path / "nothere.hea", tmp_path / "nothere", tmp_path / "x.edf"):
        with pytest.raises(RecordError, match="no such file") as err:
            load_record(path)
        assert str(path) in one_line(err)


def test_zero_byte_files(tmp_path: Path) -> None:
    for name in ("empty.hea", "empty.edf", "empty.csv", "empty.mat"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(RecordError, match="empty") as err:
            load_record(tmp_path / name, fs=250)
        assert name in one_line(err)


def test_zero_byte_dat(tmp_path: Path) -> None:
    hea = copy_record(tmp_path, "r0", exts=("hea",))
    (tmp_path / "r0.dat").write_bytes(b"")
    with pytest.raises(RecordError, match="r0.dat is empty"):
        load_record(hea)


def test_missing_dat(tmp_path: Path) -> None:
    hea = copy_record(tmp_path, "nodat", exts=("hea",))
    with pytest.raises(RecordError, match="signal file nodat.dat is missing") as err:
        load_record(hea)
    assert "nodat.hea" in one_line(err)


def test_dat_without_header(tmp_path: Path) -> None:
    shutil.copy(DATA / "mitdb_100.dat", tmp_path / "lonely.dat")
    with pytest.raises(RecordError, match="without its header lonely.hea"):
        load_record(tmp_path / "lonely.dat")


def test_directory_is_not_a_record(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="directory"):
        load_record(tmp_path)


# --------------------------------------------------------------------------- truncation


def test_truncated_dat_reads_complete_samples(tmp_path: Path) -> None:
    hea = copy_record(tmp_path, "trunc")
    raw = (DATA / "mitdb_100.dat").read_bytes()
    (tmp_path / "trunc.dat").write_bytes(raw[: len(raw) // 3 + 2])  # cut mid-frame
    rec = load_record(hea)
    assert rec.n_samples == 14400
    assert np.array_equal(rec.signals, reference()[:14400])
    assert f"truncated: header says {N} samples, file holds 14400" in rec.notes


def test_truncated_dat_with_almost_nothing_left_is_an_error(tmp_path: Path) -> None:
    hea = copy_record(tmp_path, "stub")
    (tmp_path / "stub.dat").write_bytes((DATA / "mitdb_100.dat").read_bytes()[:100])
    with pytest.raises(RecordError, match="truncated: header says 43200 samples") as err:
        load_record(hea)
    assert "stub.hea" in one_line(err)


def test_truncated_dat_slow_path(tmp_path: Path) -> None:
    d = wfdb.rdrecord(str(DATA / "mitdb_100"), physical=False).d_signal[:7200]
    wfdb.wrsamp("t24", fs=360, units=["mV", "mV"], sig_name=["MLII", "V5"], d_signal=d,
                fmt=["24", "24"], adc_gain=[200.0, 200.0], baseline=[1024, 1024],
                write_dir=str(tmp_path))
    raw = (tmp_path / "t24.dat").read_bytes()
    (tmp_path / "t24.dat").write_bytes(raw[: len(raw) // 2 + 1])
    rec = load_record(tmp_path / "t24.hea")
    assert rec.n_samples == 3600
    assert np.array_equal(rec.signals, reference()[:3600])
    assert any(c.startswith("truncated") for c in rec.notes)


def test_header_lies_about_length(tmp_path: Path) -> None:
    longer = copy_record(tmp_path, "longer", exts=("hea", "dat", "atr"))
    edit_header(longer, f"longer 2 360 {N}", f"longer 2 360 {10 * N}")
    rec = load_record(longer)
    assert rec.n_samples == N and np.array_equal(rec.signals, reference())
    assert f"truncated: header says {10 * N} samples, file holds {N}" in rec.notes

    shorter = copy_record(tmp_path, "shorter", exts=("hea", "dat", "atr"))
    edit_header(shorter, f"shorter 2 360 {N}", "shorter 2 360 7200")
    rec = load_record(shorter)
    assert rec.n_samples == 7200 and np.array_equal(rec.signals, reference()[:7200])
    assert rec.annotations is not None and rec.annotations.sample.max() < 7200
    assert any("annotation" in c for c in rec.notes)


# --------------------------------------------------------------------------- wrong format


@pytest.mark.parametrize("code", ["16", "80", "24", "310", "61"])
def test_header_lies_about_format(tmp_path: Path, code: str) -> None:
    hea = copy_record(tmp_path, "wrongfmt")
    edit_header(hea, "wrongfmt.dat 212", f"wrongfmt.dat {code}")
    with pytest.raises(RecordError, match=f"format {code}.*format code") as err:
        load_record(hea)
    assert "wrongfmt.hea" in one_line(err)


def test_format16_data_declared_212(tmp_path: Path) -> None:
    d = wfdb.rdrecord(str(DATA / "mitdb_100"), physical=False).d_signal
    wfdb.wrsamp("was16", fs=360, units=["mV", "mV"], sig_name=["MLII", "V5"], d_signal=d,
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[1024, 1024],
                write_dir=str(tmp_path))
    edit_header(tmp_path / "was16.hea", "was16.dat 16", "was16.dat 212")
    with pytest.raises(RecordError, match="format 212"):
        load_record(tmp_path / "was16.hea")


def test_unknown_format_code(tmp_path: Path) -> None:
    hea = copy_record(tmp_path, "fmt999")
    edit_header(hea, "fmt999.dat 212", "fmt999.dat 999")
    with pytest.raises(RecordError, match="unknown WFDB signal format '999'"):
        load_record(hea)


def test_unparseable_header(tmp_path: Path) -> None:
    (tmp_path / "junk.hea").write_text("this is not\na header\n")
    with pytest.raises(RecordError, match="junk.hea: not a WFDB header") as err:
        load_record(tmp_path / "junk.hea")
    one_line(err)
    (tmp_path / "bad_sig.hea").write_text("bad_sig 1 360 1000\nbad_sig.dat\n")
    (tmp_path / "bad_sig.dat").write_bytes(b"\x00" * 2000)
    with pytest.raises(RecordError, match="bad_sig.hea: cannot read WFDB record") as err:
        load_record(tmp_path / "bad_sig.hea")
    one_line(err)
    (tmp_path / "few.hea").write_text("few 3 360 1000\nfew.dat 16\nfew.dat 16\n")
    with pytest.raises(RecordError, match="announces 3 signals but describes 2"):
        load_record(tmp_path / "few.hea")
    (tmp_path / "nosig.hea").write_text("nosig 0 360 1000\n")
    with pytest.raises(RecordError, match="describes no signals"):
        load_record(tmp_path / "nosig.hea")
    (tmp_path / "comments.hea").write_text("# only a comment\n")
    with pytest.raises(RecordError, match="no record line"):
        load_record(tmp_path / "comments.hea")


def test_corrupt_annotations_do_not_block_signals(tmp_path: Path) -> None:
    hea = copy_record(tmp_path, "badatr")
    (tmp_path / "badatr.atr").write_bytes(b"\xff\xff\x00")
    rec = load_record(hea)
    assert rec.annotations is None
    assert any("badatr.atr unreadable" in c for c in rec.notes)


# --------------------------------------------------------------------------- NaN / inf


@pytest.mark.parametrize("fmt", ["16", "212"])
def test_nan_samples_become_zero_and_masked(tmp_path: Path, fmt: str) -> None:
    p = reference()[:3600].astype(np.float64)
    p[100:110, 0] = np.nan  # stored as WFDB's invalid-sample code
    rec = load_record(write_signal(tmp_path, "withnan", p, fmt=fmt))
    assert rec.invalid_mask is not None and rec.invalid_mask.shape == rec.signals.shape
    assert rec.invalid_mask[100:110, 0].all() and int(rec.invalid_mask.sum()) == 10
    assert np.all(rec.signals[100:110, 0] == 0) and np.all(np.isfinite(rec.signals))
    assert any("NaN/inf" in c for c in rec.notes)


def test_nan_and_inf_in_csv(tmp_path: Path) -> None:
    rows = [f"{np.sin(i / 9):.4f},{np.cos(i / 9):.4f}" for i in range(1000)]
    rows[5], rows[6] = "nan,0.1", "inf,-inf"
    (tmp_path / "nonfinite.csv").write_text("II,V1\n" + "\n".join(rows) + "\n")
    rec = load_record(tmp_path / "nonfinite.csv", fs=250)
    assert rec.invalid_mask is not None
    assert sorted(map(tuple, np.argwhere(rec.invalid_mask))) == [(5, 0), (6, 0), (6, 1)]
    assert np.all(np.isfinite(rec.signals))


def test_all_nan_lead_loads_when_another_lead_is_valid(tmp_path: Path) -> None:
    p = reference()[:3600].astype(np.float64)
    p[:, 1] = np.nan
    rec = load_record(write_signal(tmp_path, "deadlead", p))
    assert rec.invalid_mask is not None and rec.invalid_mask[:, 1].all()
    assert any("V5" in c and "no valid samples" in c for c in rec.notes)


def test_all_leads_nan_is_an_error(tmp_path: Path) -> None:
    p = np.full((3600, 2), np.nan)
    with pytest.raises(RecordError, match="no valid samples"):
        load_record(write_signal(tmp_path, "allnan", p))
    (tmp_path / "allnan.csv").write_text("II\n" + "nan\n" * 1000)
    with pytest.raises(RecordError, match="allnan.csv: no valid samples"):
        load_record(tmp_path / "allnan.csv", fs=250)


# --------------------------------------------------------------------------- flat / short


def test_flat_and_all_zero_signals_load(tmp_path: Path) -> None:
    zero = load_record(write_signal(tmp_path, "zero", np.zeros((3600, 2))))
    assert zero.n_samples == 3600 and not zero.signals.any() and zero.invalid_mask is None
    flat = load_record(write_signal(tmp_path, "flat", np.full((3600, 1), 0.5)))
    assert np.all(flat.signals == 0.5)
    (tmp_path / "zero.csv").write_text("II\n" + "0\n" * 1000)
    assert not load_record(tmp_path / "zero.csv", fs=250).signals.any()


def test_one_second_record_loads(tmp_path: Path) -> None:
    rec = load_record(write_signal(tmp_path, "onesec", reference()[:360].astype(np.float64)))
    assert rec.n_samples == 360 and rec.duration_s == 1.0
    np.testing.assert_allclose(rec.signals, reference()[:360], atol=1e-6)


# --------------------------------------------------------------------------- sampling rate


@pytest.mark.parametrize(
    ("fs_text", "message"),
    [("0", "sampling rate 0 Hz (header) is not valid"),
     ("-360", "sampling rate -360 Hz (header) is not valid"),
     ("5", "sampling rate 5 Hz (header) is outside the supported 50-10000 Hz"),
     ("360000", "sampling rate 360000 Hz (header) is outside the supported 50-10000 Hz"),
     ("abc", "sampling rate 'abc' in the header is not a number")],
)
def test_bad_sampling_rate_in_header(tmp_path: Path, fs_text: str, message: str) -> None:
    hea = copy_record(tmp_path, "badfs")
    edit_header(hea, f"badfs 2 360 {N}", f"badfs 2 {fs_text} {N}")
    with pytest.raises(RecordError, match=re.escape(message)) as err:
        load_record(hea)
    assert one_line(err).startswith(str(hea))


def test_sampling_rate_missing_from_header(tmp_path: Path) -> None:
    hea = copy_record(tmp_path, "nofs")
    edit_header(hea, f"nofs 2 360 {N}", "nofs 2")
    rec = load_record(hea)  # the WFDB standard's default, said out loud
    assert rec.fs == 250.0 and any("250 Hz assumed" in c for c in rec.notes)
    assert load_record(hea, fs=360).fs == 360.0


def test_sampling_rate_missing_csv_and_mat(tmp_path: Path) -> None:
    (tmp_path / "nofs.csv").write_text("II\n" + "0.1\n" * 1000)
    with pytest.raises(RecordError, match="nofs.csv: sampling rate unknown.*pass --fs"):
        load_record(tmp_path / "nofs.csv")
    scipy.io.savemat(str(tmp_path / "nofs.mat"), {"val": np.zeros((1, 3000), np.int16)})
    with pytest.raises(RecordError, match="nofs.mat: .*sampling rate unknown: pass --fs"):
        load_record(tmp_path / "nofs.mat")


@pytest.mark.parametrize("fs", [0, -250, 1e6, float("nan"), 10])
def test_bad_sampling_rate_from_caller(tmp_path: Path, fs: float) -> None:
    (tmp_path / "sig.csv").write_text("II\n" + "0.1\n" * 1000)
    with pytest.raises(RecordError, match=r"sig.csv: sampling rate .* \(--fs\)"):
        load_record(tmp_path / "sig.csv", fs=fs)


def test_absurd_rate_from_time_column(tmp_path: Path) -> None:
    rows = "\n".join(f"{i * 10},{i % 7}" for i in range(1000))  # 0.1 Hz in seconds
    (tmp_path / "slow.csv").write_text("seconds,II\n" + rows + "\n")
    with pytest.raises(RecordError, match=r"0\.1 Hz \(time column\) is outside"):
        load_record(tmp_path / "slow.csv")


# --------------------------------------------------------------------------- not an ECG


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,age,city\nann,34,Oslo\nbob,51,Rome\n", "column 'name' holds non-numeric"),
        ("II,note\n" + "0.1,ok\n" * 1000, "column 'note' holds non-numeric values"),
        ("time\n" + "".join(f"{i / 250}\n" for i in range(1000)), "no signal column"),
        ("II,V1\n" + "0.1,0.2\n" * 100, r"only 100 samples \(0.4 s at 250 Hz\)"),
        ("II,V1\n" + "0.1,0.2\n0.3\n" * 600, "line 3 has 1 fields, expected 2"),
        (",".join(f"c{i}" for i in range(100)) + "\n" + ",".join(["1"] * 100) + "\n" * 600,
         "looks like a table"),
        ("time,II\n" + "".join(f"{t},{t}\n" for t in [0, 1, 1] * 400), "not strictly increasing"),
    ],
)
def test_csv_that_is_not_an_ecg(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "table.csv").write_text(content)
    fs = None if content.startswith("time") else 250
    with pytest.raises(RecordError, match=message) as err:
        load_record(tmp_path / "table.csv", fs=fs)
    assert "table.csv" in one_line(err)


def test_binary_file_named_csv(tmp_path: Path) -> None:
    shutil.copy(DATA / "mitdb_100.dat", tmp_path / "binary.csv")
    with pytest.raises(RecordError, match="not a text file"):
        load_record(tmp_path / "binary.csv", fs=250)


def test_file_named_edf_that_is_not_edf(tmp_path: Path) -> None:
    (tmp_path / "fake.edf").write_text("hello, I am not an EDF file\n")
    with pytest.raises(RecordError, match="fake.edf: not an EDF/BDF file"):
        load_record(tmp_path / "fake.edf")


def test_edf_with_a_broken_header(tmp_path: Path) -> None:
    (tmp_path / "broken.edf").write_bytes(b"0       " + b"garbage" * 20)
    with pytest.raises(RecordError, match="broken.edf: not a readable EDF/BDF file"):
        load_record(tmp_path / "broken.edf")


def test_mat_without_signal_matrix(tmp_path: Path) -> None:
    scipy.io.savemat(str(tmp_path / "other.mat"), {"a": np.zeros((2, 10)), "b": np.ones((3, 3))})
    with pytest.raises(RecordError, match="no 'val' signal matrix"):
        load_record(tmp_path / "other.mat", fs=300)
    (tmp_path / "bogus.mat").write_text("not matlab at all")
    with pytest.raises(RecordError, match="bogus.mat"):
        load_record(tmp_path / "bogus.mat", fs=300)


def test_unknown_binary_format(tmp_path: Path) -> None:
    (tmp_path / "blob.xyz").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(RecordError, match="unrecognised record format"):
        load_record(tmp_path / "blob.xyz")


# --------------------------------------------------------------------------- the boundary


def test_unexpected_reader_failure_becomes_record_error(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Path, fs: float | None) -> None:
        raise ValueError("something\ndeep inside")

    monkeypatch.setattr(formats, "CSV", formats.Reader("CSV file", (".csv",), broken))
    monkeypatch.setattr(formats, "READERS", (formats.CSV,))
    (tmp_path / "x.csv").write_text("II\n1\n")
    with pytest.raises(RecordError) as err:
        load_record(tmp_path / "x.csv", fs=250)
    assert one_line(err) == f"{tmp_path / 'x.csv'}: cannot read CSV file: something deep inside"
    assert isinstance(err.value, BeatScopeError)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
def test_interrupts_and_memory_errors_are_not_swallowed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]) -> None:
    def interrupted(path: Path, fs: float | None) -> None:
        raise exc()

    monkeypatch.setattr(formats, "READERS", (formats.Reader("CSV file", (".csv",), interrupted),))
    (tmp_path / "x.csv").write_text("II\n1\n")
    with pytest.raises(exc):
        load_record(tmp_path / "x.csv", fs=250)
