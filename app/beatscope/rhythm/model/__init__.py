"""The learned rhythm model (CNN + one BiLSTM layer, sigmoid multi-label outputs)."""

from .inference import (
    LABELS,
    RHYTHM_WEIGHTS_ENV,
    RhythmModel,
    default_rhythm_weights_dir,
    load_default_rhythm_model,
)
from .network import MODEL_FS, WINDOW_S, WINDOW_SAMPLES, RhythmCnnBiLstm
from .signal import cut_windows, to_model_rate, window_starts, zscore

__all__ = ["LABELS", "MODEL_FS", "RHYTHM_WEIGHTS_ENV", "WINDOW_S", "WINDOW_SAMPLES",
           "RhythmCnnBiLstm", "RhythmModel", "cut_windows", "default_rhythm_weights_dir",
           "load_default_rhythm_model", "to_model_rate", "window_starts", "zscore"]
