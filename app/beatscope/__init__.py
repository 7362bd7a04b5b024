"""BeatScope: an ECG review workstation.

The package is split along the analysis pipeline. Everything except ``ui`` is
Qt-free and usable headless:

``io`` -> ``dsp`` -> ``detect`` -> ``segment`` -> ``analysis`` -> ``cli``
with ``evaluate`` scoring results against reference annotations.
"""

__version__ = "0.1.0"
