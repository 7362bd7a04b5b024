"""BeatScope: an ECG review workstation.

The package is split along the analysis pipeline. Everything except ``ui`` is
Qt-free and usable headless:

``io`` -> ``dsp`` -> ``detect`` -> ``segment`` -> ``analysis`` -> ``cli``
with ``evaluate`` scoring results against reference annotations.
"""

from importlib import metadata as _metadata

try:  # the one source of the version: the installed package's metadata (pyproject.toml)
    __version__ = _metadata.version("beatscope")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
