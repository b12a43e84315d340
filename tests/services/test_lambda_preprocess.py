"""09-serverless: ``preprocess.Preprocessing`` against a NumPy/Pillow reference written here,
and ``hair_lambda.session_options``.

The reference decodes with Pillow at full scale, converts to RGB (16-bit grayscale scaled to
8 bits first), resizes, and normalises in float32 as 08 does: without ``jpeg_draft`` the
function's tensor must equal it bit for bit, for every mode. With ``jpeg_draft``, a JPEG at
least twice the input size is decoded at the DCT scale computed here (1/2, 1/4, 1/8) and
resized from the original's extent in it: equal to that reference bit for bit, close to the
full-scale one, and identical to it for a JPEG smaller than twice the input.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import service_files
from PIL import Image

hl = service_files.load("09-serverless", "hair_lambda")
pre = sys.modules[hl.Preprocessing.__module__]  # preprocess.py, as the handler imports it

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
SIZE = (200, 200)


def meta(resample="bilinear", size=SIZE, **extra):
    record = {
        "size": list(size),
        "resample": resample,
        "scale": 1 / 255,
        "mean": MEAN.tolist(),
        "std": STD.tolist(),
        "mode": "RGB",
        "layout": "NCHW",
        **extra,
    }
    return {"preprocessing": record}


FILTERS = {"bilinear": Image.Resampling.BILINEAR, "nearest": Image.Resampling.NEAREST}


def reference_rgb(data: bytes) -> Image.Image:
    """Full-scale decode, first frame, RGB; I;16/I scaled to 0..255 with rounding."""
    img = Image.open(io.BytesIO(data))
    img.seek(0)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        v = np.asarray(img).astype(np.int64)
        img = Image.fromarray(((v * 255 + 32767) // 65535).astype(np.uint8))
    return img.convert("RGB")


def normalised(rgb: Image.Image) -> np.ndarray:
    x = np.asarray(rgb).astype(np.float32) / np.float32(255)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(np.moveaxis(x, -1, 0)[None])


def reference(data: bytes, resample="bilinear", size=SIZE) -> np.ndarray:
    return normalised(reference_rgb(data).resize(size, FILTERS[resample]))


def draft_reference(data: bytes, size=SIZE) -> np.ndarray:
    """The JPEG decoded at the largest DCT scale 1/s (s in 8, 4, 2) that keeps both sides at
    least the input's, then resized from the original's extent (w/s, h/s) in it."""
    img = Image.open(io.BytesIO(data))
    w, h = img.size
    s = next((s for s in (8, 4, 2) if w // s >= size[0] and h // s >= size[1]), 1)
    if s == 1:
        return reference(data, size=size)
    img.draft(img.mode, (w // s, h // s))
    assert img.size == ((w + s - 1) // s, (h + s - 1) // s)  # the decoder took scale 1/s
    rgb = img.convert("RGB")
    return normalised(rgb.resize(size, Image.Resampling.BILINEAR, box=(0, 0, w / s, h / s)))


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def photo(w: int, h: int, seed: int = 0) -> Image.Image:
    """A smooth image with some texture, as photos are (pure noise is not JPEG's case)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    base = np.stack([np.sin(6 * xx + c) * np.cos(4 * yy - c) for c in range(3)], -1)
    noise = rng.normal(0, 0.05, (h, w, 3))
    return Image.fromarray(np.clip((base * 0.4 + 0.5 + noise) * 255, 0, 255).astype(np.uint8))


def run(data: bytes, draft: bool, **kw) -> np.ndarray:
    view = pre.Preprocessing(meta(**kw), draft=draft)(pre.open_image(data))
    x = np.asarray(view)  # the function's float32 memoryview, read as NumPy reads it
    assert x.dtype == np.float32 and x.flags["C_CONTIGUOUS"] and view.shape == x.shape
    return x


# ---------------------------------------------------------------- no departure: bit for bit
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I"]


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_every_16_bit_value_is_rounded_as_08_rounds_it(mode):
    """All 65536 grey levels at once (a 256 x 256 image), against NumPy's integer formula;
    a 32-bit image with a value outside 0..65535 is refused."""
    v = np.arange(65536, dtype=np.int64).reshape(256, 256)
    dtype = {"I;16": "<u2", "I;16B": ">u2", "I": "<i4"}[mode]
    img = Image.frombytes(mode, (256, 256), v.astype(dtype).tobytes())
    got = np.asarray(pre.to_rgb(img))
    want = ((v * 255 + 32767) // 65535).astype(np.uint8)
    assert got.shape == (256, 256, 3) and all(np.array_equal(got[..., c], want) for c in range(3))
    if mode == "I":
        out_of_range = Image.frombytes("I", (2, 1), np.array([5, 65536], "<i4").tobytes())
        with pytest.raises(pre.BadInput, match="outside 0..65535"):
            pre.to_rgb(out_of_range)


@pytest.mark.parametrize("draft", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_every_png_mode_equals_the_reference(mode, draft):
    rgb = photo(130, 90, seed=1)
    if mode in ("I;16", "I"):
        v = (np.asarray(rgb.convert("L")).astype(np.int32) * 257).astype(np.uint16)
        img = Image.fromarray(v if mode == "I;16" else v.astype(np.int32))  # I;16 or I
        fmt = "PNG" if mode == "I;16" else "TIFF"  # PNG cannot hold 32-bit I
    else:
        img = rgb.convert(mode)
        fmt = "TIFF" if mode == "CMYK" else "PNG"  # PNG cannot hold CMYK
    data = encoded(img, fmt)
    if fmt == "TIFF":  # not a format the function accepts: give it the opened image
        x = np.asarray(pre.Preprocessing(meta(), draft=draft)(Image.open(io.BytesIO(data))))
    else:
        x = run(data, draft)
    assert x.shape == (1, 3, 200, 200)
    np.testing.assert_array_equal(x, reference(data))


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "BMP"])
def test_other_formats_equal_the_reference_with_draft_on(fmt):
    frames = [photo(150, 260, seed=s).convert("P" if fmt == "GIF" else "RGB") for s in (2, 3)]
    kw = {"save_all": True, "append_images": frames[1:]} if fmt == "GIF" else {}
    if fmt == "WEBP":
        kw = {"lossless": True}
    data = encoded(frames[0], fmt, **kw)
    np.testing.assert_array_equal(run(data, True), reference(data))


@pytest.mark.parametrize("draft", [False, True])
@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_small_jpegs_are_never_drafted(mode, draft):
    """Under twice the input size (399 px for 200): full-scale decode, draft or not."""
    data = encoded(photo(399, 520, seed=4).convert(mode), "JPEG", quality=90)
    np.testing.assert_array_equal(run(data, draft), reference(data))


@pytest.mark.parametrize("size", [(500, 500), (640, 400), (1601, 901), (3000, 1700)])
def test_large_jpegs_without_draft_equal_the_full_decode(size):
    data = encoded(photo(*size, seed=5), "JPEG", quality=85)
    np.testing.assert_array_equal(run(data, False), reference(data))


@pytest.mark.parametrize("resample", ["bilinear", "nearest"])
def test_other_sizes_and_resampling(resample):
    data = encoded(photo(300, 170, seed=6), "PNG")
    x = run(data, True, resample=resample, size=(64, 32))
    assert x.shape == (1, 3, 32, 64)
    np.testing.assert_array_equal(x, reference(data, resample, (64, 32)))


# ---------------------------------------------------------------- the draft departure
@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
@pytest.mark.parametrize("size", [(400, 400), (500, 500), (640, 400), (1601, 901), (3000, 1700)])
def test_large_jpegs_with_draft_equal_the_reduced_decode(size, mode):
    data = encoded(photo(*size, seed=7).convert(mode), "JPEG", quality=85)
    x = run(data, True)
    np.testing.assert_array_equal(x, draft_reference(data))
    full = reference(data)
    assert not np.array_equal(x, full)  # it did decode at reduced scale
    # ...and stays close to the full decode (0..255 units; this image is noisier than a
    # photo: the hair test images differ by 0.4 on average, README)
    diff = np.abs(x - full) * (STD[:, None, None] * 255)
    assert diff.mean() < 4 and diff.max() < 64


def test_draft_comes_from_the_metadata_unless_overridden():
    data = encoded(photo(800, 800, seed=8), "JPEG")
    on = pre.Preprocessing(meta(jpeg_draft=True))
    off = pre.Preprocessing(meta())
    assert on.draft and not off.draft and not pre.Preprocessing(meta(jpeg_draft=True), False).draft
    np.testing.assert_array_equal(on(pre.open_image(data)), draft_reference(data))
    np.testing.assert_array_equal(off(pre.open_image(data)), reference(data))
    with pytest.raises(ValueError, match="jpeg_draft"):
        pre.Preprocessing(meta(jpeg_draft="yes"))


def test_an_already_decoded_jpeg_is_not_decoded_again():
    """A loaded image (e.g. from the notebook) cannot be drafted: full-scale result."""
    data = encoded(photo(800, 600, seed=9), "JPEG")
    img = Image.open(io.BytesIO(data))
    img.load()
    np.testing.assert_array_equal(pre.Preprocessing(meta(), draft=True)(img), reference(data))


@pytest.mark.parametrize("draft", [False, True])
def test_a_corrupt_jpeg_body_is_bad_input(draft):
    data = encoded(photo(600, 600, seed=10), "JPEG")
    img = pre.open_image(data[: len(data) // 3])  # the header is fine: decoded later
    with pytest.raises(pre.BadInput, match="not a decodable"):
        pre.Preprocessing(meta(), draft=draft)(img)


# ---------------------------------------------------------------- session options
@pytest.mark.parametrize(
    "offline, level",
    [(None, "ORT_ENABLE_ALL"), ("basic", "ORT_ENABLE_ALL"), ("all", "ORT_DISABLE_ALL")],
)
def test_session_settings_follow_the_offline_optimisation(offline, level, monkeypatch):
    monkeypatch.delenv("ORT_THREADS", raising=False)
    settings = hl.session_settings({"optimization": {"ort_offline_level": offline}})
    assert settings["graph_optimization_level"] == level
    assert (settings["intra_op_num_threads"], settings["inter_op_num_threads"]) == (1, 1)
    assert settings["config"] == {"session.intra_op.allow_spinning": "0"}
    assert hl.session_settings({})["graph_optimization_level"] == "ORT_ENABLE_ALL"
    with pytest.raises(ValueError, match="ort_offline_level"):
        hl.session_settings({"optimization": {"ort_offline_level": "max"}})


def test_session_threads_from_the_environment(monkeypatch):
    monkeypatch.setenv("ORT_THREADS", "0")
    settings = hl.session_settings({})
    assert (settings["intra_op_num_threads"], settings["inter_op_num_threads"]) == (0, 0)
    monkeypatch.setenv("ORT_THREADS", "3")
    assert hl.session_settings({})["intra_op_num_threads"] == 3


def test_an_offline_optimised_model_answers_like_the_original(tmp_path, monkeypatch):
    """The tiny model saved at level "all" by ONNX Runtime and served without re-optimising
    gives the logits of the original."""
    import json

    import onnxruntime as ort

    build = service_files.load("09-serverless", "build")
    onnx_path = build.write_tiny_model(tmp_path / "m")
    folder = onnx_path.parent
    opts = ort.SessionOptions()
    opts.optimized_model_filepath = str(tmp_path / "opt.onnx")
    ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((2, 3, 200, 200)).astype(np.float32)
    want = hl.HairClassifier(onnx_path).logits(x)
    onnx_path.write_bytes((tmp_path / "opt.onnx").read_bytes())
    md = json.loads((folder / "metadata.json").read_text())
    md["files"][onnx_path.name] = hl._sha256(onnx_path)
    md["optimization"] = {"ort_offline_level": "all"}
    (folder / "metadata.json").write_text(json.dumps(md))
    np.testing.assert_allclose(hl.HairClassifier(onnx_path).logits(x), want, rtol=0, atol=1e-6)
