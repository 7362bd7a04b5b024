"""What BeatScope is, in one place: its version, what it runs on, which models it
ships (what each was trained on, how well it did on data it never saw, the sha256 of
its manifest) and the licences of the data behind them. ``beatscope --version`` prints
it in one line; Help ▸ About shows it whole.

Qt-free and cheap: versions come from installed package metadata, never by importing
torch or Qt (seconds, hundreds of MB) just to print them.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from beatscope import __version__
from beatscope.weights_location import beat_weights_dir, rhythm_weights_dir

#: The data the shipped weights derive from, and their licences.
DATASET_LICENCES = (
    "MIT-BIH Arrhythmia Database (PhysioNet): Open Data Commons Attribution License v1.0",
    "PhysioNet/Computing in Cardiology Challenge 2017: Open Data Commons Attribution "
    "License v1.0",
)
#: What the shipped models scored on data they never saw (docs/VALIDATION.md).
VALIDATION = {
    "beats": "inter-patient MIT-BIH DS1 -> DS2: 93.2 % of beats, ventricular F1 80.9, "
             "supraventricular F1 58.3",
    "rhythm": "CinC 2017 record-wise 5-fold cross-validation: AF F1 0.83, mean F1 0.83",
}


@dataclass(frozen=True)
class ModelFacts:
    role: str  # "beats" or "rhythm"
    name: str
    trained_on: str
    manifest_sha256: str  # "" when the weights are not there


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _model(role: str, folder: Path) -> ModelFacts:
    path = folder / "manifest.json"
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw)
    except (OSError, ValueError):
        return ModelFacts(role, "not found", "", "")
    if role == "beats":
        data = manifest.get("data") or {}
        records = (data.get("records") or {}).get("train") or []
        trained = (f"{data.get('database', '?')}, {len(records)} records "
                   f"({manifest.get('protocol')})")
    else:
        trained = str(manifest.get("trained_on") or "?")
    name = str(manifest.get("name") or manifest.get("model_version") or role)
    return ModelFacts(role, name, trained, hashlib.sha256(raw).hexdigest())


def shipped_models() -> list[ModelFacts]:
    return [_model("beats", beat_weights_dir()), _model("rhythm", rhythm_weights_dir())]


def version_line() -> str:
    """One line: ``beatscope --version``."""
    models = "; ".join(f"{m.role} model {m.name} sha256 {m.manifest_sha256[:12] or '-'}"
                       for m in shipped_models())
    return (f"beatscope {__version__} (Python {platform.python_version()}, torch "
            f"{package_version('torch')}, PySide6 {package_version('PySide6-Essentials')}; "
            f"{models})")


def about_text() -> str:
    """The whole of Help ▸ About, as plain text."""
    lines = [f"BeatScope {__version__}", "",
             f"Python {platform.python_version()} · numpy {package_version('numpy')} · torch "
             f"{package_version('torch')} · PySide6 {package_version('PySide6-Essentials')} · "
             f"pyqtgraph {package_version('pyqtgraph')}", ""]
    for m in shipped_models():
        lines += [f"{'Beat classes' if m.role == 'beats' else 'Rhythm'}: {m.name} "
                  f"(manifest sha256 {m.manifest_sha256[:12] or 'missing'})",
                  f"  trained on {m.trained_on}",
                  f"  validation: {VALIDATION[m.role]}"]
    lines += ["", "Data behind the weights:"] + [f"  {d}" for d in DATASET_LICENCES]
    return "\n".join(lines)
