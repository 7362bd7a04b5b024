"""Beat classifiers: a 1-D ResNet-34, the SLAP stacked LSTM, their ensemble, and weight I/O.

Inputs are the beat windows of :mod:`beatscope.segment` (``(n, 2, 400)`` float32,
R peak at index 160) and the RR features of
:func:`beatscope.segment.rr_features` (``(n, 8)``); outputs are AAMI EC57 classes
(:data:`beatscope.aami.AAMI_CLASSES`).

* :mod:`~beatscope.models.resnet1d` / :mod:`~beatscope.models.slap`: the two networks,
  both taking the RR features through :mod:`~beatscope.models.rr_branch`.
* :mod:`~beatscope.models.ensemble`: per-member temperatures, weighted mean,
  temperature fitting and weight tuning.
* :mod:`~beatscope.models.weights_io`: hash-verified weight sets (``model_weights/``).
* :mod:`~beatscope.models.inference`: :class:`BeatClassifier`, batched inference.
"""

from beatscope.models.ensemble import Ensemble, fit_temperature, tune_weight
from beatscope.models.inference import BeatClassifier, Classification
from beatscope.models.resnet1d import ResNet1D34
from beatscope.models.rr_branch import RRBranch, RRTransform
from beatscope.models.slap import SLAP
from beatscope.models.weights_io import (
    LoadedWeightSet,
    WeightsError,
    default_weights_dir,
    load_weight_set,
    save_weight_set,
)

__all__ = [
    "SLAP",
    "BeatClassifier",
    "Classification",
    "Ensemble",
    "LoadedWeightSet",
    "RRBranch",
    "RRTransform",
    "ResNet1D34",
    "WeightsError",
    "default_weights_dir",
    "fit_temperature",
    "load_weight_set",
    "save_weight_set",
    "tune_weight",
]
