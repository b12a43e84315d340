"""``zoomcamp.images.to_rgb``: every Pillow mode becomes 8-bit RGB with the picture intact,
16-bit grayscale included (Pillow's own convert clips it to white: issue 18 #7)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zoomcamp import images
from zoomcamp.hair import data as hair

GRAY = np.random.default_rng(3).integers(0, 256, size=(30, 40), dtype=np.uint8)


def test_pillow_alone_clips_16_bit_grayscale():
    sixteen = Image.fromarray(GRAY.astype(np.uint16) * 257)
    assert (np.asarray(sixteen.convert("RGB")) >= 255).mean() > 0.9  # why to_rgb exists


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_16_bit_values_scale_to_the_8_bit_picture(mode):
    wide = GRAY.astype(np.uint16) * 257
    img = Image.fromarray(wide) if mode == "I;16" else Image.fromarray(wide.astype(np.int32), "I")
    assert img.mode == mode
    want = np.asarray(Image.fromarray(GRAY, "L").convert("RGB"))
    assert np.array_equal(np.asarray(images.to_rgb(img)), want)


def test_16_bit_rounds_to_the_nearest_level():
    img = Image.fromarray(np.array([[0, 128, 129, 65535]], np.uint16))
    assert np.asarray(images.to_rgb(img))[0, :, 0].tolist() == [0, 0, 1, 255]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "1"])
def test_8_bit_modes_are_what_convert_gives(mode):
    img = Image.fromarray(np.dstack([GRAY] * 3), "RGB").convert(mode)
    assert np.array_equal(np.asarray(images.to_rgb(img)), np.asarray(img.convert("RGB")))


def test_float_and_out_of_range_images_are_refused():
    with pytest.raises(ValueError, match="floating-point"):
        images.to_rgb(Image.fromarray(np.zeros((2, 2), np.float32), "F"))
    with pytest.raises(ValueError, match="outside 0..65535"):
        images.to_rgb(Image.fromarray(np.array([[70000]], np.int32), "I"))


def test_the_hair_loader_reads_a_16_bit_png_as_its_8_bit_picture(tmp_path):
    eight, sixteen = tmp_path / "8.png", tmp_path / "16.png"
    Image.fromarray(GRAY, "L").save(eight)
    Image.fromarray(GRAY.astype(np.uint16) * 257).save(sixteen)
    assert np.array_equal(hair.decode_pixels(sixteen), hair.decode_pixels(eight))
