"""The clothing lesson's data, for both frameworks: ``clothing-dataset-small`` (10 classes; train
3068 / validation 341 / test 372 images in ``<split>/<class>/`` folders), listed, digested and
decoded with PIL and NumPy only, so neither framework's code imports the other's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from zoomcamp import datasets, fileio, images
from zoomcamp.errors import ZoomcampError

DATASET = "clothing-small"
CLASSES = (
    "dress",
    "hat",
    "longsleeve",
    "outwear",
    "pants",
    "shirt",
    "shoes",
    "shorts",
    "skirt",
    "t-shirt",
)
SPLITS = ("train", "validation", "test")


def data_root() -> Path:
    """``data/clothing-small/clothing-dataset-small-master`` (fetched and verified on first use)."""
    return datasets.unpack(DATASET) / "clothing-dataset-small-master"


def list_split(root: Path, split: str, limit: int | None = None, seed: int = 42):
    """Sorted [(relative path, label)] of ``root/split/<class>/*``; ``limit`` keeps a seeded
    random subset (still sorted, so every class can appear)."""
    items = []
    for label, cls in enumerate(CLASSES):
        folder = Path(root) / split / cls
        if not folder.is_dir():
            raise ZoomcampError(f"missing folder {folder} (expected {root}/<split>/<class>)")
        items += [(f"{split}/{cls}/{p.name}", label) for p in sorted(folder.iterdir())]
    if limit is not None and limit < len(items):
        keep = np.random.default_rng(seed).permutation(len(items))[:limit]
        items = [items[i] for i in sorted(keep)]
    return items


def listing_digest(root: Path, items) -> str:
    """sha256 over each image's relative path, label and content digest."""
    h = hashlib.sha256()
    for rel, label in items:
        h.update(f"{rel}\t{label}\t{fileio.sha256_file(Path(root) / rel)}\n".encode())
    return h.hexdigest()


def decode(path: Path, size: int) -> np.ndarray:
    """An image file -> uint8 RGB (size, size, 3), resized bilinear as torchvision's
    ``Resize`` does on a PIL image."""
    with Image.open(path) as img:
        return np.asarray(images.to_rgb(img).resize((size, size), Image.BILINEAR), np.uint8)
