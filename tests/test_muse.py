"""GE MUSE XML: a resting 12-lead export written here from MITDB 100 (eight stored leads,
four derived), dispatch among the ``.xml`` dialects, and hostile or broken exports, each
a one-line RecordError within a second."""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from pathlib import Path

import numpy as np
import pytest
import wfdb

from beatscope.io import find_records, load_record
from conftest import TWELVE_LEADS
from conftest import refused_quickly as refused

DATA = Path(__file__).parent / "data"
START = dt.datetime(2022, 6, 14, 9, 41, 7)
UV_PER_BIT = 4.88
STORED = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]


def stored_leads_raw() -> dict[str, np.ndarray]:
    """MITDB 100's two leads mixed into the eight leads a cart stores, as int16 counts."""
    rec = wfdb.rdrecord(str(DATA / "mitdb_100"), sampto=3600)
    mix = np.random.default_rng(11).uniform(-1.0, 1.0, size=(2, len(STORED)))
    counts = np.round(rec.p_signal @ mix * 1000.0 / UV_PER_BIT).astype("<i2")
    return {name: counts[:, i] for i, name in enumerate(STORED)}


def lead_data(name: str, raw: np.ndarray, *, count: int | None = None,
              data: str | None = None, units: str = "MICROVOLTS", crc: bool = True) -> str:
    payload = raw.astype("<i2").tobytes()
    encoded = data if data is not None else base64.b64encode(payload).decode()
    # MUSE wraps the base64 text in lines, as here
    wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    crc_line = f"<LeadDataCRC32>{zlib.crc32(payload)}</LeadDataCRC32>" if crc else ""
    return f"""
    <LeadData>
      <LeadByteCountTotal>{len(payload)}</LeadByteCountTotal>
      <LeadTimeOffset>0</LeadTimeOffset>
      <LeadSampleCountTotal>{len(raw) if count is None else count}</LeadSampleCountTotal>
      <LeadAmplitudeUnitsPerBit>{UV_PER_BIT}</LeadAmplitudeUnitsPerBit>
      <LeadAmplitudeUnits>{units}</LeadAmplitudeUnits>
      <LeadHighLimit>32767</LeadHighLimit>
      <LeadLowLimit>-32768</LeadLowLimit>
      <LeadID>{name}</LeadID>
      <LeadOffsetFirstSample>0</LeadOffsetFirstSample>
      <FirstSampleBaseline>0</FirstSampleBaseline>
      <LeadSampleSize>2</LeadSampleSize>
      <LeadOff>FALSE</LeadOff>
      <BaselineSway>FALSE</BaselineSway>
      {crc_line}
      <WaveFormData>{wrapped}</WaveFormData>
    </LeadData>"""


def waveform(kind: str, leads: str, base: str = "360", exponent: str = "0") -> str:
    return f"""
  <Waveform>
    <WaveformType>{kind}</WaveformType>
    <WaveformStartTime>0</WaveformStartTime>
    <NumberofLeads>8</NumberofLeads>
    <SampleType>CONTINUOUS_SAMPLES</SampleType>
    <SampleBase>{base}</SampleBase>
    <SampleExponent>{exponent}</SampleExponent>
    <HighPassFilter>16</HighPassFilter>
    <LowPassFilter>150</LowPassFilter>
    <ACFilter>60</ACFilter>{leads}
  </Waveform>"""


def muse(waveforms: str, prolog: str = '<!DOCTYPE RestingECG SYSTEM "restecg.dtd">') -> str:
    return f"""<?xml version="1.0" encoding="ISO-8859-1"?>
{prolog}
<RestingECG>
  <MuseInfo><MuseVersion>9.0.9.18167</MuseVersion></MuseInfo>
  <PatientDemographics>
    <PatientID>0012345</PatientID>
    <PatientAge>61</PatientAge>
    <AgeUnits>YEARS</AgeUnits>
    <DateofBirth>03-02-1961</DateofBirth>
    <Gender>MALE</Gender>
    <PatientLastName>TURING</PatientLastName>
    <PatientFirstName>ALAN</PatientFirstName>
  </PatientDemographics>
  <TestDemographics>
    <DataType>RESTING</DataType>
    <AcquisitionDevice>MAC55</AcquisitionDevice>
    <AcquisitionTime>{START:%H:%M:%S}</AcquisitionTime>
    <AcquisitionDate>{START:%m-%d-%Y}</AcquisitionDate>
  </TestDemographics>
  <RestingECGMeasurements><VentricularRate>74</VentricularRate></RestingECGMeasurements>
  {waveforms}
</RestingECG>
"""


def eight_leads(raw: dict[str, np.ndarray] | None = None, skip: tuple[str, ...] = ()) -> str:
    raw = raw or stored_leads_raw()
    return "".join(lead_data(name, raw[name]) for name in STORED if name not in skip)


def test_round_trip_with_derived_limb_leads(tmp_path: Path) -> None:
    raw = stored_leads_raw()
    median = waveform("Median", "".join(lead_data(n, raw[n][:600]) for n in STORED), "500")
    path = tmp_path / "muse.xml"
    path.write_text(muse(median + waveform("Rhythm", eight_leads(raw))), encoding="latin-1")
    rec = load_record(path)
    assert rec.format_name == "GE MUSE XML"
    assert rec.fs == 360.0 and rec.n_samples == 3600
    assert rec.lead_names == TWELVE_LEADS
    mv = {name: raw[name] * UV_PER_BIT / 1000.0 for name in STORED}
    for name in STORED:
        assert np.allclose(rec.lead(name), mv[name], atol=1e-5)
    i, ii = mv["I"], mv["II"]
    assert np.allclose(rec.lead("III"), ii - i, atol=1e-5)
    assert np.allclose(rec.lead("aVR"), -(i + ii) / 2, atol=1e-5)
    assert np.allclose(rec.lead("aVL"), i - ii / 2, atol=1e-5)
    assert np.allclose(rec.lead("aVF"), ii - i / 2, atol=1e-5)
    assert rec.start_datetime == START
    assert rec.patient == {"name": "ALAN TURING", "id": "0012345", "sex": "male",
                           "birthdate": "1961-03-02", "age": "61"}
    assert rec.notes == ["MUSE: waveform(s) not read: Median"]


def test_twelve_stored_leads_are_not_rederived(tmp_path: Path) -> None:
    raw = stored_leads_raw()
    odd = np.full(3600, 100, dtype=np.int16)  # deliberately not II - I
    extra = "".join(lead_data(n, odd) for n in ("III", "aVR", "aVL", "aVF"))
    path = tmp_path / "twelve.xml"
    path.write_text(muse(waveform("Rhythm", eight_leads(raw) + extra, "5", "2"),
                         prolog=""))
    rec = load_record(path)
    assert rec.fs == 500.0
    assert rec.lead_names == TWELVE_LEADS
    assert np.allclose(rec.lead("aVR"), 100 * UV_PER_BIT / 1000.0)


def test_missing_chest_lead_and_crc_are_noted(tmp_path: Path) -> None:
    raw = stored_leads_raw()
    leads = eight_leads(raw, skip=("V4",)).replace(
        f"<LeadDataCRC32>{zlib.crc32(raw['V6'].tobytes())}<",
        f"<LeadDataCRC32>{zlib.crc32(raw['V6'].tobytes()) ^ 1}<")
    path = tmp_path / "partial.xml"
    path.write_text(muse(waveform("Rhythm", leads)))
    rec = load_record(path)
    assert "V4" not in rec.lead_names and rec.n_leads == 11
    assert any("V4 not in the file" in n for n in rec.notes)
    assert any("V6: CRC-32 does not match" in n for n in rec.notes)


def test_folder_lists_muse_and_aecg_but_not_other_xml(tmp_path: Path) -> None:
    (tmp_path / "a_muse.xml").write_text(muse(waveform("Rhythm", eight_leads())))
    (tmp_path / "b_cart.xml").write_text(
        '<?xml version="1.0"?><!-- cart --><AnnotatedECG xmlns="urn:hl7-org:v3"/>')
    (tmp_path / "c_settings.xml").write_text("<settings><RestingECG/></settings>")
    assert [p.name for p in find_records([tmp_path])] == ["a_muse.xml", "b_cart.xml"]


# --------------------------------------------------------------------------- bad input

BOMB = """<!DOCTYPE RestingECG [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>"""


def test_entity_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(muse(waveform("Rhythm", eight_leads()), prolog=BOMB)
                    .replace("<DataType>RESTING", "<DataType>&f;"))
    refused(path, "declares entities")


def test_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    path = tmp_path / "xxe.xml"
    text = muse(waveform("Rhythm", eight_leads()),
                prolog=f'<!DOCTYPE RestingECG [<!ENTITY x SYSTEM "file://{secret}">]>')
    path.write_text(text.replace("<PatientID>0012345", "<PatientID>&x;"))
    assert "TOP SECRET" not in refused(path, "declares entities")


def _broken(**kwargs) -> str:
    raw = stored_leads_raw()
    return muse(waveform("Rhythm", lead_data("I", raw["I"], **kwargs)
                         + eight_leads(raw, skip=("I",))))


@pytest.mark.parametrize(("text", "match"), [
    ("<RestingECG><Waveform>", "not well-formed XML"),
    (muse(waveform("Median", eight_leads())), "no Rhythm waveform .found: Median"),
    (muse(""), "no Rhythm waveform .found: none"),
    (muse(waveform("Rhythm", "")), "holds no lead"),
    (muse(waveform("Rhythm", eight_leads(skip=("I",)))), "lacks lead I "),
    (muse(waveform("Rhythm", eight_leads(skip=("I", "II")))), "lacks lead I and II"),
    (_broken(data="@@not*base64@@"), "not valid base64"),
    (_broken(data=""), "holds no WaveFormData"),
    (_broken(data=base64.b64encode(b"\x01\x02\x03").decode()), "not a whole number"),
    (_broken(count=5000), "LeadSampleCountTotal says 5000 samples, WaveFormData holds 3600"),
    (_broken(count=10**12), "LeadSampleCountTotal says"),
    (_broken(units="MMHG"), "not a voltage"),
    (muse(waveform("Rhythm", eight_leads(), base="0")), "sampling rate"),
    (muse(waveform("Rhythm", eight_leads(), base="abc")), "SampleBase 'abc' is not a number"),
    (muse(waveform("Rhythm", eight_leads(), base="5", exponent="9")), "sampling rate"),
    (muse(waveform("Rhythm", eight_leads(), base="1", exponent="-1")), "outside the supported"),
])
def test_broken_exports(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(text)
    refused(path, match)
