"""Hair type (curly vs straight): the homework CNN in Keras 3 (the variant; the course's
track is :mod:`zoomcamp.hair.train_torch`), its augmentation, the tf.data pipeline, and the
model folder ``models/hair-keras/`` (:mod:`zoomcamp.artifacts`) with the ONNX interface
09-serverless relies on. The images are :mod:`zoomcamp.hair.data`; training is
:mod:`zoomcamp.hair.train_keras`. Entry points call :func:`zoomcamp.native_logs.filter_stderr`
before TensorFlow is imported (nothing happens on importing this module).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, fileio, paths
from zoomcamp.hair import data as hair
from zoomcamp.hair.data import IMAGE_SIZE

# The homework's settings, as zoomcamp.hair.train_torch has them (a test keeps them equal)
SEED = 42
BATCH_SIZE = 20
LEARNING_RATE = 0.002
MOMENTUM = 0.8
ROTATION_DEGREES = 50
CROP_SCALE, CROP_RATIO = (0.9, 1.0), (0.9, 1.1)

# ---------------------------------------------------------------- model and pipeline


def build_model(jit_compile: bool | str = "auto"):
    """200x200x3 -> Conv2D(32, 3x3, relu, valid) -> MaxPool(2) -> Flatten -> Dense(64, relu)
    -> Dense(1) logit, compiled with SGD(0.002, momentum 0.8) and binary cross-entropy from
    logits. Call ``keras.utils.set_random_seed`` first for reproducible initial weights."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(*IMAGE_SIZE, 3), name="image"),
            keras.layers.Conv2D(32, (3, 3), activation="relu", padding="valid", name="conv"),
            keras.layers.MaxPooling2D((2, 2), name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(64, activation="relu", name="dense"),
            keras.layers.Dense(1, name="logit"),
        ],
        name="hair_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],  # logit > 0
        jit_compile=jit_compile,
    )
    return model


def _random_resized_crop_class():
    import keras
    import tensorflow as tf

    class RandomResizedCrop(keras.layers.Layer):
        """torchvision's RandomResizedCrop for a batch (TensorFlow backend): per image an area
        fraction in ``scale`` and an aspect ratio (log-uniform) in ``ratio``; the box is clipped
        to the image (torchvision instead retries, then falls back to a centre crop), placed at
        a random offset and resized bilinearly to ``size``. Identity unless ``training``."""

        def __init__(
            self, size=IMAGE_SIZE, scale=CROP_SCALE, ratio=CROP_RATIO, seed=None, **kwargs
        ):
            super().__init__(**kwargs)
            self.size, self.scale, self.ratio, self.seed = (
                tuple(size),
                tuple(scale),
                tuple(ratio),
                seed,
            )
            self.generator = keras.random.SeedGenerator(seed)

        def call(self, images, training=True):
            if not training:
                return images
            n = tf.shape(images)[0]
            u = keras.random.uniform((4, n), seed=self.generator)
            area = self.scale[0] + (self.scale[1] - self.scale[0]) * u[0]
            log_r = np.log(self.ratio[0]) + (np.log(self.ratio[1]) - np.log(self.ratio[0])) * u[1]
            r = tf.exp(log_r)
            w = tf.minimum(tf.sqrt(area * r), 1.0)  # fractions of the width and height
            h = tf.minimum(tf.sqrt(area / r), 1.0)
            x0, y0 = (1.0 - w) * u[2], (1.0 - h) * u[3]
            boxes = tf.stack([y0, x0, y0 + h, x0 + w], axis=1)
            return tf.image.crop_and_resize(
                images, boxes, tf.range(n), self.size, method="bilinear"
            )

        def compute_output_shape(self, input_shape):
            return (input_shape[0], *self.size, input_shape[-1])

        def get_config(self):
            return {
                **super().get_config(),
                "size": self.size,
                "scale": self.scale,
                "ratio": self.ratio,
                "seed": self.seed,
            }

    return RandomResizedCrop


def RandomResizedCrop(**kwargs):  # noqa: N802 - a layer factory (TensorFlow imported lazily)
    return _random_resized_crop_class()(**kwargs)


def augmentation(seed: int = SEED):
    """The homework's augmentation as Keras preprocessing layers (applied in tf.data on
    normalised batches): rotation up to 50 degrees (nearest, like torchvision; corners filled
    with 0 = the ImageNet mean colour), random resized crop to 200x200, horizontal flip."""
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomRotation(
                ROTATION_DEGREES / 360,
                fill_mode="constant",
                fill_value=0.0,
                interpolation="nearest",
                seed=seed,
            ),
            RandomResizedCrop(seed=seed + 1),
            keras.layers.RandomFlip("horizontal", seed=seed + 2),
        ],
        name="augmentation",
    )


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    shuffle: bool,
    augment: bool = False,
    batch_size: int = BATCH_SIZE,
    seed: int = SEED,
):
    """tf.data pipeline over in-memory arrays: reshuffled every epoch (seeded), batched,
    augmented per batch when asked (sequentially, so the random draws are reproducible)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y.reshape(-1, 1)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment:
        aug = augmentation(seed)
        ds = ds.map(lambda a, b: (aug(a, training=True), b))
    return ds.prefetch(2)


def configure_tf(threads: int | None = None, deterministic: bool = True) -> None:
    """Seed everything (42) and make ops deterministic; optionally pin the thread pools."""
    import keras
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process
            pass
    keras.utils.set_random_seed(SEED)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


# ---------------------------------------------------------------- the model folder

NAME, MODEL_FILE, HISTORY_FILE = "hair-keras", "hair-model.keras", "history.json"
# The ONNX export (08-deep-learning/export_keras.py): what 09-serverless copies into its image.
ONNX_NAME, ONNX_FILE = "hair-keras-onnx", "hair_classifier.onnx"
INPUT_NAME, OUTPUT_NAME = hair.ONNX_INPUT, hair.ONNX_OUTPUT


def onnx_interface() -> dict:
    """The ONNX export's interface (:func:`zoomcamp.hair.data.onnx_interface`) with the
    Keras track's nearest-neighbour resize."""
    return hair.onnx_interface("nearest")


def write_stand_in(out_dir: Path) -> Path:
    """A 3-weight ONNX model with the export's interface and metadata (``tiny_stand_in``):
    ``input`` [N,3,200,200] -> global average pool -> Gemm -> ``output`` [N,1], a logit. NOT
    the hair classifier: for tests, and for notebooks run where no model was trained."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.array([[2.0], [-1.0], [0.5]], dtype=np.float32), "w")
    b = numpy_helper.from_array(np.array([0.1], dtype=np.float32), "b")
    interface = onnx_interface()
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", [interface["input_name"]], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("Gemm", ["flat", "w", "b"], [interface["output_name"]]),
        ],
        "tiny_hair",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 200, 200])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ONNX_FILE
    with fileio.atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    artifacts.save(
        out_dir,
        name="hair-keras-onnx-tiny",
        files=[path.name],
        packages=("onnx",),
        tiny_stand_in=True,
        **interface,
    )
    return path


def tensorflow_distribution() -> str:
    """``tensorflow-cpu`` on Linux and Windows, ``tensorflow`` on macOS (pyproject.toml)."""
    try:
        importlib.metadata.version("tensorflow-cpu")
        return "tensorflow-cpu"
    except importlib.metadata.PackageNotFoundError:
        return "tensorflow"


def save_keras(model, path: Path) -> Path:
    """``model.save`` atomically (Keras insists on the .keras suffix, so via a temp folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".save-", dir=path.parent))
    try:
        model.save(tmpdir / path.name)
        os.replace(tmpdir / path.name, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path


def load_model(folder: Path | None = None):
    """(Keras model, metadata) of a verified model folder (default ``models/hair-keras/``)."""
    import keras

    folder = paths.model_dir(NAME) if folder is None else Path(folder)
    meta = artifacts.verify(folder)
    return keras.models.load_model(folder / MODEL_FILE, compile=False), meta
