"""08-deep-learning: the clothing transfer-learning pipeline on a few images the test
generates, with ``weights=None`` (the ImageNet weights cannot be downloaded here)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from zoomcamp.clothing import lesson_keras as clothing
from zoomcamp.errors import ZoomcampError

SIZE = 75  # Xception's smallest input is 71x71; the lesson uses 150
CLASSES = ("hat", "pants", "shoes")
COLOURS = {"hat": (220, 20, 20), "pants": (20, 20, 220), "shoes": (20, 200, 20)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("clothing")
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("validation", 2)):
        for cls in CLASSES:
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                noise = rng.integers(-20, 20, size=(60, 80, 3))
                pixels = np.clip(np.array(COLOURS[cls]) + noise, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / cls / f"{cls}{i}.jpg")
    return root


@pytest.fixture(scope="module")
def base():
    return clothing.make_base(SIZE, weights=None)


@pytest.mark.slow  # decodes and batches real images (about 40 s under load)
def test_dataset_batches_preprocessed_one_hot(folder):
    ds = clothing.load_split(folder / "train", size=SIZE, batch_size=5, classes=CLASSES)
    batches = list(ds)
    assert [len(y) for _, y in batches] == [5, 5, 2]
    x, y = batches[0]
    assert x.shape == (5, SIZE, SIZE, 3) and y.shape == (5, 3)
    x = np.asarray(x)
    assert x.min() >= -1.0 and x.max() <= 1.0  # Xception's [-1, 1]
    np.testing.assert_array_equal(np.asarray(y).sum(axis=1), 1.0)
    limited = list(
        clothing.load_split(folder / "train", size=SIZE, batch_size=5, limit=7, classes=CLASSES)
    )
    assert sum(len(y) for _, y in limited) == 7


@pytest.mark.slow  # a subprocess, a framework import or a tool: seconds
def test_preprocess_maps_pixels_to_minus_one_one():
    px = np.array([[0.0, 127.5, 255.0]], dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(clothing.preprocess(px.copy())), [[-1.0, 0.0, 1.0]], atol=1e-6
    )


def test_head_shapes_and_frozen_base(base):
    model = clothing.make_model(
        SIZE, inner_size=16, dropout=0.5, augment=True, base=base, n_classes=3
    )
    assert model.output_shape == (None, 3)
    assert model.get_layer("inner").units == 16 and model.get_layer("dropout").rate == 0.5
    assert not base.trainable and base.output_shape[-1] == 2048
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == (2048 * 16 + 16) + (16 * 3 + 3)  # only the new head learns
    plain = clothing.make_model(SIZE, base=base, n_classes=10)
    assert sum(int(np.prod(w.shape)) for w in plain.trainable_weights) == 2048 * 10 + 10


@pytest.mark.slow  # a training step of the Keras model, checkpointed (about 1 min under load)
def test_train_step_checkpoint_reload_and_predict(folder, base, tmp_path):
    import keras

    keras.utils.set_random_seed(42)
    train = clothing.load_split(folder / "train", size=SIZE, batch_size=4, classes=CLASSES)
    val = clothing.load_split(
        folder / "validation", size=SIZE, batch_size=4, shuffle=False, classes=CLASSES
    )
    model = clothing.make_model(SIZE, learning_rate=0.01, base=base, n_classes=3)
    head_before = [w.copy() for w in model.get_layer("logits").get_weights()]
    base_before = base.get_weights()[0].copy()
    ckpt = tmp_path / "clothing.keras"
    history = clothing.fit(model, train, val, epochs=2, checkpoint=ckpt, verbose=0)
    assert len(history["loss"]) == 2 and set(history) >= {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
    }
    assert not np.allclose(
        model.get_layer("logits").get_weights()[0], head_before[0]
    )  # head learned
    np.testing.assert_array_equal(base.get_weights()[0], base_before)  # base frozen
    assert ckpt.is_file()
    reloaded = keras.models.load_model(ckpt)
    x, _ = next(iter(val))
    # the checkpoint is the best epoch by val accuracy, which need not be the last
    assert reloaded.predict(x, verbose=0).shape == (len(x), 3)
    assert set(clothing.evaluate(reloaded, val)) == {"loss", "accuracy"}
    image = next((folder / "validation" / "shoes").iterdir())
    probs = clothing.predict_one(reloaded, image, size=SIZE, classes=CLASSES)
    assert list(probs) == sorted(probs, key=probs.get, reverse=True)
    assert set(probs) == set(CLASSES) and sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    logits = reloaded.predict(clothing.load_image(image, SIZE), verbose=0)[0]
    assert max(probs, key=probs.get) == CLASSES[int(np.argmax(logits))]


def test_importing_the_lesson_has_no_side_effects():
    """No stderr filter, thread or TensorFlow at import: entry points start the filter."""
    code = (
        "import os, sys, threading\n"
        "before = os.fstat(2)\n"
        "import zoomcamp.clothing.lesson_keras\n"
        "assert os.fstat(2) == before, 'stderr replaced at import'\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert not {'keras', 'tensorflow', 'torch'} & set(sys.modules), 'framework imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_missing_weights_give_a_clear_error(monkeypatch, tmp_path):
    import keras
    from keras.src.backend import config

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no network")

    # Keras reads KERAS_HOME once, at import; the message must name the folder it uses
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))
    monkeypatch.setattr(keras.applications, "Xception", offline)
    with pytest.raises(ZoomcampError, match="weights=None") as info:
        clothing.make_base(SIZE, weights="imagenet")
    assert clothing.WEIGHTS_FILE in str(info.value)
    assert str(tmp_path / "models" / clothing.WEIGHTS_FILE) in str(info.value)
