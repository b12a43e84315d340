"""08-deep-learning, PyTorch track (``zoomcamp.hair.train_torch``): the network is the homework's
(parameter count by formula, same values and gradients as the plain Conv -> ReLU -> MaxPool
stack, the pool-before-ReLU option changes no bit), the decode-once pipeline equals
torchvision's PIL transforms, the augmentation draws new parameters per image, two runs give
the same history, the Keras variant has the homework's settings too, and the PyTorch code
imports no Keras code."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import transforms as T

from zoomcamp import paths
from zoomcamp.hair import data as hair
from zoomcamp.hair import model_keras, model_torch, train_keras, train_torch


def _image(seed: int, size=(317, 241)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_param_count_matches_formula():
    conv = 3 * 3 * 3 * 32 + 32
    side = (200 - 2) // 2
    dense = side * side * 32 * 64 + 64
    assert train_torch.count_params(train_torch.build_model()) == conv + dense + 64 + 1 == 20073473


def test_same_values_and_gradients_as_the_plain_stack():
    torch.manual_seed(0)
    model = train_torch.build_model()
    reference = nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(313632, 64),
        nn.ReLU(), nn.Linear(64, 1),
    )  # fmt: skip
    for ref, mine in zip(
        (reference[0], reference[4], reference[6]),
        (model.conv, model.fc1, model.fc2),
        strict=True,
    ):
        ref.load_state_dict(mine.state_dict())
    x = torch.randn(3, 3, 200, 200)
    y = torch.tensor([[1.0], [0.0], [1.0]])
    outs = []
    for net in (model, reference):
        net.zero_grad()
        out = net(x)
        nn.BCEWithLogitsLoss()(out, y).backward()
        outs.append(out.detach())
    assert outs[0].shape == (3, 1)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        model.conv.weight.grad, reference[0].weight.grad, rtol=1e-4, atol=1e-6
    )
    torch.testing.assert_close(
        model.fc1.weight.grad, reference[4].weight.grad, rtol=1e-4, atol=1e-7
    )


def test_pool_before_relu_changes_no_bit():
    """The speed option: max-pooling and ReLU commute, values and gradients, exactly."""
    torch.manual_seed(1)
    models = [train_torch.HairCNN(pool_before_relu=flag) for flag in (True, False)]
    models[1].load_state_dict(models[0].state_dict())
    x = torch.randn(4, 3, 200, 200)
    y = torch.tensor([[1.0], [0.0], [0.0], [1.0]])
    outs, grads = [], []
    for model in models:
        model = model.to(memory_format=torch.channels_last)
        out = model(x)
        nn.BCEWithLogitsLoss()(out, y).backward()
        outs.append(out.detach())
        grads.append([p.grad for p in model.parameters()])
    assert torch.equal(outs[0], outs[1])
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


@pytest.mark.parametrize("seed", [1, 2])
def test_decode_once_pipeline_equals_torchvision_on_pil(seed):
    img = _image(seed)
    expected = T.Compose(
        [T.Resize((200, 200)), T.ToTensor(), T.Normalize(hair.MEAN_VALUES, hair.STD_VALUES)]
    )(img)
    pixels = hair.decode_pixels(img, train_torch.Config().resize)
    ours = train_torch.normalise(torch.from_numpy(pixels.copy()).permute(2, 0, 1))
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6)
    # the NumPy path (09's handler and the ONNX check) gives the same input
    np.testing.assert_allclose(model_torch.to_input(pixels[None])[0], expected.numpy(), atol=1e-6)


def test_augmentation_is_per_image_and_seeded():
    pixels = np.stack([np.asarray(_image(s, (200, 200))) for s in (3, 3)])  # two equal images
    ds = train_torch.HairImages(pixels, np.array([0.0, 1.0]))
    torch.manual_seed(5)
    a0, a1 = train_torch.augment(ds[0][0]), train_torch.augment(ds[1][0])
    torch.manual_seed(5)
    b0 = train_torch.augment(ds[0][0])
    assert a0.shape == (3, 200, 200) and a0.dtype == torch.uint8  # normalised per batch later
    assert not torch.equal(a0, a1)  # same image, new draws
    torch.testing.assert_close(a0, b0, rtol=0, atol=0)
    # the training loop's batch-level collate draws the same, in the same order
    torch.manual_seed(5)
    images, labels = train_torch.augmented_batch([ds[0], ds[1]])
    torch.testing.assert_close(images, torch.stack([a0, a1]), rtol=0, atol=0)
    assert labels.tolist() == [0.0, 1.0]


def test_two_runs_give_the_same_history():
    rng = np.random.default_rng(0)
    data = hair.HairData(
        x_train=rng.integers(0, 256, (24, 200, 200, 3), dtype=np.uint8),
        y_train=(np.arange(24) % 2).astype(np.float32),
        x_test=rng.integers(0, 256, (8, 200, 200, 3), dtype=np.uint8),
        y_test=(np.arange(8) % 2).astype(np.float32),
        digest="test",
    )
    config = train_torch.Config(epochs=1, augmented_epochs=1)
    first = train_torch.fit(data, config)[1]
    second = train_torch.fit(data, config)[1]
    assert first == second
    assert len(first["loss"]) == 2 and all(np.isfinite(first["loss"]))


def test_both_tracks_have_the_homeworks_settings():
    """The spec's numbers: SGD(0.002, momentum 0.8), batch 20, seed 42, 10 + 10 epochs,
    rotation 50, crop scale (0.9, 1) and ratio (0.9, 1.1); the fast plan 1 + 1 on 60."""
    c = train_torch.Config()
    assert (c.learning_rate, c.momentum, c.batch_size, c.seed) == (0.002, 0.8, 20, 42)
    assert (model_keras.LEARNING_RATE, model_keras.MOMENTUM) == (0.002, 0.8)
    assert (model_keras.BATCH_SIZE, model_keras.SEED) == (20, 42)
    assert tuple(c.plan) == tuple(train_keras.PLAN) == (10, 10, None)
    assert tuple(train_torch.FAST.plan) == tuple(train_keras.FAST_PLAN) == (1, 1, 60)
    for track in (train_torch, model_keras):
        assert track.ROTATION_DEGREES == 50
        assert (track.CROP_SCALE, track.CROP_RATIO) == ((0.9, 1.0), (0.9, 1.1))


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    proc = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('MODULES', *sys.modules)"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return set(proc.stdout.rsplit("MODULES", 1)[1].split())


@pytest.mark.slow  # a subprocess, a framework import or a tool: seconds
def test_the_pytorch_track_imports_no_keras_code():
    loaded = _modules_after(
        "from zoomcamp.hair import history, model_torch, train_torch\n"
        "model_torch.onnx_interface('bilinear')"
    )
    assert "torch" in loaded
    assert not {"zoomcamp.hair.model_keras", "zoomcamp.hair.train_keras"} & loaded
    assert not {"tensorflow", "keras", "zoomcamp.native_logs"} & loaded


@pytest.mark.parametrize(
    "script",
    ["train_torch.py", "export_torch.py", "homework.py", "bench.py", "bench_onnx_torch.py"],
)
def test_help_imports_no_framework(script):
    """``--help`` answers before torch or TensorFlow is imported."""
    path = paths.module_dir("08-deep-learning") / script
    loaded = _modules_after(
        f"import runpy, sys\nsys.argv = [{str(path)!r}, '--help']\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit:\n    pass"
    )
    assert "zoomcamp" in loaded and not {"torch", "tensorflow", "keras"} & loaded
