"""Philips PageWriter / Sierra ECG XML: XLI-compressed and plain exports written here from
MITDB 100 (with a test-side XLI encoder, the inverse of the reader's decoder) and read
back, and damaged or hostile files, each a one-line RecordError within a second."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import wfdb

from beatscope.io import find_records, load_record
from beatscope.io.xli import MAX_CODE, lzw_decompress, xli_decode
from conftest import TWELVE_LEADS
from conftest import refused_quickly as refused

DATA = Path(__file__).parent / "data"
START = dt.datetime(2019, 4, 23, 16, 2, 51)
RESOLUTION_UV = 5.0
FS = 500
DURATION_MS = 10_000
N = FS * DURATION_MS // 1000


# ------------------------------------------------------------------ test-side encoder

def lzw_compress(data: bytes) -> bytes:
    """10-bit LZW as XLI uses it: no clear code, table frozen once it reaches 1022."""
    table = {bytes([i]): i for i in range(256)}
    next_code, codes, word = 256, [], b""
    for byte in data:
        longer = word + bytes([byte])
        if longer in table:
            word = longer
            continue
        codes.append(table[word])
        if next_code <= MAX_CODE:
            table[longer] = next_code
            next_code += 1
        word = bytes([byte])
    if word:
        codes.append(table[word])
    bits = "".join(format(code, "010b") for code in codes)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def xli_chunk(x: np.ndarray) -> bytes:
    """One lead as an XLI chunk: second-order delta codes, high bytes then low bytes."""
    x = np.asarray(x, dtype=np.int64)
    deltas = np.zeros(len(x), dtype=np.int64)
    deltas[:2] = x[:2]
    deltas[2:-1] = 2 * x[2:-1] - x[1:-2] - x[3:] + 64
    first = int(2 * x[1] - x[0] - x[2])
    words = deltas.astype(np.int16).view(np.uint16)
    packed = (words >> 8).astype(np.uint8).tobytes() + (words & 0xFF).astype(np.uint8).tobytes()
    chunk = lzw_compress(packed)
    return (len(chunk).to_bytes(4, "little") + (1).to_bytes(2, "little")
            + first.to_bytes(2, "little", signed=True) + chunk)


def limb_residuals(x: np.ndarray) -> np.ndarray:
    """What a cart stores for III, aVR, aVL, aVF: the inverse of the reader's rebuild."""
    def half(v: np.ndarray) -> np.ndarray:
        return np.trunc(v / 2).astype(np.int64)

    stored = x.copy()
    i, ii, iii = x[:, 0], x[:, 1], x[:, 2]
    stored[:, 2] = ii - i - iii
    stored[:, 3] = -x[:, 3] - half(i + ii)
    stored[:, 4] = half(i - iii) - x[:, 4]
    stored[:, 5] = half(ii + iii) - x[:, 5]
    return stored


def twelve_lead_counts() -> np.ndarray:
    """Ten seconds of MITDB 100 at 500 Hz mixed into twelve leads, in 5-uV counts."""
    from scipy import signal

    rec = wfdb.rdrecord(str(DATA / "mitdb_100"), sampto=3600)
    x = signal.resample_poly(rec.p_signal, 25, 18, axis=0)[:N]
    mix = np.random.default_rng(5).uniform(-1.0, 1.0, size=(2, 12))
    return np.round(x @ mix * 1000.0 / RESOLUTION_UV).astype(np.int64)


def wrapped_base64(payload: bytes) -> str:
    text = base64.b64encode(payload).decode()
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76))


def philips(payload: str, *, version: str = "1.04.02", waves_attrs: str | None = None,
            xmlns: str = ' xmlns="http://www3.medical.philips.com"', prolog: str = "",
            patient: str = "<age><years>47</years></age>") -> str:
    if waves_attrs is None:
        waves_attrs = (f'dataencoding="Base64" compressflag="True" compressmethod="XLI" '
                       f'durationperchannel="{DURATION_MS}" samplespersecond="{FS}" '
                       f'resolution="{RESOLUTION_UV:g}" numberofleads="12" '
                       f'leadlabels="{" ".join(TWELVE_LEADS)}"')
    return f"""<?xml version="1.0" encoding="UTF-8"?>{prolog}
<restingecgdata{xmlns} status="Not yet determined" lang="en">
  <documentinfo>
    <documenttype>PhilipsECG</documenttype>
    <documentversion>{version}</documentversion>
  </documentinfo>
  <dataacquisition date="{START:%Y-%m-%d}" time="{START:%H:%M:%S}">
    <machine machineid="0042">PageWriter TC70</machine>
    <signalcharacteristics>
      <samplingrate>{FS}</samplingrate>
      <signalresolution>{RESOLUTION_UV:g}</signalresolution>
      <acquisitiontype>STD-12</acquisitiontype>
      <numberchannelsallocated>12</numberchannelsallocated>
      <numberchannelsvalid>12</numberchannelsvalid>
    </signalcharacteristics>
  </dataacquisition>
  <patient>
    <generalpatientdata>
      <patientid>PX-3141</patientid>
      <name><lastname>NOETHER</lastname><firstname>EMMY</firstname></name>
      {patient}
      <sex>Female</sex>
    </generalpatientdata>
  </patient>
  <waveforms>
    <parsedwaveforms {waves_attrs}>{payload}</parsedwaveforms>
  </waveforms>
</restingecgdata>
"""


def xli_payload(counts: np.ndarray, extra_chunks: int = 0) -> bytes:
    stored = limb_residuals(counts)
    blob = b"".join(xli_chunk(stored[:, k]) for k in range(stored.shape[1]))
    return blob + b"".join(xli_chunk(np.zeros(N, dtype=np.int64)) for _ in range(extra_chunks))


# --------------------------------------------------------------------------- round trip

def test_xli_round_trip_rebuilds_limb_leads(tmp_path: Path) -> None:
    counts = twelve_lead_counts()
    path = tmp_path / "pagewriter.xml"
    path.write_text(philips(wrapped_base64(xli_payload(counts, extra_chunks=4))))
    rec = load_record(path)
    assert rec.format_name == "Philips ECG XML"
    assert rec.fs == FS and rec.n_samples == N
    assert rec.lead_names == TWELVE_LEADS
    assert np.allclose(rec.signals, counts * RESOLUTION_UV / 1000.0, atol=1e-5)
    assert rec.start_datetime == START
    assert rec.patient == {"name": "EMMY NOETHER", "id": "PX-3141", "sex": "female",
                           "age": "47"}
    assert rec.notes == []


def test_utf16_sierra_103_without_namespace(tmp_path: Path) -> None:
    """1.03 files name no leads (STD-12 order) and state rate and resolution only in
    signalcharacteristics; PageWriter exports are often UTF-16."""
    counts = twelve_lead_counts()
    attrs = f'dataencoding="Base64" compressflag="True" durationperchannel="{DURATION_MS}"'
    text = philips(wrapped_base64(xli_payload(counts)), version="1.03", waves_attrs=attrs,
                   xmlns="", patient="<age><dateofbirth>1982-03-23</dateofbirth></age>")
    path = tmp_path / "sierra.xml"
    path.write_bytes(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    rec = load_record(path)
    assert rec.lead_names == TWELVE_LEADS
    assert np.allclose(rec.signals, counts * RESOLUTION_UV / 1000.0, atol=1e-5)
    assert rec.patient["birthdate"] == "1982-03-23" and rec.patient["age"] == "37"


def test_uncompressed_leads_are_not_rebuilt(tmp_path: Path) -> None:
    counts = twelve_lead_counts()
    payload = counts.T.astype("<i2").tobytes()
    attrs = (f'dataencoding="Base64" compressflag="False" durationperchannel="{DURATION_MS}" '
             f'numberofleads="12"')
    path = tmp_path / "plain.xml"
    path.write_text(philips(wrapped_base64(payload), waves_attrs=attrs, version="1.05"))
    rec = load_record(path)
    assert np.allclose(rec.signals, counts * RESOLUTION_UV / 1000.0, atol=1e-5)
    assert any("version 1.05" in n for n in rec.notes)


def test_xli_decoder_matches_encoder_past_a_full_table() -> None:
    data = np.random.default_rng(2).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    assert lzw_decompress(lzw_compress(data), max_bytes=len(data)) == data
    x = np.cumsum(np.random.default_rng(4).integers(-40, 40, 3000))
    (decoded,) = xli_decode(xli_chunk(x), 1, max_samples=3000)
    assert np.array_equal(decoded, x)


def test_folder_lists_philips(tmp_path: Path) -> None:
    (tmp_path / "ecg.xml").write_text(philips(wrapped_base64(xli_payload(twelve_lead_counts()))))
    (tmp_path / "other.xml").write_text("<restingecg/>")
    assert [p.name for p in find_records([tmp_path])] == ["ecg.xml"]


# --------------------------------------------------------------------------- bad input

def _with(payload: bytes | str, **kwargs) -> str:
    text = payload if isinstance(payload, str) else wrapped_base64(payload)
    return philips(text, **kwargs)


def _attrs(**changes: str) -> str:
    attrs = {"dataencoding": "Base64", "compressflag": "True", "compressmethod": "XLI",
             "durationperchannel": str(DURATION_MS), "samplespersecond": str(FS),
             "resolution": "5", "numberofleads": "12"}
    attrs.update(changes)
    return " ".join(f'{k}="{v}"' for k, v in attrs.items() if v != "-")


@pytest.fixture(scope="module")
def good_xli() -> bytes:
    return xli_payload(twelve_lead_counts())


def test_entity_bomb(tmp_path: Path) -> None:
    bomb = ('<!DOCTYPE restingecgdata [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    path = tmp_path / "bomb.xml"
    path.write_text(_with("&c;", prolog=bomb))
    refused(path, "declares a DTD or entities")


def test_lzw_expansion_bomb(tmp_path: Path) -> None:
    """A chunk of runs that each code doubles: expands far past the declared duration."""
    huge = lzw_compress(bytes(200_000))
    chunk = len(huge).to_bytes(4, "little") + b"\x01\x00\x00\x00" + huge
    path = tmp_path / "lzwbomb.xml"
    path.write_text(_with(chunk * 12))
    refused(path, "expands beyond")


@pytest.mark.parametrize(("build", "match"), [
    (lambda g: _with(g[: len(g) // 2]), "declared|truncated"),
    (lambda g: _with(g[:5]), "holds 0 lead"),
    (lambda g: _with(b"\xff\xff\xff\x7f" + g[4:]), "truncated"),
    (lambda g: _with((len(g) - 8).to_bytes(4, "little") + g[4:]), "more than 10000 samples"),
    (lambda g: _with(g[:8] + bytes([0xFF, 0xC0]) + g[10:]), "XLI|samples"),
    (lambda g: _with("@@@ not base64 @@@"), "not valid base64"),
    (lambda g: _with(g, waves_attrs=_attrs(compressmethod="ZIP")), "'ZIP' is not supported"),
    (lambda g: _with(g, waves_attrs=_attrs(dataencoding="Hex")), "'Hex' is not supported"),
    (lambda g: _with(g, waves_attrs=_attrs(durationperchannel="86400000")), "not a resting"),
    (lambda g: _with(g, waves_attrs=_attrs(durationperchannel="-")), "does not state its dur"),
    (lambda g: _with(g, waves_attrs=_attrs(samplespersecond="0")), "sampling rate 0 is not"),
    (lambda g: _with(g, waves_attrs=_attrs(samplespersecond="1e9")), "outside the supported"),
    (lambda g: _with(g, waves_attrs=_attrs(samplespersecond="fast")), "'fast' is not a num"),
    (lambda g: _with(g, waves_attrs=_attrs(numberofleads="400")), "declares 400 leads"),
    (lambda g: _with(g, waves_attrs=_attrs(resolution="0")), "resolution 0 is not valid"),
    (lambda g: _with(bytes(1000), waves_attrs=_attrs(compressflag="False")),
     "holds 500 samples, 12 leads x 5000"),
    (lambda g: _with(g).replace("parsedwaveforms", "otherwaveforms"), "no parsedwaveforms"),
    (lambda g: "<restingecgdata><waveforms>", "not well-formed XML"),
])
def test_broken_files(tmp_path: Path, good_xli: bytes, build, match: str) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(build(good_xli))
    refused(path, match)
