"""Record input: every supported file format becomes a ``Record`` with signals in mV.

Supported: WFDB (single- and multi-segment, ``.hea``/``.dat``/``.atr``), PhysioNet
challenge ``.mat`` (with or without ``.hea``), EDF/EDF+/BDF, ISHNE 1.0 Holter ``.ecg``,
DICOM waveform, HL7 aECG, GE MUSE and Philips Sierra ``.xml``, and CSV. ``load_record``
picks the reader from the path's suffix and content, and turns every problem with the
input into a one-line ``RecordError``.
"""

from beatscope.io.discover import find_records
from beatscope.io.leads import select_model_leads
from beatscope.io.load import load_record
from beatscope.io.record import Annotations, Record

__all__ = ["Annotations", "Record", "find_records", "load_record", "select_model_leads"]
