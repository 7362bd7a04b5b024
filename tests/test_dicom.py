"""DICOM ECG waveforms: a 12-lead file written here with pydicom from MITDB 100 and read
back, discovery by magic, and broken files (no waveform, truncated, absurd rates, no
channels, zero sensitivity), each a one-line RecordError within a second."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import wfdb
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from beatscope.io import find_records, load_record
from beatscope.io.dicom_reader import lead_name
from conftest import TWELVE_LEADS
from conftest import refused_quickly as refused

DATA = Path(__file__).parent / "data"
TWELVE_LEAD_SOP = "1.2.840.10008.5.1.4.1.1.9.1.1"
START = dt.datetime(2024, 3, 5, 14, 7, 9)
SENSITIVITY_UV = 2.5  # one raw unit in microvolts
MEANINGS = ["Lead I", "Lead II", "Lead III", "Lead aVR", "Lead aVL", "Lead aVF",
            "Lead V1", "Lead V2", "Lead V3", "Lead V4", "Lead V5", "Lead V6"]


def twelve_lead_mv() -> np.ndarray:
    """Ten seconds of MITDB 100's two leads mixed into twelve, in mV."""
    rec = wfdb.rdrecord(str(DATA / "mitdb_100"), sampto=3600)
    mix = np.random.default_rng(7).uniform(-1.0, 1.0, size=(2, 12))
    return rec.p_signal @ mix


def _channel(meaning: str, sensitivity: float, baseline: float) -> Dataset:
    source = Dataset()
    source.CodeValue, source.CodingSchemeDesignator = "5.6.3-9-1", "SCPECG"
    source.CodeMeaning = meaning
    unit = Dataset()
    unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "uV", "UCUM", "microvolt"
    channel = Dataset()
    channel.ChannelSourceSequence = Sequence([source])
    channel.ChannelSensitivity = f"{sensitivity:g}"
    channel.ChannelSensitivityUnitsSequence = Sequence([unit])
    channel.ChannelSensitivityCorrectionFactor = "1"
    channel.ChannelBaseline = f"{baseline:g}"
    channel.WaveformBitsStored = 16
    return channel


def multiplex(raw: np.ndarray, fs: float = 360.0, label: str = "RHYTHM",
              meanings: list[str] | None = None, sensitivity: float = SENSITIVITY_UV,
              baseline: float = 0.0) -> Dataset:
    """A multiplex group of int16 samples ``raw`` (samples, channels)."""
    group = Dataset()
    group.MultiplexGroupTimeOffset = "0"
    group.WaveformOriginality = "ORIGINAL"
    group.NumberOfWaveformChannels = raw.shape[1]
    group.NumberOfWaveformSamples = raw.shape[0]
    group.SamplingFrequency = f"{fs:g}"
    group.MultiplexGroupLabel = label
    group.ChannelDefinitionSequence = Sequence(
        [_channel(m, sensitivity, baseline) for m in (meanings or MEANINGS)[: raw.shape[1]]])
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.WaveformData = raw.astype("<i2").tobytes()
    return group


def write_dicom(path: Path, groups: list[Dataset], sop_class: str = TWELVE_LEAD_SOP) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "ECG"
    ds.PatientName = "Lovelace^Ada"
    ds.PatientID = "MRN-0042"
    ds.PatientSex = "F"
    ds.PatientBirthDate = "19701231"
    ds.AcquisitionDateTime = START.strftime("%Y%m%d%H%M%S") + ".000000"
    if groups:
        ds.WaveformSequence = Sequence(groups)
    ds.save_as(str(path), enforce_file_format=True)
    return path


def raw_twelve_lead() -> np.ndarray:
    return np.round(twelve_lead_mv() * 1000.0 / SENSITIVITY_UV).astype(np.int16)


def test_round_trip_twelve_lead(tmp_path: Path) -> None:
    truth = twelve_lead_mv()
    median = multiplex(raw_twelve_lead()[:400], fs=500.0, label="MEDIAN BEAT")
    path = write_dicom(tmp_path / "rest.dcm", [multiplex(raw_twelve_lead()), median])
    rec = load_record(path)
    assert rec.format_name == "DICOM 12-Lead ECG"
    assert rec.fs == 360.0 and rec.n_samples == 3600
    assert rec.lead_names == TWELVE_LEADS
    assert rec.signals.dtype == np.float32
    # rounding to the nearest raw unit: within half a sensitivity step
    assert np.abs(rec.signals - truth).max() <= SENSITIVITY_UV / 1000.0 / 2 + 1e-5
    assert rec.start_datetime == START
    assert rec.patient == {"name": "Ada Lovelace", "id": "MRN-0042", "sex": "female",
                           "birthdate": "1970-12-31", "age": "53"}
    assert rec.notes == ["DICOM: multiplex group(s) not read: MEDIAN BEAT"]


def test_vendor_file_shipped_with_pydicom() -> None:
    """A real cart's 12-lead export (pydicom's own test data): matches pydicom's
    ``waveform_array`` and keeps the median beat out."""
    import pydicom.data

    path = Path(pydicom.data.__file__).parent / "test_files" / "waveform_ecg.dcm"
    if not path.is_file():
        pytest.skip("this pydicom build ships without its test files")
    rec = load_record(path)
    assert rec.fs == 1000.0 and rec.n_samples == 10_000 and rec.lead_names == TWELVE_LEADS
    expected = pydicom.dcmread(path).waveform_array(0) / 1000.0  # uV -> mV
    assert np.abs(rec.signals - expected).max() < 1e-6
    assert rec.notes == ["DICOM: multiplex group(s) not read: MEDIAN BEAT"]
    assert rec.patient["sex"] == "female" and rec.patient["birthdate"] == "1971-01-23"


def test_baseline_correction_and_no_extension(tmp_path: Path) -> None:
    raw = np.arange(-500, 500, dtype=np.int16)[:, None].repeat(2, axis=1)
    group = multiplex(raw, fs=250.0, meanings=["Lead I (Einthoven)",
                                               "Lead aVF, augmented voltage, foot"],
                      sensitivity=10.0, baseline=-100.0)
    for channel in group.ChannelDefinitionSequence:
        channel.ChannelSensitivityCorrectionFactor = "0.5"
    path = write_dicom(tmp_path / "IM000001", [group])
    rec = load_record(path)
    assert rec.lead_names == ["I", "aVF"]
    expected = (raw[:, 0] * 10.0 * 0.5 - 100.0) / 1000.0
    assert np.allclose(rec.signals[:, 0], expected, atol=1e-6)


def test_folder_lists_dicom_by_magic(tmp_path: Path) -> None:
    write_dicom(tmp_path / "IM000001", [multiplex(raw_twelve_lead()[:1000])])
    write_dicom(tmp_path / "rest.dcm", [multiplex(raw_twelve_lead()[:1000])])
    (tmp_path / "README").write_text("not a record")
    (tmp_path / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM")
    assert [p.name for p in find_records([tmp_path])] == ["IM000001", "rest.dcm"]


@pytest.mark.parametrize(("meaning", "name"), [
    ("Lead I", "I"), ("Lead aVR", "aVR"), ("Lead V6", "V6"), ("Lead II", "II"),
    ("Lead aVL, augmented voltage, left", "aVL"), ("Lead III (Einthoven)", "III"),
    ("Respiration", "Respiration"),
])
def test_lead_names(meaning: str, name: str) -> None:
    assert lead_name(meaning, 0) == name


# --------------------------------------------------------------------------- bad input

def test_dataset_without_waveform(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "plain.dcm", [], sop_class="1.2.840.10008.5.1.4.1.1.7")
    refused(path, "holds no waveform")


def test_not_dicom_despite_suffix(tmp_path: Path) -> None:
    path = tmp_path / "photo.dcm"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 300)
    refused(path, "not a DICOM file")


@pytest.mark.parametrize(("keep", "match"), [
    (0.01, "lacks"), (0.1, "but stores"), (0.5, "but stores"), (0.999, "but stores"),
])
def test_truncated(tmp_path: Path, keep: float, match: str) -> None:
    whole = write_dicom(tmp_path / "whole.dcm", [multiplex(raw_twelve_lead())]).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(whole[: max(140, int(len(whole) * keep))])
    refused(path, match)


@pytest.mark.parametrize(("change", "match"), [
    (lambda g: setattr(g, "SamplingFrequency", "1e12"), "outside the supported"),
    (lambda g: setattr(g, "SamplingFrequency", "0"), "sampling frequency 0 Hz"),
    (lambda g: setattr(g, "NumberOfWaveformChannels", 0), "has no channels"),
    (lambda g: setattr(g, "NumberOfWaveformSamples", 10**9), "but stores"),
    (lambda g: setattr(g, "WaveformSampleInterpretation", "XX"), "unsupported sample"),
    (lambda g: setattr(g.ChannelDefinitionSequence[3], "ChannelSensitivity", "0"),
     "not a usable scale"),
])
def test_broken_groups(tmp_path: Path, change, match: str) -> None:
    group = multiplex(raw_twelve_lead()[:2000])
    change(group)
    refused(write_dicom(tmp_path / "broken.dcm", [group]), match)


def test_channels_not_in_volts_are_left_out(tmp_path: Path) -> None:
    group = multiplex(raw_twelve_lead()[:2000])
    units = group.ChannelDefinitionSequence[11].ChannelSensitivityUnitsSequence[0]
    units.CodeValue, units.CodeMeaning = "mm[Hg]", "mmHg"
    rec = load_record(write_dicom(tmp_path / "pressure.dcm", [group]))
    assert rec.lead_names == TWELVE_LEADS[:11]
    assert any("V6 in unit 'mm[Hg]', not a voltage" in n for n in rec.notes)
    for channel in group.ChannelDefinitionSequence:
        channel.ChannelSensitivityUnitsSequence[0].CodeValue = "mm[Hg]"
    refused(write_dicom(tmp_path / "all.dcm", [group]), "no channel .* voltage unit")


def test_zero_channels_and_no_ecg_group(tmp_path: Path) -> None:
    group = multiplex(raw_twelve_lead()[:2000, :1], meanings=["Respiration"])
    refused(write_dicom(tmp_path / "resp.dcm", [group]), "no DICOM multiplex group holds ECG")
    empty = multiplex(raw_twelve_lead()[:2000])
    empty.ChannelDefinitionSequence = Sequence([])
    refused(write_dicom(tmp_path / "empty.dcm", [empty]), "no DICOM multiplex group holds ECG")


def test_other_waveform_sop_class(tmp_path: Path) -> None:
    hemodynamic = "1.2.840.10008.5.1.4.1.1.9.2.1"
    path = write_dicom(tmp_path / "hemo.dcm", [multiplex(raw_twelve_lead()[:2000])],
                       sop_class=hemodynamic)
    refused(path, "is not an ECG")
