"""Saving and loading weight sets, safely.

A *weight set* is a folder::

    model_weights/
        manifest.json   # architecture, ensemble weights/temperatures, classes, file hashes
        resnet.pt       # state dict of the ResNet, float16 tensors
        slap.pt         # state dict of SLAP, float16 tensors

Safety, in order of the checks :func:`load_weight_set` makes:

1. The manifest must exist and be a JSON object with ``files`` and
   ``architecture``; every file it names must be a plain file name inside the
   folder (no path separators, no ``..``), so a manifest cannot point elsewhere.
2. Every file's size and **sha256 are checked before** ``torch.load`` sees it: a
   truncated download, a disk error or a swapped file is refused with a
   one-line :class:`WeightsError` naming the file, instead of a confusing
   unpickling error or, worse, silently different predictions.
3. ``torch.load(..., weights_only=True)`` only ever unpickles tensors and plain
   containers, never arbitrary objects, so even a file whose hash was forged in
   the manifest cannot execute code.
4. ``load_state_dict(strict=True)``: every parameter the architecture expects must
   be present with the right shape.

Tensors are stored as float16, halving the files (ResNet-34-1D, 7.3 M parameters:
14.5 MB instead of 29 MB; SLAP: 0.44 MB); they are cast back to float32 on load.
``bench/classifier.py`` reports the resulting max |logit| difference. Integer buffers (BatchNorm's
``num_batches_tracked``) are stored unchanged.

Writes are atomic: each file goes to a temporary name in the same folder and is
``os.replace``\\ d into place, the manifest last, so a crash mid-save leaves either
the old set (whose hashes then refuse the new files) or the complete new one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from beatscope.aami import AAMI_CLASSES
from beatscope.errors import BeatScopeError
from beatscope.fileio import atomic_write
from beatscope.models.resnet1d import ResNet1D34
from beatscope.models.slap import SLAP

MANIFEST = "manifest.json"
FORMAT = "beatscope-weights/1"
#: Environment variable overriding :func:`default_weights_dir`.
WEIGHTS_ENV = "BEATSCOPE_WEIGHTS"
#: Architectures by class name; a manifest's ``architecture.<member>.class`` picks
#: one, defaulting to the member's name in :data:`DEFAULT_CLASS_FOR`.
ARCHITECTURES: dict[str, type[nn.Module]] = {"ResNet1D34": ResNet1D34, "SLAP": SLAP}
DEFAULT_CLASS_FOR: dict[str, str] = {"resnet": "ResNet1D34", "slap": "SLAP"}
_CHUNK = 1 << 20


class WeightsError(BeatScopeError):
    """A weight set is missing, incomplete, corrupt or does not fit its architecture."""


@dataclass
class LoadedWeightSet:
    """A verified weight set: rebuilt models (eval mode, float32) and the manifest."""

    folder: Path
    manifest: dict[str, Any]
    models: dict[str, nn.Module]
    device: torch.device
    manifest_sha256: str = ""
    classes: tuple[str, ...] = field(default=AAMI_CLASSES)

    @property
    def ensemble_weights(self) -> dict[str, float]:
        """Member weights from the manifest (equal weights if it has none)."""
        w = self.manifest.get("ensemble", {}).get("weights")
        return {k: float(w[k]) for k in self.models} if w else dict.fromkeys(self.models, 1.0)

    @property
    def temperatures(self) -> dict[str, float]:
        """Per-member temperatures from the manifest (1.0 where absent)."""
        t = self.manifest.get("ensemble", {}).get("temperatures") or {}
        return {k: float(t.get(k, 1.0)) for k in self.models}


def default_weights_dir() -> Path:
    """``$BEATSCOPE_WEIGHTS`` if set, else the shipped ``model_weights/`` folder
    (found by :mod:`beatscope.resources_location`: bundle, checkout or wheel install).
    """
    from beatscope.weights_location import beat_weights_dir

    return beat_weights_dir()


def _display(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else as is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _to_storage(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Plain dict of contiguous CPU tensors, floating ones as float16."""
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        t = v.detach().to("cpu")
        if t.is_floating_point():
            t = t.to(torch.float16)
        out[k] = t.contiguous().clone()
    return out


def save_weight_set(folder: str | os.PathLike[str], models: Mapping[str, nn.Module],
                    manifest: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write ``<name>.pt`` for every model and ``manifest.json``; return the manifest.

    The written manifest is the caller's (``architecture``, ``ensemble``,
    ``model_version``, training notes ...) plus ``format``, ``classes`` (default
    :data:`~beatscope.aami.AAMI_CLASSES`), ``storage_dtype`` and ``files``
    (``{"resnet.pt": {"sha256": ..., "bytes": ...}}``). A model missing from
    ``architecture`` gets its ``config()`` there, with its ``class``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = json.loads(json.dumps(dict(manifest or {})))  # deep copy, JSON-safe
    arch: dict[str, Any] = out.setdefault("architecture", {})
    files: dict[str, Any] = {}
    for name, model in models.items():
        if not name.isidentifier():
            raise ValueError(f"model name must be an identifier, got {name!r}")
        entry = dict(arch.get(name) or {})
        if not entry and hasattr(model, "config"):
            entry = dict(model.config())
        entry.setdefault("class", type(model).__name__)
        arch[name] = entry
        fname = f"{name}.pt"
        state = _to_storage(model.state_dict())
        atomic_write(folder / fname, lambda f, s=state: torch.save(s, f))
        files[fname] = {"sha256": sha256_file(folder / fname),
                        "bytes": (folder / fname).stat().st_size}
    out["format"] = FORMAT
    out.setdefault("classes", list(AAMI_CLASSES))
    out["storage_dtype"] = "float16"
    out["files"] = files
    text = json.dumps(out, indent=2, sort_keys=True) + "\n"
    atomic_write(folder / MANIFEST, lambda f: f.write(text.encode("utf-8")))
    return out


def _read_manifest(folder: Path) -> tuple[dict[str, Any], str]:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise WeightsError(f"{_display(folder)}: weights folder not found "
                           f"(set {WEIGHTS_ENV} or pass the folder explicitly)")
    if not path.is_file():
        raise WeightsError(f"{_display(path)}: manifest not found; this folder is not a "
                           f"BeatScope weight set")
    raw = path.read_bytes()
    return _parse_manifest(raw, _display(path)), hashlib.sha256(raw).hexdigest()


def _parse_manifest(raw: bytes, where: str) -> dict[str, Any]:
    """A manifest's JSON, with its ``files`` and ``architecture`` objects present."""
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WeightsError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise WeightsError(f"{where}: expected a JSON object")
    for key in ("files", "architecture"):
        if not isinstance(manifest.get(key), dict) or not manifest[key]:
            raise WeightsError(f"{where}: missing or empty '{key}'")
    return manifest


def _check_entry(folder: Path, fname: str, entry: Any) -> None:
    """A manifest ``files`` entry must be a plain file name with a recorded sha256."""
    if Path(fname).name != fname or fname in ("", ".", "..") or "\\" in fname:
        raise WeightsError(f"{_display(folder / MANIFEST)}: file name {fname!r} is not a "
                           f"plain name inside the weight set")
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
        raise WeightsError(f"{_display(folder / MANIFEST)}: no sha256 recorded for {fname}")


def _verify_file(folder: Path, fname: str, entry: dict[str, Any]) -> Path:
    path = folder / fname
    shown = _display(path)
    if not path.is_file():
        raise WeightsError(f"{shown}: file missing from the weight set")
    size = path.stat().st_size
    if "bytes" in entry and size != entry["bytes"]:
        raise WeightsError(f"{shown}: size {size} bytes, manifest says {entry['bytes']} "
                           f"(file is truncated or was modified)")
    got = sha256_file(path)
    want = entry["sha256"].lower()
    if got != want:
        raise WeightsError(f"{shown}: sha256 mismatch (file is corrupt or was modified); "
                           f"expected {want[:12]}…, got {got[:12]}…")
    return path


def build_model(name: str, spec: Mapping[str, Any]) -> nn.Module:
    """A fresh model for manifest entry ``architecture.<name>``."""
    kwargs = dict(spec)
    cls_name = kwargs.pop("class", DEFAULT_CLASS_FOR.get(name))
    cls = ARCHITECTURES.get(cls_name) if isinstance(cls_name, str) else None
    if cls is None:
        raise WeightsError(f"architecture of '{name}': unknown class {cls_name!r} "
                           f"(known: {', '.join(ARCHITECTURES)})")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise WeightsError(f"architecture of '{name}': {err}") from None


def _check_consistency(folder: Path, manifest: Mapping[str, Any],
                       models: Mapping[str, nn.Module], classes: tuple[str, ...]) -> None:
    """Classes match every model's outputs; ensemble weights/temperatures are usable."""
    where = _display(folder / MANIFEST)
    for name, model in models.items():
        n_out = getattr(model, "config", dict)().get("n_classes", len(classes))
        if n_out != len(classes):
            raise WeightsError(f"{where}: '{name}' has {n_out} outputs but {len(classes)} "
                               f"classes are listed")
    ens = manifest.get("ensemble") or {}
    if not isinstance(ens, dict):
        raise WeightsError(f"{where}: 'ensemble' is not an object")
    for key, positive in (("weights", False), ("temperatures", True)):
        table = ens.get(key) or {}
        if not isinstance(table, dict) or set(table) - set(models):
            raise WeightsError(f"{where}: ensemble {key} must map member names "
                               f"({', '.join(models)}) to numbers")
        for name, v in table.items():
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            if not ok or v < 0 or (positive and v == 0):
                raise WeightsError(f"{where}: ensemble {key}['{name}'] = {v!r} is invalid")
        if key == "weights" and table and (set(table) != set(models) or
                                           sum(table.values()) <= 0):
            raise WeightsError(f"{where}: ensemble weights must cover every member "
                               f"({', '.join(models)}) with a positive sum")


def _check_context(folder: Path, manifest: dict, models: dict[str, nn.Module]) -> None:
    """Models that read the patient-context channels must have been trained on the
    context the engine computes now (``segment.context``): fed another definition
    they still answer, wrongly. (Or on one measured to be interchangeable with it:
    ``CONTEXT_COMPATIBLE``.)"""
    from beatscope.segment import CONTEXT_COMPATIBLE, CONTEXT_VERSION

    if not any(getattr(m, "in_leads", 2) == 4 for m in models.values()):
        return
    trained_on = (manifest.get("context") or {}).get("version")
    if trained_on != CONTEXT_VERSION and trained_on not in CONTEXT_COMPATIBLE:
        raise WeightsError(f"{_display(folder / MANIFEST)}: trained on patient context "
                           f"'{trained_on or 'whole-block median'}', the engine computes "
                           f"'{CONTEXT_VERSION}': retrain the weight set")


def load_weight_set(folder: str | os.PathLike[str] | None = None,
                    device: str | torch.device = "cpu") -> LoadedWeightSet:
    """Verify and load a weight set (default :func:`default_weights_dir`).

    Models come back float32, in eval mode, on ``device``. Any problem raises
    :class:`WeightsError` with a one-line message naming the file.
    """
    folder = Path(folder) if folder is not None else default_weights_dir()
    dev = torch.device(device)
    manifest, manifest_sha = _read_manifest(folder)
    files: dict[str, Any] = manifest["files"]
    for fname, entry in files.items():  # every name is checked before any file is read
        _check_entry(folder, fname, entry)
    verified = {fname: _verify_file(folder, fname, entry) for fname, entry in files.items()}
    models = _build_models(manifest, _display(folder / MANIFEST), dev,
                           lambda fname: verified[fname],
                           lambda fname: _display(verified[fname]))
    classes = tuple(manifest.get("classes") or AAMI_CLASSES)
    _check_consistency(folder, manifest, models, classes)
    _check_context(folder, manifest, models)
    return LoadedWeightSet(folder=folder, manifest=manifest, models=models, device=dev,
                           manifest_sha256=manifest_sha, classes=classes)


def _build_models(manifest: dict, where: str, dev: torch.device,
                  source: Callable[[str], Any], shown: Callable[[str], str]
                  ) -> dict[str, nn.Module]:
    """Each architecture of ``manifest`` built and loaded from its (already verified)
    ``.pt``: ``source(fname)`` is what ``torch.load`` reads (a path, or bytes held in
    memory), ``shown(fname)`` names it in errors, ``where`` names the manifest."""
    models: dict[str, nn.Module] = {}
    for name, spec in manifest["architecture"].items():
        fname = f"{name}.pt"
        if fname not in manifest["files"]:
            raise WeightsError(f"{where}: architecture '{name}' has no entry for {fname} "
                               f"under 'files'")
        if not isinstance(spec, dict):
            raise WeightsError(f"{where}: architecture of '{name}' is not an object")
        try:
            state = torch.load(source(fname), map_location=dev, weights_only=True)
        except Exception as err:  # any unpickling failure means a bad file
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise WeightsError(f"{shown(fname)}: cannot be read as weights ({first})") from None
        if not isinstance(state, dict) or not all(
                isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
            raise WeightsError(f"{shown(fname)}: not a plain dict of tensors")
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        model = build_model(name, spec)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            first = str(err).splitlines()[0]
            raise WeightsError(f"{shown(fname)}: does not fit architecture '{name}' "
                               f"({first})") from None
        models[name] = model.to(dev).eval()
    return models


# --------------------------------------------------------------------------- held in memory
# A weight set sent to another machine (a Ray cluster's object store) travels as the
# bytes of its files; the receiver checks them exactly as load_weight_set checks a
# folder, so a set that arrives damaged is refused there, never silently used.


def read_weight_set_files(folder: str | os.PathLike[str]) -> dict[str, bytes]:
    """``manifest.json`` and every file it names, as bytes (for
    :func:`load_weight_set_from_files` elsewhere). Raises WeightsError for a folder
    that is not a weight set or lacks a file."""
    folder = Path(folder)
    manifest, _ = _read_manifest(folder)
    files = {MANIFEST: (folder / MANIFEST).read_bytes()}
    for fname, entry in manifest["files"].items():
        _check_entry(folder, fname, entry)
        try:
            files[fname] = (folder / fname).read_bytes()
        except FileNotFoundError:
            raise WeightsError(f"{_display(folder / fname)}: file missing from the weight "
                               f"set") from None
    return files


def load_weight_set_from_files(files: Mapping[str, bytes], origin: str | os.PathLike[str],
                               device: str | torch.device = "cpu") -> LoadedWeightSet:
    """:func:`load_weight_set` for a weight set held in memory: ``files`` maps each file
    name (``manifest.json`` included) to its bytes, as :func:`read_weight_set_files`
    gives them; ``origin`` is the folder they were read from, used in messages and
    recorded as the set's folder (so outputs name the same weights wherever they ran).

    The same checks, in the same order: the manifest's shape and file names, every
    file's size and sha256 before ``torch.load(weights_only=True)`` sees it, strict
    state dicts, classes and ensemble.
    """
    import io

    origin = Path(origin)
    where = _display(origin / MANIFEST)
    raw = files.get(MANIFEST)
    if raw is None:
        raise WeightsError(f"{where}: manifest not found; this is not a BeatScope weight set")
    manifest = _parse_manifest(raw, where)
    for fname, entry in manifest["files"].items():
        _check_entry(origin, fname, entry)
        shown = _display(origin / fname)
        data = files.get(fname)
        if data is None:
            raise WeightsError(f"{shown}: file missing from the weight set")
        if "bytes" in entry and len(data) != entry["bytes"]:
            raise WeightsError(f"{shown}: size {len(data)} bytes, manifest says "
                               f"{entry['bytes']} (file is truncated or was modified)")
        got, want = hashlib.sha256(data).hexdigest(), entry["sha256"].lower()
        if got != want:
            raise WeightsError(f"{shown}: sha256 mismatch (file is corrupt or was modified); "
                               f"expected {want[:12]}…, got {got[:12]}…")
    dev = torch.device(device)
    models = _build_models(manifest, where, dev, lambda fname: io.BytesIO(files[fname]),
                           lambda fname: _display(origin / fname))
    classes = tuple(manifest.get("classes") or AAMI_CLASSES)
    _check_consistency(origin, manifest, models, classes)
    _check_context(origin, manifest, models)
    return LoadedWeightSet(folder=origin, manifest=manifest, models=models, device=dev,
                           manifest_sha256=hashlib.sha256(raw).hexdigest(), classes=classes)
