"""Image bytes -> Pillow image -> the model's input: 08's preprocessing, read from the metadata.

Library file of ``lambda_function.py`` (copied next to it into the image); Pillow and NumPy
only. ``Preprocessing`` repeats ``zoomcamp.hair.data`` step for step (resize with the
export's resampling, /255, ImageNet mean/std) and puts the channels first (NCHW), with every
constant taken from the ``preprocessing`` record of the model's ``metadata.json``.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
from fetch import MAX_PIXELS, BadInput
from PIL import Image, UnidentifiedImageError

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
# Pillow raises DecompressionBombError above 2x this and warns above it; the warning is
# turned into an error below, and the header size is checked before decoding anyway.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
RESAMPLING = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def open_image(data: bytes) -> Image.Image:
    """Decode bytes into a Pillow image, refusing non-images and decompression bombs."""
    if not data:
        raise BadInput("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = img.size
            if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
                raise BadInput(f"image dimensions {width}x{height} exceed {MAX_PIXELS} pixels")
            img.seek(0)  # first frame of an animated GIF/WebP, as 08 does
            img.load()
            return img
    except BadInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's message quotes its own threshold (2x ours for the error): quote ours
        raise BadInput(f"image exceeds the limit of {MAX_PIXELS} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadInput(f"not a decodable image ({type(exc).__name__})") from None


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB with 16-bit grayscale scaled to 8 bits (``convert`` alone clips it to white), as
    08's loader does (``zoomcamp.images``); float images are refused."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(img, dtype=np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise BadInput(f"a {img.mode} image with values outside 0..65535")
        img = Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8), "L")
    elif img.mode == "F":
        raise BadInput("a floating-point (mode F) image is not supported")
    return img.convert("RGB")


class Preprocessing:
    """08's preprocessing with channels first, configured by the metadata's ``preprocessing``:
    ``resample`` is "bilinear" (PyTorch export, as torchvision's ``Resize``) or "nearest"
    (Keras export)."""

    def __init__(self, meta: dict[str, Any]) -> None:
        pre = meta.get("preprocessing")
        if not isinstance(pre, dict):
            raise ValueError("the model metadata has no 'preprocessing'")
        try:
            width, height = (int(v) for v in pre["size"])
            self.size = (width, height)
            self.resample = RESAMPLING[pre["resample"]]
            # 08 divides by 255; dividing by the float32 reciprocal of the scale does the same
            self.divisor = np.float32(1.0 / float(pre["scale"]))
            self.mean = np.array(pre["mean"], dtype=np.float32).reshape(3)
            self.std = np.array(pre["std"], dtype=np.float32).reshape(3)
            fixed = (pre["mode"], pre["layout"], pre.get("first_frame", True))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad 'preprocessing' in the model metadata: {exc!r}") from None
        if fixed != ("RGB", "NCHW", True):
            raise ValueError(f"unsupported preprocessing (mode, layout, first frame) {fixed}")

    def __call__(self, img: Image.Image) -> np.ndarray:
        """Pillow image -> float32 (1, 3, height, width)."""
        img = to_rgb(img).resize(self.size, self.resample)
        x = np.asarray(img, dtype=np.float32) / self.divisor
        x = (x - self.mean) / self.std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
