"""HL7 aECG XML: round trip through a test-side writer, discovery, and hostile or broken
XML (entity bombs, external entities, wrong documents), each a one-line RecordError
within a second."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import wfdb

from beatscope.io import find_records, load_record
from conftest import refused_quickly as refused

DATA = Path(__file__).parent / "data"
START = dt.datetime(2023, 11, 2, 8, 30, 15)


def _lead(code: str, digits: np.ndarray, scale: str = "5", unit: str = "uV",
          origin: str = "0") -> str:
    return f"""
      <component><sequence>
        <code code="{code}" codeSystem="2.16.840.1.113883.6.24"/>
        <value xsi:type="SLIST_PQ">
          <origin value="{origin}" unit="{unit}"/>
          <scale value="{scale}" unit="{unit}"/>
          <digits>{" ".join(str(int(d)) for d in digits)}</digits>
        </value>
      </sequence></component>"""


def aecg(leads: str, increment: str = "0.002", unit: str = "s", prolog: str = "",
         root: str = "AnnotatedECG", extra_sets: str = "") -> str:
    """An aECG document as the 2005 implementation guide lays it out."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>{prolog}
<{root} xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <id root="2.16.840.1.113883.3.1"/>
  <code code="93000" codeSystem="2.16.840.1.113883.6.12"/>
  <effectiveTime><low value="{START:%Y%m%d%H%M%S}.000+0100"/><high value="20231102083025"/>
  </effectiveTime>
  <componentOf><timepointEvent><componentOf><subjectAssignment><subject><trialSubject>
    <id root="2.16.840.1.113883.3.2" extension="SUBJ-17"/>
    <subjectDemographicPerson>
      <name><given>Grace</given> <family>Hopper</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="19461209"/>
    </subjectDemographicPerson>
  </trialSubject></subject></subjectAssignment></componentOf></timepointEvent></componentOf>
  <component><series>
    <code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>
    <component><sequenceSet>
      <component><sequence>
        <code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>
        <value xsi:type="GLIST_TS"><head value="{START:%Y%m%d%H%M%S}.000"/>
          <increment value="{increment}" unit="{unit}"/></value>
      </sequence></component>{leads}
    </sequenceSet></component>{extra_sets}
    <derivation><derivedSeries><code code="REPRESENTATIVE_BEAT"/></derivedSeries></derivation>
  </series></component>
</{root}>
"""


def mitdb_100() -> tuple[np.ndarray, np.ndarray]:
    rec = wfdb.rdrecord(str(DATA / "mitdb_100"), physical=False, sampto=3600)
    digital = rec.d_signal.astype(np.int64) - np.asarray(rec.baseline)
    return digital, digital / np.asarray(rec.adc_gain)


def test_round_trip_from_mitdb_excerpt(tmp_path: Path) -> None:
    digital, physical = mitdb_100()
    leads = _lead("MDC_ECG_LEAD_II", digital[:, 0]) + _lead("MDC_ECG_LEAD_V5", digital[:, 1])
    path = tmp_path / "cart.xml"
    path.write_text(aecg(leads, increment="0.00277777777777778"))
    rec = load_record(path)
    assert rec.format_name == "HL7 aECG"
    assert rec.fs == 360.0
    assert rec.lead_names == ["II", "V5"]
    assert np.abs(rec.signals - physical).max() < 1e-6
    assert rec.start_datetime == START
    assert rec.patient == {"id": "SUBJ-17", "name": "Grace Hopper", "sex": "female",
                           "birthdate": "1946-12-09", "age": "76"}
    assert rec.notes == []


def test_origin_scale_units_and_lead_codes(tmp_path: Path) -> None:
    x = np.arange(-300, 300)
    leads = (_lead("MDC_ECG_LEAD_AVR", x, scale="0.01", unit="mV", origin="0.5")
             + _lead("MDC_ECG_LEAD_V3R", x, scale="2.5") + _lead("MDC_ECG_LEAD_I", x[:-10]))
    path = tmp_path / "twelve.xml"
    path.write_text(aecg(leads, increment="4", unit="ms",
                         extra_sets="<component><sequenceSet/></component>"))
    rec = load_record(path)
    assert rec.fs == 250.0 and rec.n_samples == 590
    assert rec.lead_names == ["aVR", "V3R", "I"]
    assert np.allclose(rec.signals[:, 0], 0.5 + 0.01 * x[:-10], atol=1e-6)
    assert np.allclose(rec.signals[:, 1], 2.5e-3 * x[:-10], atol=1e-6)
    assert any("different lengths" in n for n in rec.notes)
    assert any("1 further sequence set" in n for n in rec.notes)


def test_folder_lists_aecg_but_not_other_xml(tmp_path: Path) -> None:
    (tmp_path / "cart.xml").write_text(aecg(_lead("MDC_ECG_LEAD_II", np.zeros(1000))))
    (tmp_path / "settings.xml").write_text("<settings><a/></settings>")
    assert [p.name for p in find_records([tmp_path])] == ["cart.xml"]


# --------------------------------------------------------------------------- bad input

BILLION_LAUGHS = """
<!DOCTYPE AnnotatedECG [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""


def test_billion_laughs(tmp_path: Path) -> None:
    leads = _lead("MDC_ECG_LEAD_II", np.zeros(10)).replace("<digits>", "<digits>&lol9;")
    path = tmp_path / "bomb.xml"
    path.write_text(aecg(leads, prolog=BILLION_LAUGHS))
    refused(path, "declares a DTD or entities")


def test_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("1 2 3 4 5")
    leads = _lead("MDC_ECG_LEAD_II", np.zeros(0)).replace("<digits>", "<digits>&ext;")
    path = tmp_path / "xxe.xml"
    path.write_text(aecg(leads, prolog=f'<!DOCTYPE AnnotatedECG [<!ENTITY ext SYSTEM '
                                       f'"file://{secret}">]>'))
    msg = refused(path, "declares a DTD or entities")
    assert "1 2 3" not in msg


@pytest.mark.parametrize(("text", "match"), [
    ("<AnnotatedECG><component>", "not well-formed XML"),
    ("<settings/>", "not an HL7 aECG file"),
    (aecg("").replace("<series>", "<seriesX>").replace("</series>", "</seriesX>"),
     "holds no series"),
    (aecg(""), "holds no lead"),
    (aecg(_lead("MDC_ECG_LEAD_II", np.zeros(500))).replace("TIME_ABSOLUTE", "OTHER"),
     "no time sequence"),
    (aecg(_lead("MDC_ECG_LEAD_II", np.zeros(500)), increment="0"), "time increment"),
    (aecg(_lead("MDC_ECG_LEAD_II", np.zeros(500)), increment="-2"), "time increment"),
    (aecg(_lead("MDC_ECG_LEAD_II", np.zeros(500)), increment="1e-9"), "sampling rate"),
    (aecg(_lead("MDC_ECG_LEAD_II", np.zeros(500)), increment="2", unit="parsec"),
     "time increment"),
    (aecg(_lead("MDC_ECG_LEAD_II", np.zeros(500), unit="kPa")), "not a voltage"),
    (aecg(_lead("MDC_ECG_LEAD_II", np.zeros(500), scale="abc")), "scale of lead II"),
    (aecg(_lead("MDC_ECG_LEAD_II", np.zeros(3)).replace("0 0 0", "1 two 3")),
     "not numbers"),
])
def test_broken_documents(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(text)
    refused(path, match)
