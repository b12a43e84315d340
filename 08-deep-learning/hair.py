"""Hair type (curly vs straight): the 2025 homework CNN in Keras 3, its data pipeline and history.

Preprocessing lives in the input pipeline, in PIL + NumPy, not inside the model (09-serverless
repeats exactly these steps before calling the ONNX model)::

    Image.open -> first frame -> .convert("RGB") -> .resize((200, 200), NEAREST)
    -> float32 / 255 -> (x - MEAN) / STD                      (ImageNet mean and std)

Every image is decoded once into arrays, cached as a ``.npz`` under
``data/hair-type-cache/`` keyed by a digest of the file listing (paths, sizes and contents),
and fed to Keras with ``tf.data.Dataset.from_tensor_slices``. Classes sorted
alphabetically: curly = 0, straight = 1; the model's single logit -> sigmoid = P(straight).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from zoomcamp import datasets, io, paths
from zoomcamp.errors import ZoomcampError

log = logging.getLogger("hair")

MODULE = "08-deep-learning"
DATASET = "hair-type"
IMAGE_SIZE = (200, 200)  # (width, height) for PIL; square, so the same as (height, width)
MEAN_VALUES, STD_VALUES = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
MEAN = np.array(MEAN_VALUES, dtype=np.float32)
STD = np.array(STD_VALUES, dtype=np.float32)
CLASSES = ("curly", "straight")  # sorted: curly = 0, straight = 1
SPLITS = ("train", "test")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"})

SEED = 42
BATCH_SIZE = 20
LEARNING_RATE = 0.002
MOMENTUM = 0.8
EPOCHS = 10  # plain
AUGMENTED_EPOCHS = 10
# ZOOMCAMP_FAST=1: notebooks and the homework test train this tiny setting instead.
FAST_LIMIT, FAST_EPOCHS, FAST_AUGMENTED_EPOCHS = 60, 1, 1
# Augmentation (the homework's torchvision transforms)
ROTATION_DEGREES = 50
CROP_SCALE = (0.9, 1.0)
CROP_RATIO = (0.9, 1.1)


def fast_mode() -> bool:
    return os.environ.get("ZOOMCAMP_FAST", "") not in ("", "0")


# ---------------------------------------------------------------- images and arrays


def normalise(pixels: np.ndarray) -> np.ndarray:
    """uint8 (or 0..255) RGB pixels -> float32 scaled to [0, 1] and ImageNet-normalised."""
    x = np.asarray(pixels, dtype=np.float32) / 255.0
    return (x - MEAN) / STD


def decode_pixels(source: str | Path | Image.Image) -> np.ndarray:
    """An image file (or PIL image) -> uint8 RGB array (200, 200, 3): first frame, NEAREST."""
    img = source if isinstance(source, Image.Image) else Image.open(source)
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animated gif: the first frame
        rgb = img.convert("RGB").resize(IMAGE_SIZE, Image.NEAREST)
        return np.asarray(rgb, dtype=np.uint8)
    finally:
        if img is not source:
            img.close()


def load_image(source: str | Path | Image.Image) -> np.ndarray:
    """One image as the model's input: float32 (200, 200, 3), ImageNet-normalised."""
    return normalise(decode_pixels(source))


def data_root() -> Path:
    """``data/hair-type/data`` (fetched, unpacked and verified on first use)."""
    return datasets.unpack(DATASET) / "data"


def list_images(root: Path) -> dict[str, list[tuple[str, int]]]:
    """split -> sorted [(relative path, label)] of every image file under root/split/class."""
    out: dict[str, list[tuple[str, int]]] = {}
    for split in SPLITS:
        items = []
        for label, cls in enumerate(CLASSES):
            folder = root / split / cls
            if not folder.is_dir():
                raise ZoomcampError(f"missing folder {folder} (expected {root}/<split>/<class>)")
            items += [
                (f"{split}/{cls}/{p.name}", label)
                for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            ]
        out[split] = items
    return out


def listing_digest(root: Path, listing: dict[str, list[tuple[str, int]]]) -> str:
    """sha256 over every image's relative path, size and content digest: a changed,
    added or removed file changes it (and so rebuilds the array cache)."""
    h = hashlib.sha256()
    for split in SPLITS:
        for rel, label in listing[split]:
            path = root / rel
            h.update(f"{rel}\t{label}\t{path.stat().st_size}\t{io.sha256_file(path)}\n".encode())
    return h.hexdigest()


@dataclass
class HairData:
    x_train: np.ndarray  # float32 (n, 200, 200, 3), normalised
    y_train: np.ndarray  # float32 (n,), 1.0 = straight
    x_test: np.ndarray
    y_test: np.ndarray
    digest: str  # the listing digest of the whole dataset
    skipped: list[str] = field(default_factory=list)
    names_train: list[str] = field(default_factory=list)
    names_test: list[str] = field(default_factory=list)


def _decode_all(
    root: Path, items: Sequence[tuple[str, int]]
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    from tqdm.auto import tqdm

    pixels, labels, names, skipped = [], [], [], []
    for rel, label in tqdm(items, desc="decoding images", unit="img", leave=False):
        try:
            pixels.append(decode_pixels(root / rel))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            log.warning("skipping %s: cannot decode (%s)", rel, exc)
            skipped.append(rel)
            continue
        labels.append(label)
        names.append(rel)
    arr = np.stack(pixels) if pixels else np.zeros((0, *IMAGE_SIZE, 3), np.uint8)
    return arr, np.asarray(labels, np.float32), names, skipped


def cache_dir() -> Path:
    return paths.data_dir() / "hair-type-cache"


def _limited(items: list[tuple[str, int]], limit: int | None) -> list[tuple[str, int]]:
    if limit is None or limit >= len(items):
        return items
    keep = np.random.default_rng(SEED).permutation(len(items))[:limit]
    return [items[i] for i in sorted(keep)]


def load_data(
    root: Path | None = None, limit: int | None = None, cache: Path | None = None
) -> HairData:
    """Train and test arrays. The whole set is decoded once and cached as uint8 pixels in
    ``<cache>/<digest>.npz`` (rebuilt when the listing digest changes); ``limit`` keeps a
    seeded random subset of at most that many images per split (decoded directly when no
    cache exists yet, so quick runs stay quick)."""
    root = data_root() if root is None else Path(root)
    cache = cache_dir() if cache is None else Path(cache)
    listing = list_images(root)
    digest = listing_digest(root, listing)
    cache_file = cache / f"{digest[:20]}.npz"
    arrays: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
    skipped: list[str] = []
    if cache_file.is_file():
        with np.load(cache_file, allow_pickle=False) as z:
            if str(z["digest"]) != digest:
                raise ZoomcampError(f"{cache_file} does not match its name; delete it")
            skipped = [str(s) for s in z["skipped"]]
            for split in SPLITS:
                arrays[split] = (
                    z[f"x_{split}"],
                    z[f"y_{split}"],
                    [str(s) for s in z[f"names_{split}"]],
                )
        log.info("hair: arrays from cache %s", cache_file)
    elif limit is None:
        for split in SPLITS:
            x, y, names, bad = _decode_all(root, listing[split])
            arrays[split] = (x, y, names)
            skipped += bad
        cache.mkdir(parents=True, exist_ok=True)
        for old in cache.glob("*.npz"):  # one dataset version at a time
            old.unlink()
        with io.atomic_path(cache_file) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                digest=np.array(digest),
                skipped=np.array(skipped, dtype=str),
                **{
                    f"{k}_{s}": v
                    for s in SPLITS
                    for k, v in zip(
                        ("x", "y", "names"),
                        (arrays[s][0], arrays[s][1], np.array(arrays[s][2], dtype=str)),
                        strict=True,
                    )
                },
            )
        log.info(
            "hair: decoded %d images into %s", sum(len(a[1]) for a in arrays.values()), cache_file
        )
    else:
        for split in SPLITS:
            x, y, names, bad = _decode_all(root, _limited(listing[split], limit))
            arrays[split] = (x, y, names)
            skipped += bad
    if limit is not None and cache_file.is_file():
        for split in SPLITS:
            x, y, names = arrays[split]
            keep = _limited([(n, 0) for n in names], limit)
            idx = [names.index(n) for n, _ in keep]
            arrays[split] = (x[idx], y[idx], [names[i] for i in idx])
    return HairData(
        x_train=normalise(arrays["train"][0]),
        y_train=arrays["train"][1],
        x_test=normalise(arrays["test"][0]),
        y_test=arrays["test"][1],
        digest=digest,
        skipped=skipped,
        names_train=arrays["train"][2],
        names_test=arrays["test"][2],
    )


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


# ---------------------------------------------------------------- saving and loading


def run_dir(quick: bool = False) -> Path:
    """``models/hair`` for the full homework run, ``models/hair-quick`` for anything smaller
    (so a quick run never replaces the model 09-serverless exports)."""
    return paths.models_dir() / ("hair-quick" if quick else "hair")


def versions() -> dict[str, str]:
    import keras
    import PIL
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }


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


def load_model(path: Path):
    """Load a saved hair model, checking its metadata (file digest, Keras version)."""
    import keras

    path = Path(path)
    meta_path = path.with_suffix(".json")
    if not path.is_file():
        raise ZoomcampError(
            f"no model at {path}; train one: uv run python 08-deep-learning/train.py"
        )
    if not meta_path.is_file():
        raise ZoomcampError(f"{path} has no metadata {meta_path.name}; train it again")
    meta = json.loads(meta_path.read_text())
    if meta.get("keras_model_sha256") != io.sha256_file(path):
        raise ZoomcampError(f"{path} does not match its metadata (sha256); train it again")
    saved = meta.get("versions", {}).get("keras", "")
    if saved.split(".")[:2] != keras.__version__.split(".")[:2]:
        log.warning("%s was saved with Keras %s, loading with %s", path, saved, keras.__version__)
    return keras.models.load_model(path, compile=False), meta
