"""Which XML ECG dialect a file holds, told by its root element without parsing it all.

HL7 aECG (``AnnotatedECG``), GE MUSE (``RestingECG``) and Philips (``restingecgdata``)
exports all end in ``.xml``. Only the prolog is read: expat stops at the document type
declaration (whose name must be the root's) or at the first start tag, whichever comes
first, so no entity is ever expanded here and a hostile file costs one small read. The
chosen reader then parses the whole file with ``defusedxml``.
"""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

PROLOG_BYTES = 64 * 1024  # comments and processing instructions may precede the root


class _Found(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _stop(name: str, *_args: object) -> None:
    raise _Found(name)


def xml_root_name(path: Path) -> str:
    """The local name of the root element of the XML file ``path`` ("" if not found)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(PROLOG_BYTES)
    except OSError:
        return ""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _stop
    parser.StartElementHandler = _stop
    try:
        parser.Parse(head, False)
    except _Found as found:
        return found.name.rsplit(":", 1)[-1]
    except expat.ExpatError:
        return ""
    return ""
