"""Any Pillow image as 8-bit RGB, correctly scaled: ``Image.convert("RGB")`` clips the
16-bit modes (a 16-bit grayscale PNG comes out all white), so they are scaled first."""

from __future__ import annotations

import numpy as np
from PIL import Image

SIXTEEN_BIT = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def to_rgb(img: Image.Image) -> Image.Image:
    """``img`` as RGB: 16-bit grayscale scaled to 8 bits (÷ 257, so 65535 → 255), 32-bit
    integer images likewise when their values fit 16 bits; float images are refused
    (``ValueError``), as they have no one meaning for pixel values."""
    if img.mode in SIXTEEN_BIT or img.mode == "I":
        values = np.asarray(img, dtype=np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ValueError(f"a {img.mode} image with values outside 0..65535")
        img = Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8), "L")
    elif img.mode == "F":
        raise ValueError("a floating-point (mode F) image has no 8-bit meaning")
    return img.convert("RGB")
