"""ISHNE 1.0 Holter files: round trip through a test-side writer, annotations, discovery,
and bad input (each a one-line RecordError within a second)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import wfdb

from beatscope.io import find_records, load_record
from beatscope.io.ishne_reader import ANN_MAGIC, ISHNE_MAGIC, crc_ccitt
from conftest import refused_quickly as refused

DATA = Path(__file__).parent / "data"
START = dt.datetime(2024, 3, 5, 22, 14, 7)
BORN = dt.date(1951, 8, 30)


def _text(value: str, size: int) -> bytes:
    return value.encode("latin-1")[:size].ljust(size, b"\x00")


def _shorts(*values: int) -> bytes:
    return np.asarray(values, dtype="<i2").tobytes()


def ishne_header(*, n_samples: int, n_leads: int, fs: int, specs: list[int],
                 resolution_nv: list[int], var_block: bytes = b"",
                 magic: bytes = ISHNE_MAGIC, crc: int | None = None,
                 quality: list[int] | None = None) -> bytes:
    """Magic, CRC and header of an ISHNE 1.0 file, laid out as the standard says."""
    room = 12 - min(len(specs), 12)
    fixed = b"".join([
        np.asarray([len(var_block), n_samples, 522, 522 + len(var_block)], "<i4").tobytes(),
        _shorts(1),  # file version
        _text("Ada", 40), _text("Lovelace", 40), _text("P-0042", 20),
        _shorts(2, 1),  # sex female, race
        _shorts(BORN.day, BORN.month, BORN.year),
        _shorts(START.day, START.month, START.year),
        _shorts(6, 12, 2025),  # file date
        _shorts(START.hour, START.minute, START.second),
        _shorts(n_leads),
        _shorts(*(specs[:12] + [-9] * room)),
        _shorts(*((quality or [1] * len(specs))[:12] + [-9] * room)),
        _shorts(*(resolution_nv[:12] + [-9] * room)),
        _shorts(-9),  # pacemaker
        _text("digital", 40),
        _shorts(fs),
        _text("", 80), _text("", 80), _text("", 88),
    ])
    assert len(fixed) == 512
    body = fixed + var_block
    checksum = crc_ccitt(body) if crc is None else crc
    return magic + np.asarray([checksum], "<u2").tobytes() + body


def write_ishne(path: Path, samples: np.ndarray, *, fs: int = 360,
                specs: list[int] | None = None, resolution_nv: list[int] | None = None,
                **header) -> Path:
    """An ISHNE file holding int16 ``samples`` (n, leads) at ``resolution_nv``."""
    n, leads = samples.shape
    head = ishne_header(n_samples=header.pop("n_samples", n),
                        n_leads=header.pop("n_leads", leads), fs=fs,
                        specs=specs if specs is not None else [6, 15][:leads],
                        resolution_nv=resolution_nv or [5000] * leads, **header)
    path.write_bytes(head + np.ascontiguousarray(samples, dtype="<i2").tobytes())
    return path


def mitdb_100() -> tuple[np.ndarray, np.ndarray]:
    """The excerpt's stored integers (less the baseline) and its physical values in mV."""
    rec = wfdb.rdrecord(str(DATA / "mitdb_100"), physical=False)
    digital = rec.d_signal.astype(np.int32) - np.asarray(rec.baseline)
    return digital.astype(np.int16), digital / np.asarray(rec.adc_gain)


def write_ann(path: Path, first: int, entries: list[tuple[str, int]], fs: int = 360) -> None:
    head = ishne_header(n_samples=0, n_leads=2, fs=fs, specs=[6, 15],
                        resolution_nv=[5000, 5000], magic=ANN_MAGIC)
    body = b"".join(label.encode() + b"\x00" + np.asarray([gap], "<u2").tobytes()
                    for label, gap in entries)
    path.write_bytes(head + np.asarray([first], "<u4").tobytes() + body)


# --------------------------------------------------------------------------- round trip


def test_crc_is_ccitt_false() -> None:
    assert crc_ccitt(b"123456789") == 0x29B1  # the published check value


def test_round_trip_from_mitdb_excerpt(tmp_path: Path) -> None:
    digital, physical = mitdb_100()
    path = write_ishne(tmp_path / "holter.ecg", digital, specs=[6, 15])
    rec = load_record(path)
    assert rec.format_name == "ISHNE 1.0"
    assert rec.fs == 360.0
    assert rec.lead_names == ["II", "V5"]
    assert rec.units == ["mV", "mV"]
    assert rec.signals.dtype == np.float32 and rec.signals.shape == physical.shape
    assert np.abs(rec.signals - physical).max() <= 0.005 / 2  # within the resolution
    assert rec.start_datetime == START
    assert rec.patient == {"name": "Ada Lovelace", "id": "P-0042", "sex": "female",
                           "birthdate": "1951-08-30", "age": "72"}
    assert rec.notes == []
    assert rec.annotations is None


def test_lead_spec_codes_and_resolutions(tmp_path: Path) -> None:
    x = (np.arange(3000, dtype=np.int16).reshape(1000, 3) % 200) - 100
    path = write_ishne(tmp_path / "three.ecg", x, fs=200, specs=[8, 11, 1],
                       resolution_nv=[2500, 10000, 1000], var_block=b"recorder notes\x00")
    rec = load_record(path)
    assert rec.lead_names == ["aVR", "V1", "ECG3"]
    expected = x * np.array([2.5e-3, 1e-2, 1e-3])
    assert np.allclose(rec.signals, expected, atol=1e-6)


def test_total_sample_count_in_header_is_accepted(tmp_path: Path) -> None:
    x = np.ones((500, 2), dtype=np.int16)
    rec = load_record(write_ishne(tmp_path / "total.ecg", x, fs=250, n_samples=1000))
    assert rec.n_samples == 500
    assert any("total sample count" in n for n in rec.notes)


def test_crc_mismatch_is_a_note(tmp_path: Path) -> None:
    digital, physical = mitdb_100()
    path = write_ishne(tmp_path / "badcrc.ecg", digital, crc=0x1234)
    rec = load_record(path)
    assert np.abs(rec.signals - physical).max() <= 0.0025
    assert any("checksum" in n for n in rec.notes)


def test_poor_lead_quality_is_noted(tmp_path: Path) -> None:
    x = np.zeros((1000, 2), dtype=np.int16)
    rec = load_record(write_ishne(tmp_path / "q.ecg", x, fs=250, quality=[1, 5]))
    assert any("V5" in n and "frequent disconnection" in n for n in rec.notes)


def test_annotations_beside_the_recording(tmp_path: Path) -> None:
    digital, _ = mitdb_100()
    path = write_ishne(tmp_path / "h.ecg", digital)
    write_ann(tmp_path / "h.ann", 77, [("N", 300), ("V", 250), ("C", 10), ("!", 5000),
                                       ("S", 200), ("P", 300), ("U", 280)])
    rec = load_record(path)
    assert rec.annotations is not None and rec.annotations.extension == "ann"
    assert rec.annotations.symbol == ("N", "V", "S", "/", "Q")
    assert rec.annotations.sample.tolist() == [377, 627, 5837, 6137, 6417]
    assert any("gaps" in n for n in rec.notes)


def test_broken_annotations_do_not_block_the_signals(tmp_path: Path) -> None:
    x = np.zeros((1000, 2), dtype=np.int16)
    path = write_ishne(tmp_path / "h.ecg", x, fs=250)
    (tmp_path / "h.ann").write_bytes(b"garbage")
    rec = load_record(path)
    assert rec.annotations is None
    assert any("h.ann" in n and "unreadable" in n for n in rec.notes)


def test_folders_and_wfdb_ecg_annotator_files(tmp_path: Path) -> None:
    x = np.zeros((1000, 2), dtype=np.int16)
    write_ishne(tmp_path / "holter.ecg", x, fs=250)
    for ext in ("hea", "dat"):
        (tmp_path / f"mitdb_100.{ext}").write_bytes((DATA / f"mitdb_100.{ext}").read_bytes())
    (tmp_path / "mitdb_100.ecg").write_bytes(b"\x00\x01 a WFDB annotator file")
    found = find_records([tmp_path])
    assert [p.name for p in found] == ["holter.ecg", "mitdb_100.hea"]
    assert find_records([tmp_path / "holter.ecg"]) == [tmp_path / "holter.ecg"]
    assert load_record(tmp_path / "mitdb_100.ecg").format_name.startswith("WFDB")


def test_ishne_next_to_a_wfdb_header_stays_ishne(tmp_path: Path) -> None:
    x = np.zeros((1000, 1), dtype=np.int16)
    write_ishne(tmp_path / "mitdb_100.ecg", x, fs=250, specs=[6])
    (tmp_path / "mitdb_100.hea").write_bytes((DATA / "mitdb_100.hea").read_bytes())
    assert load_record(tmp_path / "mitdb_100.ecg").format_name == "ISHNE 1.0"


# --------------------------------------------------------------------------- bad input


def _good(tmp_path: Path, name: str, **header) -> Path:
    x = np.zeros((2000, 2), dtype=np.int16)
    return write_ishne(tmp_path / name, x, fs=header.pop("fs", 250), **header)


def test_truncated_files(tmp_path: Path) -> None:
    whole = _good(tmp_path, "whole.ecg").read_bytes()
    offset = len(whole) - 2000 * 2 * 2
    for cut, match in ((300, "truncated ISHNE header"), (522, "no samples"),
                       (offset + 249 * 4, "under a second")):  # 249 samples at 250 Hz
        path = tmp_path / f"cut{cut}.ecg"
        path.write_bytes(whole[:cut])
        refused(path, match)


def test_a_file_cut_short_opens_with_what_it_holds_and_says_so(tmp_path: Path) -> None:
    """A recorder that stopped early or a copy cut short (as a truncated WFDB file): the
    hours that are there open, with a note; a half-written last sample is dropped."""
    whole = _good(tmp_path, "whole.ecg").read_bytes()
    offset = len(whole) - 2000 * 2 * 2
    path = tmp_path / "cut.ecg"
    path.write_bytes(whole[:offset + 1500 * 4 + 3])
    rec = load_record(path)
    assert rec.n_samples == 1500
    assert any("truncated" in n and "claims 2000" in n and "holds 1500" in n
               for n in rec.notes), rec.notes


def test_wrong_magic(tmp_path: Path) -> None:
    data = bytearray(_good(tmp_path, "m.ecg").read_bytes())
    data[:8] = b"ISHNE2.0"
    (tmp_path / "m.ecg").write_bytes(bytes(data))
    refused(tmp_path / "m.ecg", "not an ISHNE Holter file")


def test_header_claims_more_samples_than_the_file_holds(tmp_path: Path) -> None:
    rec = load_record(_good(tmp_path, "long.ecg", n_samples=2_000_000_000))
    assert rec.n_samples == 2000
    assert any("claims 2000000000" in n and "holds 2000" in n for n in rec.notes)


@pytest.mark.parametrize("fs", [0, -250, 32767])  # the field is int16: 32767 is its 1e9
def test_absurd_sampling_rates(tmp_path: Path, fs: int) -> None:
    refused(_good(tmp_path, "fs.ecg", fs=fs), "sampling rate")


@pytest.mark.parametrize("n_leads", [0, 1000, -3])
def test_absurd_lead_counts(tmp_path: Path, n_leads: int) -> None:
    refused(_good(tmp_path, "leads.ecg", n_leads=n_leads), f"gives {n_leads} leads")


def test_zero_resolution(tmp_path: Path) -> None:
    refused(_good(tmp_path, "res.ecg", resolution_nv=[5000, 0]), "resolution")


def test_sample_block_outside_the_file(tmp_path: Path) -> None:
    data = bytearray(_good(tmp_path, "off.ecg").read_bytes())
    data[22:26] = np.asarray([10**9], "<i4").tobytes()  # offset of the ECG block
    (tmp_path / "off.ecg").write_bytes(bytes(data))
    refused(tmp_path / "off.ecg", "outside the file")
