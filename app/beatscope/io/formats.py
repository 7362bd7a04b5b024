"""The reader registry: which reader handles a path, judged from its suffix and content.

A WFDB record can be named by its ``.hea``, by any of its sibling files (``.dat``,
``.atr``) or by its record name without extension. EDF/BDF, MATLAB and ISHNE files are
also recognised by their leading bytes, so a mis-named file still reaches the right
reader (and a ``.edf`` that is not one is rejected up front). ``.ecg`` is both an ISHNE
Holter file and a WFDB annotator's suffix: the ISHNE magic decides. ``.xml`` files go
to the reader their root element names (``AnnotatedECG``: HL7 aECG; ``RestingECG``: GE
MUSE; ``restingecgdata``: Philips PageWriter / Sierra ECG); any other XML goes to the
aECG reader, which names the root it found. DICOM waveform files are recognised by the
"DICM" magic at offset 128, whatever their name (``.dcm`` or, as PACS exports often
are, no extension at all).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from beatscope.errors import RecordError
from beatscope.io.aecg_reader import read_aecg
from beatscope.io.csv_reader import read_csv
from beatscope.io.dicom_reader import is_dicom_file, read_dicom
from beatscope.io.edf_reader import read_edf
from beatscope.io.ishne_reader import ISHNE_MAGIC, read_ishne
from beatscope.io.mat_reader import read_mat
from beatscope.io.muse_reader import read_muse
from beatscope.io.philips_reader import read_philips
from beatscope.io.record import Record
from beatscope.io.wfdb_reader import read_wfdb
from beatscope.io.xml_root import xml_root_name

EDF_MAGIC = b"0       "
BDF_MAGIC = b"\xffBIOSEMI"
MAT5_MAGIC = b"MATLAB 5.0 MAT-file"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

ReadFunction = Callable[[Path, "float | None"], Record]


@dataclass(frozen=True)
class Reader:
    """One record format: its name (used in messages), suffixes and read function."""

    name: str
    suffixes: tuple[str, ...]
    read: ReadFunction


WFDB = Reader("WFDB record", (".hea",), read_wfdb)
MAT = Reader("MATLAB .mat record", (".mat",), read_mat)
EDF = Reader("EDF/BDF file", (".edf", ".bdf", ".rec"), read_edf)
CSV = Reader("CSV file", (".csv", ".tsv", ".txt"), read_csv)
ISHNE = Reader("ISHNE Holter file", (".ecg",), read_ishne)
AECG = Reader("HL7 aECG file", (".xml",), read_aecg)
MUSE = Reader("GE MUSE XML file", (".xml",), read_muse)
PHILIPS = Reader("Philips ECG XML file", (".xml",), read_philips)
DICOM = Reader("DICOM waveform file", (".dcm",), read_dicom)

READERS: tuple[Reader, ...] = (WFDB, MAT, EDF, ISHNE, AECG, MUSE, PHILIPS, DICOM, CSV)
# The ``.xml`` readers, by the root element's local name.
XML_READERS: dict[str, Reader] = {"AnnotatedECG": AECG, "RestingECG": MUSE,
                                  "restingecgdata": PHILIPS}

# Files that belong to a WFDB record and stand for it when its header is next to them.
WFDB_SIDE_SUFFIXES = frozenset({".dat", ".atr", ".qrs", ".ecg", ".ari"})
# Suffixes a directory listing picks up as records (WFDB via .hea only; .ecg only when
# it holds the ISHNE magic, .xml only when its root is in XML_READERS, .dcm and files without
# a suffix only when they hold the DICOM magic: see is_listed_record).
RECORD_SUFFIXES = frozenset({".hea", ".mat", ".edf", ".bdf", ".csv", ".ecg", ".xml", ".dcm",
                             ""})


def _magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(32)
    except OSError:
        return b""


def wfdb_header_for(path: Path) -> Path | None:
    """The ``.hea`` that ``path`` stands for, if ``path`` names a WFDB record."""
    if path.suffix.lower() == ".hea":
        return path
    with_hea = path.with_name(path.name + ".hea")
    if with_hea.is_file() and not path.is_file():
        return with_hea  # a record name without extension ("mitdb/100")
    if path.suffix.lower() in WFDB_SIDE_SUFFIXES:
        sibling = path.with_suffix(".hea")
        if sibling.is_file():
            return sibling
    return None


def is_ishne_file(path: Path) -> bool:
    """True when ``path`` is a file that starts like an ISHNE 1.0 Holter recording."""
    return path.is_file() and _magic(path).startswith(ISHNE_MAGIC)


def is_listed_record(path: Path) -> bool:
    """Whether a file with a ``RECORD_SUFFIXES`` suffix is a record by its content too:
    a ``.ecg`` without the ISHNE magic is a WFDB annotator's file, an ``.xml`` whose
    root is not an ECG dialect's is some other document, and a ``.dcm`` or suffix-less file counts
    only with the DICOM magic (a DICOMDIR index has it too, but holds no waveform)."""
    suffix = path.suffix.lower()
    if suffix in ("", ".dcm"):
        return path.name.upper() != "DICOMDIR" and is_dicom_file(path)
    if suffix == ".ecg":
        return is_ishne_file(path)
    if suffix == ".xml":
        return xml_root_name(path) in XML_READERS
    return suffix in RECORD_SUFFIXES


def resolve(path: Path) -> tuple[Reader, Path]:
    """The reader for ``path`` and the file it should open; RecordError if none fits."""
    if is_ishne_file(path):
        return ISHNE, path
    if path.is_file() and is_dicom_file(path):
        return DICOM, path
    hea = wfdb_header_for(path)
    if hea is not None:
        return WFDB, hea
    if path.is_dir():
        raise RecordError(f"{path}: is a directory, not a record")
    if not path.exists():
        raise RecordError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".dat":
        raise RecordError(f"{path}: WFDB signal file without its header "
                          f"{path.with_suffix('.hea').name}")
    magic = _magic(path)
    if magic.startswith(EDF_MAGIC) or magic.startswith(BDF_MAGIC):
        return EDF, path
    if magic.startswith(MAT5_MAGIC) or (suffix == ".mat" and magic.startswith(HDF5_MAGIC)):
        return MAT, path
    if suffix == ".xml":
        return XML_READERS.get(xml_root_name(path), AECG), path
    for reader in READERS:
        if suffix in reader.suffixes:
            if reader is EDF and magic:
                raise RecordError(f"{path}: not an EDF/BDF file (its header does not start "
                                  "like one)")
            if reader is ISHNE and magic:
                raise RecordError(f"{path}: not an ISHNE Holter file (it does not start "
                                  "with 'ISHNE1.0')")
            if reader is DICOM and magic:
                raise RecordError(f"{path}: not a DICOM file (no 'DICM' marker at byte 128)")
            return reader, path
    if magic and b"\x00" not in magic:
        return CSV, path  # unknown suffix but text: try it as delimited values
    raise RecordError(f"{path}: unrecognised record format (expected WFDB .hea/.dat, "
                      ".mat, .edf/.bdf, ISHNE .ecg, aECG/MUSE/Philips .xml, DICOM .dcm or .csv)")
