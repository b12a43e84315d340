"""Image bytes -> Pillow image -> the model's input: 08's preprocessing, read from the metadata.

Library file of ``lambda_function.py`` (copied next to it into the image); Pillow and the
standard library only. ``Preprocessing`` repeats ``zoomcamp.hair.data`` step for step (resize
with the export's resampling, /255, ImageNet mean/std, in float32) and puts the channels
first (NCHW), with every constant taken from the ``preprocessing`` record of the model's
``metadata.json``; the input comes back as a float32 ``memoryview`` of shape (1, 3, H, W),
which ``np.asarray`` reads without a copy. With
``jpeg_draft`` in that record, a JPEG at least twice the input size is decoded at a reduced
DCT scale first (README, "Performance": what it costs and buys).
"""

from __future__ import annotations

import contextlib
import functools
import io
import struct
import warnings
from collections.abc import Iterator
from typing import Any

from fetch import MAX_PIXELS, BadInput
from PIL import Image, UnidentifiedImageError

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
# Pillow raises DecompressionBombError above 2x this and warns above it; the warning is
# turned into an error below, and the header size is checked before decoding anyway.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
RESAMPLING = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


@functools.cache
def sixteen_to_eight() -> list[int]:
    """16-bit grayscale -> 8 bits as 08's loader rounds it, (v * 255 + 32767) // 65535, for
    every v: made on the first 16-bit image (5 ms of the cold start otherwise)."""
    return [(v * 255 + 32767) // 65535 for v in range(65536)]


@contextlib.contextmanager
def decoding() -> Iterator[None]:
    """Pillow's errors while opening or decoding, as the one-line ``BadInput`` they are."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except BadInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's message quotes its own threshold (2x ours for the error): quote ours
        raise BadInput(f"image exceeds the limit of {MAX_PIXELS} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadInput(f"not a decodable image ({type(exc).__name__})") from None


def open_image(data: bytes) -> Image.Image:
    """Decode bytes into a Pillow image, refusing non-images and decompression bombs.

    A plain JPEG is left undecoded (header read and checked): ``Preprocessing`` decodes it,
    at a reduced scale when configured, and answers a corrupt body with ``BadInput`` too."""
    if not data:
        raise BadInput("empty image")
    with decoding():
        img = Image.open(io.BytesIO(data), formats=FORMATS)
        width, height = img.size
        if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
            raise BadInput(f"image dimensions {width}x{height} exceed {MAX_PIXELS} pixels")
        img.seek(0)  # first frame of an animated GIF/WebP, as 08 does
        if not _draftable(img):
            img.load()
        return img


def _draftable(img: Image.Image) -> bool:
    """A baseline or progressive JPEG not decoded yet: one tile, which ``draft`` can scale."""
    return img.format == "JPEG" and len(getattr(img, "tile", ())) == 1


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB with 16-bit grayscale scaled to 8 bits (``convert`` alone clips it to white), as
    08's loader does (``zoomcamp.images``); float images are refused."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = img.convert("I")
        low, high = values.getextrema()
        if low < 0 or high > 65535:
            raise BadInput(f"a {img.mode} image with values outside 0..65535")
        img = values.point(sixteen_to_eight(), "L")
    elif img.mode == "F":
        raise BadInput("a floating-point (mode F) image is not supported")
    return img.convert("RGB")


class Preprocessing:
    """08's preprocessing with channels first, configured by the metadata's ``preprocessing``:
    ``resample`` is "bilinear" (PyTorch export, as torchvision's ``Resize``) or "nearest"
    (Keras export); ``jpeg_draft`` (optional, false unless the record says true, or ``draft``
    says otherwise) lets a large JPEG be decoded at 1/2, 1/4 or 1/8 scale before the resize."""

    def __init__(self, meta: dict[str, Any], draft: bool | None = None) -> None:
        pre = meta.get("preprocessing")
        if not isinstance(pre, dict):
            raise ValueError("the model metadata has no 'preprocessing'")
        try:
            width, height = (int(v) for v in pre["size"])
            self.size = (width, height)
            self.resample = RESAMPLING[pre["resample"]]
            # 08 divides by 255 in float32; so does __call__, with the float32 of 1/scale
            self.divisor = float32(1.0 / float(pre["scale"]))
            self.mean = [float32(float(v)) for v in pre["mean"]]
            self.std = [float32(float(v)) for v in pre["std"]]
            if len(self.mean) != 3 or len(self.std) != 3:
                raise ValueError("mean and std need three values, one per channel")
            fixed = (pre["mode"], pre["layout"], pre.get("first_frame", True))
            jpeg_draft = pre.get("jpeg_draft", False)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad 'preprocessing' in the model metadata: {exc!r}") from None
        if fixed != ("RGB", "NCHW", True):
            raise ValueError(f"unsupported preprocessing (mode, layout, first frame) {fixed}")
        if not isinstance(jpeg_draft, bool):
            raise ValueError(
                f"bad 'preprocessing' in the model metadata: jpeg_draft {jpeg_draft!r}"
            )
        self.draft = jpeg_draft if draft is None else bool(draft)
        self.tables = [
            channel_table(self.divisor, m, s) for m, s in zip(self.mean, self.std, strict=True)
        ]

    def resized(self, img: Image.Image) -> Image.Image:
        """The RGB image at the input size: decoded (at reduced scale when allowed), converted
        as 08 converts, resized with the metadata's resampling."""
        box = None
        if _draftable(img):
            with decoding():
                if self.draft:
                    # DCT scale 1/2, 1/4 or 1/8 while the image stays >= the input size;
                    # ``box`` is the original image's extent in the reduced one
                    drafted = img.draft(img.mode, self.size)
                    box = drafted[1] if drafted else None
                img.load()
        if img.mode != "RGB":  # an RGB image needs no conversion copy
            img = to_rgb(img)
        return img.resize(self.size, self.resample, box=box)

    def __call__(self, img: Image.Image) -> memoryview:
        """Pillow image -> float32 (1, 3, height, width)."""
        return self.normalise(self.resized(img))

    def normalise(self, rgb: Image.Image) -> memoryview:
        """The resized RGB image -> float32 (1, 3, height, width). A channel has only 256
        possible values, so Pillow looks each pixel's float32 up in the channel's table."""
        width, height = rgb.size
        bands = zip(rgb.split(), self.tables, strict=True)
        planes = (band.point(table, "F").tobytes() for band, table in bands)
        return memoryview(bytearray().join(planes)).cast("f", (1, 3, height, width))


def float32(x: float) -> float:
    """``x`` rounded to float32. An operation on float32 values done in float64 and rounded
    so equals the float32 operation (float64 has more than 2 x 24 + 2 bits of precision)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def channel_table(divisor: float, mean: float, std: float) -> list[float]:
    """08's float32 ``(v / divisor - mean) / std`` for each pixel value v, rounded as 08's
    float32 operations round."""
    return [float32(float32(float32(v / divisor) - mean) / std) for v in range(256)]
