"""beatscope.models: shapes, determinism, weight-set safety, calibration, inference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from beatscope.aami import AAMI_CLASSES
from beatscope.errors import BeatScopeError
from beatscope.evaluate.classification import score_classification
from beatscope.models import (
    SLAP,
    BeatClassifier,
    Ensemble,
    LoadedWeightSet,
    ResNet1D34,
    RRTransform,
    WeightsError,
    default_weights_dir,
    fit_temperature,
    load_weight_set,
    save_weight_set,
    tune_weight,
)
from beatscope.models.slap import to_patches


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: these nets are tiny per test, and spin-waiting OpenMP
    threads make a shared/busy CI machine many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _beats(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, 400, generator=g)
    rr = 0.5 + torch.rand(n, 8, generator=g)
    return x, rr


def _randomise_bn(model: torch.nn.Module, seed: int = 1) -> None:
    """Non-trivial BN statistics/affines, so a round trip is tested on 'trained-like' weights."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.weight.data = 0.5 + torch.rand(m.weight.shape, generator=g)
            m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=g)
            m.running_mean = 0.1 * torch.randn(m.running_mean.shape, generator=g)
            m.running_var = 0.5 + torch.rand(m.running_var.shape, generator=g)


@pytest.fixture(scope="module")
def small_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    resnet = ResNet1D34()
    _randomise_bn(resnet)
    return {"resnet": resnet.eval(), "slap": SLAP().eval()}


@pytest.fixture(scope="module")
def weight_set(tmp_path_factory: pytest.TempPathFactory,
               small_models: dict[str, torch.nn.Module]) -> Path:
    folder = tmp_path_factory.mktemp("ws") / "model_weights"
    save_weight_set(folder, small_models, {
        "model_version": "test-1",
        "ensemble": {"weights": {"resnet": 0.6, "slap": 0.4},
                     "temperatures": {"resnet": 1.5, "slap": 0.9}},
    })
    return folder


@pytest.fixture(scope="module")
def loaded(weight_set: Path) -> LoadedWeightSet:
    return load_weight_set(weight_set)


# --- architectures ---------------------------------------------------------------

@pytest.mark.parametrize("use_rr", [True, False])
@pytest.mark.parametrize("cls", [ResNet1D34, SLAP])
def test_output_shape(cls: type[torch.nn.Module], use_rr: bool) -> None:
    torch.manual_seed(0)
    model = cls(use_rr=use_rr).eval()
    x, rr = _beats(3)
    with torch.no_grad():
        out = model(x, rr if use_rr else None)
    assert out.shape == (3, 5)
    assert torch.isfinite(out).all()


def test_rr_required_when_built_with_rr() -> None:
    model = SLAP(use_rr=True).eval()
    with pytest.raises(ValueError, match="use_rr=True"):
        model(torch.zeros(1, 2, 400), None)


def test_resnet_stage_lengths() -> None:
    lengths = ResNet1D34().feature_lengths(torch.zeros(1, 2, 400))
    assert lengths == {"stem": 200, "pool": 100, "layer1": 100, "layer2": 50,
                       "layer3": 25, "layer4": 13}


def test_resnet_is_resnet34() -> None:
    model = ResNet1D34(use_rr=False)
    blocks = [len(getattr(model, f"layer{i}")) for i in range(1, 5)]
    assert blocks == [3, 4, 6, 3]
    assert model.fc.in_features == 512 and model.fc.out_features == 5
    assert model.stem[0].kernel_size == (15,) and model.stem[0].out_channels == 64


def test_patches_layout() -> None:
    x = torch.arange(2 * 400, dtype=torch.float32).reshape(1, 2, 400)
    p = to_patches(x, 16)
    assert p.shape == (1, 25, 32)
    assert torch.equal(p[0, 1, :16], x[0, 0, 16:32])  # step 1, lead 0
    assert torch.equal(p[0, 1, 16:], x[0, 1, 16:32])  # step 1, lead 1


def test_rr_transform_is_bounded_and_finite() -> None:
    rr = torch.tensor([[0.0, -1.0, float("nan"), float("inf"), 1.0, 0.8, 1e9, 1e-9]])
    out = RRTransform()(rr)
    assert torch.isfinite(out).all()
    assert out.abs().max() <= 3.0
    assert out[0, 4] == 0.0  # ratio 1 -> 0


@pytest.mark.parametrize("cls", [ResNet1D34, SLAP])
def test_determinism(cls: type[torch.nn.Module]) -> None:
    x, rr = _beats(2)
    torch.manual_seed(123)
    a = cls().eval()
    torch.manual_seed(123)
    b = cls().eval()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    with torch.no_grad():
        out1, out2, out3 = a(x, rr), a(x, rr), b(x, rr)
    assert torch.equal(out1, out2) and torch.equal(out1, out3)


# --- weight sets -----------------------------------------------------------------

def test_save_load_round_trip(weight_set: Path, small_models: dict[str, torch.nn.Module]) -> None:
    manifest = json.loads((weight_set / "manifest.json").read_text())
    assert set(manifest["files"]) == {"resnet.pt", "slap.pt"}
    assert manifest["architecture"]["slap"]["class"] == "SLAP"
    assert manifest["classes"] == list(AAMI_CLASSES)
    loaded = load_weight_set(weight_set)
    assert loaded.ensemble_weights == {"resnet": 0.6, "slap": 0.4}
    assert loaded.temperatures == {"resnet": 1.5, "slap": 0.9}
    x, rr = _beats(4)
    for name, model in small_models.items():
        reloaded = loaded.models[name]
        assert not reloaded.training
        assert all(p.dtype == torch.float32 for p in reloaded.parameters())
        with torch.no_grad():
            diff = (model(x, rr) - reloaded(x, rr)).abs().max().item()
        scale = model(x, rr).abs().max().item()
        # float16 keeps ~3 significant digits: the error scales with the logits
        assert diff <= 5e-3 * scale + 1e-4, f"{name}: fp16 changed logits by {diff}/{scale}"


def test_tampered_file_refused(weight_set: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model_weights"
    folder.mkdir()
    for f in weight_set.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    data = bytearray((folder / "resnet.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "resnet.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"resnet\.pt: sha256 mismatch") as err:
        load_weight_set(folder)
    assert isinstance(err.value, BeatScopeError)
    assert "\n" not in str(err.value)

    (folder / "resnet.pt").write_bytes((weight_set / "resnet.pt").read_bytes())
    load_weight_set(folder)  # restored: accepted again
    (folder / "slap.pt").unlink()
    with pytest.raises(WeightsError, match=r"slap\.pt: file missing"):
        load_weight_set(folder)


def test_missing_manifest_refused(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="manifest not found"):
        load_weight_set(tmp_path)
    with pytest.raises(WeightsError, match="not found"):
        load_weight_set(tmp_path / "nowhere")


def test_manifest_cannot_escape_folder(weight_set: Path, tmp_path: Path) -> None:
    manifest = json.loads((weight_set / "manifest.json").read_text())
    manifest["files"]["../resnet.pt"] = manifest["files"].pop("resnet.pt")
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="plain name"):
        load_weight_set(tmp_path)


@pytest.mark.parametrize("ensemble", [
    {"weights": {"resnet": 1.0}},  # a member without a weight
    {"weights": {"resnet": 1.0, "slap": -1.0}},
    {"temperatures": {"slap": 0}},
    {"weights": {"resnet": 1.0, "slap": 1.0, "lstm": 1.0}},
])
def test_bad_ensemble_section_refused(weight_set: Path, tmp_path: Path, ensemble: dict) -> None:
    for f in weight_set.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    manifest = json.loads((weight_set / "manifest.json").read_text())
    manifest["ensemble"] = ensemble
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="manifest.json: ensemble"):
        load_weight_set(tmp_path)


def test_default_weights_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BEATSCOPE_WEIGHTS", raising=False)
    assert default_weights_dir() == Path(__file__).resolve().parents[1] / "model_weights"
    monkeypatch.setenv("BEATSCOPE_WEIGHTS", str(tmp_path))
    assert default_weights_dir() == tmp_path


# --- calibration and ensembling --------------------------------------------------

def test_fit_temperature_recovers_known_temperature() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, size=(4000, 5))
    p = np.exp(true_logits - true_logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = np.array([rng.choice(5, p=row) for row in p])
    t_true = 2.5
    fitted = fit_temperature(true_logits * t_true, labels)  # over-confident by 2.5x
    assert fitted == pytest.approx(t_true, rel=0.1)
    assert fit_temperature(torch.tensor(true_logits), torch.tensor(labels)) == \
        pytest.approx(1.0, rel=0.1)


def macro_f1(labels: np.ndarray, pred: np.ndarray) -> float:
    return score_classification(labels, pred).macro_f1()


def test_tune_weight_prefers_better_member() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, size=500)
    good = np.full((500, 5), 0.05)
    good[np.arange(500), labels] = 0.8
    bad = rng.dirichlet(np.ones(5), size=500)
    assert tune_weight(good, bad, labels, macro_f1) > 0.5
    assert tune_weight(bad, good, labels, macro_f1) < 0.5
    # identical members: every weight ties -> 0.5
    assert tune_weight(good, good, labels, macro_f1) == 0.5


def test_ensemble_probabilities(small_models: dict[str, torch.nn.Module]) -> None:
    ens = Ensemble(small_models, {"resnet": 3.0, "slap": 1.0}, {"resnet": 2.0})
    assert ens.weights == {"resnet": 0.75, "slap": 0.25}
    assert ens.temperatures == {"resnet": 2.0, "slap": 1.0}
    x, rr = _beats(3)
    with torch.no_grad():
        p = ens(x, rr)
        mp = ens.member_probs(x, rr)
    assert torch.allclose(p.sum(1), torch.ones(3), atol=1e-5)
    assert torch.allclose(p, 0.75 * mp["resnet"] + 0.25 * mp["slap"], atol=1e-6)
    with pytest.raises(ValueError):
        Ensemble(small_models, {"resnet": 1.0})


# --- inference -------------------------------------------------------------------

@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_beat_classifier(loaded: LoadedWeightSet, precision: str) -> None:
    clf = BeatClassifier(loaded, device="cpu", precision=precision, batch_size=4,
                         num_threads=1)
    x, rr = _beats(10)
    out = clf.classify_detailed(x.numpy(), rr.numpy(), members=True)
    assert out.labels.dtype == np.dtype("<U1") and out.labels.shape == (10,)
    assert set(out.labels) <= set(AAMI_CLASSES)
    assert out.probs.dtype == np.float32 and out.probs.shape == (10, 5)
    np.testing.assert_allclose(out.probs.sum(1), 1.0, atol=1e-5)
    assert out.member_probs is not None and set(out.member_probs) == {"resnet", "slap"}
    mixed = 0.6 * out.member_probs["resnet"] + 0.4 * out.member_probs["slap"]
    np.testing.assert_allclose(out.probs, mixed / mixed.sum(1, keepdims=True), atol=1e-5)
    labels, probs = clf.classify(x.numpy(), rr.numpy())
    np.testing.assert_array_equal(labels, out.labels)
    if precision == "fp32":  # batching must not change results
        whole = BeatClassifier(loaded, device="cpu", precision="fp32", batch_size=1024,
                               num_threads=1).classify(x.numpy(), rr.numpy())[1]
        np.testing.assert_allclose(probs, whole, atol=1e-5)
    d = clf.describe()
    assert d["precision"] == precision and d["device"] == "cpu"
    assert d["model_version"] == "test-1" and set(d["files"]) == {"resnet.pt", "slap.pt"}
    json.dumps(d)


def test_beat_classifier_empty_and_bad_shapes(loaded: LoadedWeightSet) -> None:
    clf = BeatClassifier(loaded, device="cpu", precision="fp32", num_threads=1)
    labels, probs = clf.classify(np.zeros((0, 2, 400), np.float32), np.zeros((0, 8), np.float32))
    assert labels.shape == (0,) and probs.shape == (0, 5)
    with pytest.raises(ValueError, match="rr must be"):
        clf.classify(np.zeros((2, 2, 400), np.float32), np.zeros((3, 8), np.float32))


def test_batchnorm_folding_keeps_the_function() -> None:
    torch.manual_seed(0)
    model = ResNet1D34(in_leads=4)
    # trained-like BN statistics, so the fold has something to fold
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    fused = model.fused_for_inference()
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())  # a copy
    x, rr = torch.randn(64, 4, 400), torch.rand(64, 8) + 0.5
    with torch.inference_mode():
        a, b = model(x, rr), fused(x, rr)
    torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
    assert (a.argmax(1) == b.argmax(1)).all()
