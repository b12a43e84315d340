"""Clothing classification with Keras 3: transfer learning from Xception (the module-08 lesson).

Dataset ``clothing-small`` (10 classes; train 3068 / validation 341 / test 372) read with
``keras.utils.image_dataset_from_directory`` and Xception's own ``preprocess_input``
(pixels to [-1, 1]) in the tf.data pipeline. The model: a frozen Xception base
(``include_top=False``), global average pooling, an optional inner dense layer with
dropout, and a dense head giving 10 logits; Adam and categorical cross-entropy from
logits. Augmentation is a few Keras preprocessing layers at the start of the model (active
only while training). Checkpoints keep the best epoch by validation accuracy as ``.keras``.

The pre-trained weights come from Keras' normal download into its cache
(``~/.keras/models/``); ``weights=None`` builds the same network with random weights, which
is what the tests and the notebook's fast mode use on machines without internet. Entry
points call :func:`zoomcamp.native_logs.filter_stderr` before the first Keras call, to keep
TensorFlow's C++ log lines out of what users read; importing this module changes nothing.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from zoomcamp.clothing.data import CLASSES
from zoomcamp.errors import ZoomcampError
from zoomcamp.settings import fast_mode

log = logging.getLogger("clothing")

SIZE = 150  # the lesson's input size; the larger model uses 299
BATCH_SIZE = 32
SEED = 42
LEARNING_RATE = 0.001
WEIGHTS_FILE = "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
TOP_WEIGHTS_FILE = "xception_weights_tf_dim_ordering_tf_kernels.h5"  # with the ImageNet head
WEIGHTS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"


def settings(fast: bool | None = None) -> dict:
    """What the notebook runs: the lesson's settings, or under ZOOMCAMP_FAST=1 a tiny smoke run
    (random weights, 100x100 inputs, 16 images per split, 1 epoch, two values per grid)."""
    if fast is None:
        fast = fast_mode()
    if fast:
        return {
            "fast": True,
            "weights": None,
            "size": 100,  # smaller than the lesson's 150: a smoke run
            "limit": 16,
            "epochs": 1,
            "learning_rates": [0.001, 0.01],
            "inner_sizes": [10, 100],
            "dropouts": [0.0, 0.5],
            "large_size": None,
        }
    return {
        "fast": False,
        "weights": "imagenet",
        "size": SIZE,
        "limit": None,
        "epochs": 10,
        "learning_rates": [0.0001, 0.001, 0.01, 0.1],
        "inner_sizes": [10, 100, 1000],
        "dropouts": [0.0, 0.2, 0.5, 0.8],
        "large_size": 299,
    }


def preprocess(images):
    """Xception's preprocessing: pixels 0..255 -> [-1, 1]."""
    from keras.applications.xception import preprocess_input

    return preprocess_input(images)


def load_split(
    folder: Path,
    size: int = SIZE,
    batch_size: int = BATCH_SIZE,
    shuffle: bool = True,
    limit: int | None = None,
    classes=CLASSES,
):
    """A folder of ``<class>/<image>`` files -> batches of (preprocessed images, one-hot labels).
    ``limit`` keeps only the first batches covering that many images (after the seeded shuffle)."""
    import keras
    import tensorflow as tf

    ds = keras.utils.image_dataset_from_directory(
        folder,
        labels="inferred",
        label_mode="categorical",
        class_names=list(classes),
        image_size=(size, size),
        batch_size=batch_size,
        shuffle=shuffle or limit is not None,  # a subset must mix the classes
        seed=SEED,
        verbose=False,
    )
    if limit is not None:  # cardinality stays known, so Keras does not warn about running out
        n_batches = math.ceil(min(limit, len(ds.file_paths)) / batch_size)
        ds = ds.unbatch().take(limit).batch(batch_size)
        ds = ds.apply(tf.data.experimental.assert_cardinality(n_batches))
    return ds.map(lambda x, y: (preprocess(x), y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def _weights_error(exc: BaseException, filename: str = WEIGHTS_FILE) -> ZoomcampError:
    from keras.src.backend.config import keras_home  # Keras' own reading of KERAS_HOME

    cache = Path(keras_home()) / "models"
    return ZoomcampError(
        f"cannot get the pre-trained Xception weights ({type(exc).__name__}: {exc}). Keras downloads "
        f"them on first use from {WEIGHTS_BASE}{filename} into its cache ({cache}). Without internet: download "
        f"that file on a machine that has it and copy it to {cache / filename} (or set KERAS_HOME "
        "to a folder holding models/ with it). To run the pipeline without them, pass weights=None "
        "(random weights: the code runs, the accuracy means nothing)."
    )


def make_base(size: int = SIZE, weights: str | None = "imagenet"):
    """The Xception convolutional base, frozen, for ``size`` x ``size`` RGB inputs (>= 71)."""
    import keras

    try:
        base = keras.applications.Xception(
            weights=weights, include_top=False, input_shape=(size, size, 3)
        )
    except Exception as exc:  # no network, a proxy, a damaged cache: all end here
        if weights is None:
            raise
        raise _weights_error(exc) from None
    base.trainable = False
    return base


def augmentation(seed: int = SEED):
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(0.05, seed=seed + 1),  # up to 18 degrees
            keras.layers.RandomZoom(0.1, seed=seed + 2),
        ],
        name="augmentation",
    )


def make_model(
    size: int = SIZE,
    learning_rate: float = LEARNING_RATE,
    inner_size: int | None = None,
    dropout: float = 0.0,
    augment: bool = False,
    weights: str | None = "imagenet",
    base=None,
    n_classes: int = len(CLASSES),
):
    """Frozen Xception -> GAP -> [Dense(inner_size, relu) -> Dropout] -> Dense(n_classes) logits.
    Pass ``base`` to share one base between the models of a tuning run."""
    import keras

    base = base if base is not None else make_base(size, weights)
    inputs = keras.Input((size, size, 3), name="image")
    x = augmentation()(inputs) if augment else inputs
    x = base(x, training=False)  # BatchNorm of the base stays in inference mode
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if inner_size:
        x = keras.layers.Dense(inner_size, activation="relu", name="inner")(x)
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(n_classes, name="logits")(x)
    model = keras.Model(inputs, outputs, name="clothing_xception")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        # the smoke run (ZOOMCAMP_FAST) fits 16 images: tracing Xception into a graph costs
        # more than the fit itself (the notebook: 129 s traced, 67 s eager; 08's README)
        run_eagerly=fast_mode(),
    )
    return model


def best_checkpoint(path: Path):
    """Saves the model as ``path`` (.keras) whenever validation accuracy improves, like
    ``ModelCheckpoint(monitor="val_accuracy", save_best_only=True)`` but written atomically."""
    import keras

    from zoomcamp.hair.model_keras import save_keras

    class BestCheckpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.best_epoch, self.path = -math.inf, None, Path(path)

        def on_epoch_end(self, epoch, logs=None):
            acc = float(logs["val_accuracy"])
            if acc > self.best:
                self.best, self.best_epoch = acc, epoch + 1
                save_keras(self.model, self.path)
                log.info("epoch %d: val_accuracy %.4f, saved %s", epoch + 1, acc, self.path)

    return BestCheckpoint()


def fit(
    model, train_ds, val_ds, epochs: int = 10, checkpoint: Path | None = None, verbose: int = 2
) -> dict:
    callbacks = [best_checkpoint(checkpoint)] if checkpoint else []
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the tf.data pipeline shuffles
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def tune(
    param: str,
    values,
    train_ds,
    val_ds,
    epochs: int = 10,
    base=None,
    size: int = SIZE,
    weights: str | None = "imagenet",
    verbose: int = 0,
    **fixed,
) -> dict:
    """One fresh head per value of ``param`` (learning_rate, inner_size or dropout) on a shared
    frozen base; returns {value: history}."""
    import keras

    base = base if base is not None else make_base(size, weights)
    out = {}
    for value in values:
        keras.utils.set_random_seed(SEED)
        model = make_model(size=size, base=base, **{**fixed, param: value})
        out[value] = fit(model, train_ds, val_ds, epochs=epochs, verbose=verbose)
        log.info("%s=%s: best val_accuracy %.4f", param, value, max(out[value]["val_accuracy"]))
    return out


def evaluate(model, test_ds) -> dict:
    loss, acc = model.evaluate(test_ds, verbose=0)
    return {"loss": float(loss), "accuracy": float(acc)}


def load_image(path: Path, size: int = SIZE) -> np.ndarray:
    """One image as a batch of one, resized (bilinear, as image_dataset_from_directory) and
    preprocessed for Xception."""
    import keras

    img = keras.utils.load_img(path, target_size=(size, size), interpolation="bilinear")
    return preprocess(keras.utils.img_to_array(img)[None])


def predict_one(model, path: Path, size: int = SIZE, classes=CLASSES) -> dict[str, float]:
    """Class probabilities (softmax of the logits) for one image, most likely first."""
    logits = model.predict(load_image(path, size), verbose=0)[0]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return dict(sorted(zip(classes, map(float, p), strict=True), key=lambda kv: -kv[1]))


def imagenet_top(path: Path, top: int = 5, size: int = 299) -> list[tuple[str, float]]:
    """The pre-trained Xception (with its ImageNet head) out of the box on one image."""
    import keras
    from keras.applications.xception import decode_predictions

    try:
        model = keras.applications.Xception(weights="imagenet", input_shape=(size, size, 3))
        preds = model.predict(load_image(path, size), verbose=0)
        return [(name, float(p)) for _, name, p in decode_predictions(preds, top=top)[0]]
    except ZoomcampError:
        raise
    except Exception as exc:
        raise _weights_error(exc, TOP_WEIGHTS_FILE) from None
