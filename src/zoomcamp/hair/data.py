"""Hair type (curly vs straight): the images of module 08's 2025 homework, for both tracks
(PyTorch: :mod:`zoomcamp.hair.train_torch`; Keras: :mod:`zoomcamp.hair.model_keras`).

Preprocessing lives in the input pipeline, in PIL + NumPy, not inside the model; the ONNX
export records it (:func:`preprocessing`) in its metadata, from which 09-serverless reads it::

    Image.open -> first frame -> .convert("RGB") -> .resize((200, 200), NEAREST | BILINEAR)
    -> float32 / 255 -> (x - MEAN) / STD                      (ImageNet mean and std)

(NEAREST for the Keras track, BILINEAR for the PyTorch track of :mod:`zoomcamp.hair.model_torch`,
as torchvision's ``Resize`` on a PIL image.) Every image is decoded once into arrays, cached
as a ``.npz`` under ``data/hair-type-cache/`` keyed by a digest of the file listing (paths,
sizes and contents) and the resampling. Classes sorted
alphabetically: curly = 0, straight = 1; the model's single logit -> sigmoid = P(straight).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from zoomcamp import datasets, fileio, images, paths
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
SUBSET_SEED = 42  # which images a --limit run takes


# ---------------------------------------------------------------- images and arrays

RESAMPLING = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR}


def preprocessing(resample: str = "nearest") -> dict:
    """What :func:`load_image` does, as data: the ONNX export writes it into its metadata,
    and 09-serverless's handler repeats it from there (no constant typed twice). The
    PyTorch track resizes bilinearly (``resample="bilinear"``), the Keras track nearest."""
    if resample not in RESAMPLING:
        raise ZoomcampError(f"unknown resample {resample!r} (one of {', '.join(RESAMPLING)})")
    return {
        "mode": "RGB",
        "first_frame": True,
        "size": list(IMAGE_SIZE),
        "resample": resample,
        "scale": 1 / 255,
        "mean": MEAN_VALUES,
        "std": STD_VALUES,
    }


ONNX_INPUT, ONNX_OUTPUT = "input", "output"  # the course's graph names


def onnx_interface(resample: str) -> dict:
    """What an ONNX export's consumer (09) must know, written into its metadata: graph names
    and shapes (channels first, like the course's PyTorch model), the output's meaning, the
    classes and the preprocessing with the track's resize."""
    return {
        "input_name": ONNX_INPUT,
        "output_name": ONNX_OUTPUT,
        "input_shape": [None, 3, IMAGE_SIZE[1], IMAGE_SIZE[0]],
        "output_shape": [None, 1],
        "output": "logit",
        "classes": list(CLASSES),
        "positive_class": CLASSES[1],
        "preprocessing": {**preprocessing(resample), "layout": "NCHW"},
    }


def normalise(pixels: np.ndarray) -> np.ndarray:
    """uint8 (or 0..255) RGB pixels -> float32 scaled to [0, 1] and ImageNet-normalised."""
    x = np.asarray(pixels, dtype=np.float32) / 255.0
    return (x - MEAN) / STD


def decode_pixels(source: str | Path | Image.Image, resample: str = "nearest") -> np.ndarray:
    """An image file (or PIL image) -> uint8 RGB array (200, 200, 3): first frame, resized
    with ``resample`` (Keras track: nearest; PyTorch track: bilinear, which is what
    torchvision's ``Resize`` does to a PIL image)."""
    img = source if isinstance(source, Image.Image) else Image.open(source)
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animated gif: the first frame
        rgb = images.to_rgb(img).resize(IMAGE_SIZE, RESAMPLING[resample])
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
            h.update(
                f"{rel}\t{label}\t{path.stat().st_size}\t{fileio.sha256_file(path)}\n".encode()
            )
    return h.hexdigest()


@dataclass
class HairData:
    x_train: np.ndarray  # float32 (n, 200, 200, 3), normalised (or the uint8 pixels)
    y_train: np.ndarray  # float32 (n,), 1.0 = straight
    x_test: np.ndarray
    y_test: np.ndarray
    digest: str  # the listing digest of the whole dataset
    skipped: list[str] = field(default_factory=list)
    names_train: list[str] = field(default_factory=list)
    names_test: list[str] = field(default_factory=list)


def _decode_all(
    root: Path, items: Sequence[tuple[str, int]], resample: str = "nearest"
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    from tqdm import tqdm  # plain bars: no ipywidgets in the notebooks

    pixels, labels, names, skipped = [], [], [], []
    for rel, label in tqdm(items, desc="decoding images", unit="img", leave=False):
        try:
            pixels.append(decode_pixels(root / rel, resample))
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
    keep = np.random.default_rng(SUBSET_SEED).permutation(len(items))[:limit]
    return [items[i] for i in sorted(keep)]


def load_data(
    root: Path | None = None,
    limit: int | None = None,
    cache: Path | None = None,
    resample: str = "nearest",
    normalised: bool = True,
) -> HairData:
    """Train and test arrays. The whole set is decoded once and cached as uint8 pixels in
    ``<cache>/<digest>[-<resample>].npz`` (rebuilt when the listing digest changes);
    ``limit`` keeps a seeded random subset of at most that many images per split (decoded
    directly when no cache exists yet, so quick runs stay quick). ``normalised=False``
    keeps the uint8 pixels (the PyTorch track normalises as a transform)."""
    if resample not in RESAMPLING:
        raise ZoomcampError(f"unknown resample {resample!r} (one of {', '.join(RESAMPLING)})")
    root = data_root() if root is None else Path(root)
    cache = cache_dir() if cache is None else Path(cache)
    listing = list_images(root)
    digest = listing_digest(root, listing)
    suffix = "" if resample == "nearest" else f"-{resample}"
    cache_file = cache / f"{digest[:20]}{suffix}.npz"
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
            x, y, names, bad = _decode_all(root, listing[split], resample)
            arrays[split] = (x, y, names)
            skipped += bad
        cache.mkdir(parents=True, exist_ok=True)
        for old in cache.glob("*.npz"):  # one dataset version at a time
            if not old.name.startswith(digest[:20]):
                old.unlink()
        with fileio.atomic_path(cache_file) as tmp, open(tmp, "wb") as fh:
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
            x, y, names, bad = _decode_all(root, _limited(listing[split], limit), resample)
            arrays[split] = (x, y, names)
            skipped += bad
    if limit is not None and cache_file.is_file():
        for split in SPLITS:
            x, y, names = arrays[split]
            keep = _limited([(n, 0) for n in names], limit)
            idx = [names.index(n) for n, _ in keep]
            arrays[split] = (x[idx], y[idx], [names[i] for i in idx])
    scale = normalise if normalised else np.asarray
    return HairData(
        x_train=scale(arrays["train"][0]),
        y_train=arrays["train"][1],
        x_test=scale(arrays["test"][0]),
        y_test=arrays["test"][1],
        digest=digest,
        skipped=skipped,
        names_train=arrays["train"][2],
        names_test=arrays["test"][2],
    )
