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

# OpenMP threads that have finished their share of a torch operation spin, waiting for
# the rest, unless told to sleep. On a 2-core workstation that is never idle, a thread
# spinning while its partner is descheduled steals the core the partner needs: the
# classification of 10,000 beats took 3.1x as long beside a one-thread CPU hog, and two
# analyses side by side took 3.1x each. Sleeping instead costs ~10 % alone and brings
# both cases to 1.6-1.8x (bench/contention.py). It must be set before torch starts its
# OpenMP runtime, hence here, first; an explicit OMP_WAIT_POLICY (or
# BEATSCOPE_SPIN_WAIT=1, the benchmark's baseline) is left as it is.
import os as _os

if "OMP_WAIT_POLICY" not in _os.environ and _os.environ.get("BEATSCOPE_SPIN_WAIT") != "1":
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
