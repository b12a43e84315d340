"""09-serverless: ``lambda_function`` in process, on a tiny ONNX model of the same interface.

Every bad-input path answers ``{"statusCode": 400, "error": ...}`` (never an exception).
URLs, downloads, inline limits and the address policy (``fetch.py``,
``address_policy.py``) are tested in ``test_lambda_fetch.py``, ``test_lambda_input.py`` and
``test_lambda_policy.py``.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import service_files
from lambda_events import answer, build, lf, load_handler, pre
from PIL import Image

from zoomcamp import datasets, paths

hl = service_files.load("09-serverless", "hair_lambda")

W, B = np.array([2.0, -1.0, 0.5]), 0.1  # the tiny model: logit = W . channel means + B


@pytest.fixture(scope="module")
def hair_images():
    root = datasets.unpack("hair-type") / "data" / "test"
    return (
        sorted((root / "curly").glob("*.jpg"))[:3] + sorted((root / "straight").glob("*.jpg"))[:3]
    )


@pytest.fixture(scope="module")
def jpeg_bytes(hair_images):
    return hair_images[0].read_bytes()


def png_bytes(size, mode="1"):
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="PNG")
    return buf.getvalue()


def expected(img_bytes):
    """Reference answer of the tiny model: computed here with NumPy from the pixels."""
    img = Image.open(io.BytesIO(img_bytes)).convert("RGB").resize((200, 200), Image.NEAREST)
    x = (np.asarray(img, dtype=np.float64) / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    logit = float(x.mean(axis=(0, 1)) @ W + B)
    return logit, 1.0 / (1.0 + np.exp(-logit))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_400(result, fragment=""):
    assert isinstance(result, dict) and result.get("statusCode") == 400, result
    assert fragment.lower() in result["error"].lower(), result
    json.dumps(result)


# ---------------------------------------------------------------- good answers
def test_inline_image_prediction_is_plain_json(jpeg_bytes):
    result = answer({"image_b64": b64(jpeg_bytes)})
    logit, prob = expected(jpeg_bytes)
    assert type(result["prediction"]) is float and type(result["logit"]) is float
    assert result["logit"] == pytest.approx(logit, abs=1e-5)
    assert result["prediction"] == pytest.approx(prob, abs=1e-6)
    assert result["label"] == ("straight" if prob >= 0.5 else "curly")
    assert result["probabilities"]["straight"] == pytest.approx(prob)
    assert json.loads(json.dumps(result)) == result


def test_api_gateway_event_gets_proxy_response(jpeg_bytes):
    event = {"body": json.dumps({"image_b64": b64(jpeg_bytes)}), "isBase64Encoded": False}
    result = answer(event)
    assert result["statusCode"] == 200 and result["headers"]["Content-Type"] == "application/json"
    assert json.loads(result["body"]) == answer({"image_b64": b64(jpeg_bytes)})
    encoded = {
        "body": b64(json.dumps({"image_b64": b64(jpeg_bytes)}).encode()),
        "isBase64Encoded": True,
    }
    assert answer(encoded) == result
    bad = answer({"body": "{not json"})
    assert bad["statusCode"] == 400 and "JSON" in json.loads(bad["body"])["error"]


def test_gif_uses_first_frame_and_png_rgba_is_converted():
    frames = [Image.new("RGB", (50, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    red = answer({"image_b64": b64(buf.getvalue())})
    buf2 = io.BytesIO()
    frames[0].save(buf2, format="PNG")
    assert red["logit"] == pytest.approx(
        answer({"image_b64": b64(buf2.getvalue())})["logit"], abs=1e-5
    )
    rgba = io.BytesIO()
    Image.new("RGBA", (30, 30), (10, 200, 30, 0)).save(rgba, format="PNG")
    assert "prediction" in answer({"image_b64": b64(rgba.getvalue())})


def _png(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return b64(buf.getvalue())


def test_a_16_bit_grayscale_png_scores_like_its_8_bit_picture():
    """Issue 18 #7: Pillow's convert("RGB") clips 16-bit grayscale to white; the handler
    scales it, so the same picture gives the same answer at either depth."""
    rng = np.random.default_rng(7)
    eight = rng.integers(0, 256, size=(60, 80), dtype=np.uint8)
    sixteen = Image.fromarray(eight.astype(np.uint16) * 257)  # mode I;16, same picture
    assert sixteen.mode == "I;16"
    want = answer({"image_b64": _png(Image.fromarray(eight, "L"))})
    got = answer({"image_b64": _png(sixteen)})
    assert got["logit"] == pytest.approx(want["logit"], abs=1e-5)
    white = answer({"image_b64": _png(Image.new("L", (60, 80), 255))})
    assert got["logit"] != pytest.approx(white["logit"], abs=1e-3)


def test_a_floating_point_image_is_refused_as_bad_input():
    # no accepted format stores mode F; the check stands behind the format list
    with pytest.raises(pre.BadInput, match="floating-point"):
        pre.to_rgb(Image.fromarray(np.zeros((20, 20), np.float32), "F"))


def test_lambda_function_module_loads_model_once(tmp_path, jpeg_bytes):
    fresh = load_handler(build.write_tiny_model(tmp_path))  # MODEL_PATH, as in the image
    session = fresh.session
    first = fresh.lambda_handler({"image_b64": b64(jpeg_bytes)}, None)
    second = fresh.lambda_handler({"image_b64": b64(jpeg_bytes)}, None)
    assert first == second and fresh.session is session
    assert first["logit"] == pytest.approx(expected(jpeg_bytes)[0], abs=1e-5)


def test_default_model_path(monkeypatch, tmp_path):
    monkeypatch.delenv("MODEL_PATH", raising=False)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    assert hl.default_model_path() == tmp_path / "model" / "hair_classifier.onnx"
    (tmp_path / "hair_classifier.onnx").write_bytes(b"x")
    assert hl.default_model_path() == tmp_path / "hair_classifier.onnx"
    monkeypatch.setenv("MODEL_PATH", "/x/y.onnx")
    assert str(hl.default_model_path()) == "/x/y.onnx"


def test_model_interface_is_checked(tmp_path):
    path = build.write_tiny_model(tmp_path)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    (tmp_path / "metadata.json").write_text(json.dumps({**meta, "output_name": "sigmoid"}))
    with pytest.raises(ValueError, match="output_name"):
        hl.HairClassifier(path)
    with pytest.raises(FileNotFoundError):
        hl.HairClassifier(tmp_path / "missing.onnx")


def test_sigmoid_is_stable():
    assert hl.sigmoid(0.0) == 0.5
    assert hl.sigmoid(-1000.0) == 0.0 and hl.sigmoid(1000.0) == 1.0
    assert hl.sigmoid(2.0) == pytest.approx(1 / (1 + np.exp(-2.0)))


# ---------------------------------------------------------------- bad input, no URL
@pytest.mark.parametrize(
    "event, fragment",
    [
        (None, "JSON object"),
        ([], "JSON object"),
        ("url", "JSON object"),
        (42, "JSON object"),
        ({}, "exactly one"),
        ({"foo": 1}, "exactly one"),
        ({"url": "https://a.b/c.jpg", "image_b64": "AAAA"}, "exactly one"),
        ({"url": 5}, "non-empty string"),
        ({"url": ""}, "non-empty string"),
        ({"url": None}, "non-empty string"),
        ({"image_b64": 12}, "base64 string"),
        ({"image_b64": ""}, "base64 string"),
        ({"image_b64": "not base64!!"}, "not valid base64"),
        ({"image_b64": b64(b"plain text, not an image")}, "not a decodable image"),
        ({"body": None}, "empty"),
        ({"body": "[1, 2]"}, "JSON object"),
        ({"body": "{}"}, "exactly one"),
        ({"body": "!!!", "isBase64Encoded": True}, "base64"),
    ],
)
def test_bad_events_answer_400(event, fragment):
    result = answer(event)
    if isinstance(event, dict) and "body" in event:
        assert result["statusCode"] == 400
        result = {"statusCode": 400, **json.loads(result["body"])}
    assert_400(result, fragment)


def test_truncated_inline_images(jpeg_bytes):
    assert_400(answer({"image_b64": b64(jpeg_bytes[: len(jpeg_bytes) // 3])}), "not a decodable")


@pytest.mark.parametrize(
    "size", [(10_000, 10_000), (7_000, 7_000)]
)  # > 2x and > 1x the pixel limit
def test_decompression_bombs_are_refused(size):
    data = png_bytes(size)
    assert len(data) < 200_000  # tiny file, huge image
    assert_400(answer({"image_b64": b64(data)}), "exceed" if size[0] > 9000 else "")


def test_pixel_limit_is_checked_before_decoding(monkeypatch):
    monkeypatch.setattr(pre, "MAX_PIXELS", 100)
    assert_400(answer({"image_b64": b64(png_bytes((20, 20), "RGB"))}), "exceed")


def test_unsupported_format_is_refused():
    buf = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buf, format="TIFF")
    assert_400(answer({"image_b64": b64(buf.getvalue())}), "not a decodable")


def test_internal_errors_answer_500(jpeg_bytes, monkeypatch, capsys):
    class Broken:
        def run(self, *args):
            raise RuntimeError("secret detail")

    monkeypatch.setattr(lf, "session", Broken())
    assert answer({"image_b64": b64(jpeg_bytes)}) == {"statusCode": 500, "error": "internal error"}
    proxy = answer({"body": json.dumps({"image_b64": b64(jpeg_bytes)})})
    assert proxy["statusCode"] == 500 and json.loads(proxy["body"]) == {"error": "internal error"}
    assert "secret detail" in capsys.readouterr().out  # logged for CloudWatch


# ---------------------------------------------------------------- the client and the build script
def test_client_events(tmp_path, jpeg_bytes):
    client = service_files.load("09-serverless", "test")
    assert client.event_for("https://example.com/a.jpg", None) == {
        "url": "https://example.com/a.jpg"
    }
    img = tmp_path / "a.jpg"
    img.write_bytes(jpeg_bytes)
    assert base64.b64decode(client.event_for(None, img)["image_b64"]) == jpeg_bytes
    with pytest.raises(SystemExit):
        client.event_for(None, tmp_path / "missing.jpg")
    assert (
        client.main(["--image", str(img), "--endpoint", "http://127.0.0.1:9/x", "--timeout", "2"])
        == 2
    )


def test_build_refuses_a_model_that_does_not_match_its_metadata(tmp_path):
    from zoomcamp.errors import ZoomcampError

    source = tmp_path / "hair-keras-onnx"
    build.write_tiny_model(source)
    with pytest.raises(ZoomcampError, match="tiny test stand-in"):
        build.prepare_context(tmp_path / "ctx", source)
    onnx_path = source / "hair_classifier.onnx"
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\0")
    with pytest.raises(ZoomcampError, match="does not match its metadata"):
        build.prepare_context(tmp_path / "ctx", source)
    assert not (tmp_path / "ctx" / "model" / "hair_classifier.onnx").exists()
    with pytest.raises(ZoomcampError, match="reproduce 08"):
        build.prepare_context(tmp_path / "ctx", tmp_path / "missing")


def test_build_ships_the_pytorch_export_by_default_and_keras_on_request():
    from zoomcamp.errors import ZoomcampError

    assert build.source_model_dir() == paths.model_dir("hair-torch-onnx")
    assert build.source_model_dir("keras") == paths.model_dir("hair-keras-onnx")
    with pytest.raises(ZoomcampError, match="unknown model"):
        build.source_model_dir("tflite")


def test_bilinear_preprocessing_from_metadata_matches_pil_by_hand():
    """The PyTorch export's metadata says bilinear: the handler resizes with PIL's bilinear,
    which is what torchvision's Resize does to a PIL image (and what 08 trained on)."""
    meta = {
        "preprocessing": {
            "mode": "RGB",
            "first_frame": True,
            "size": [200, 200],
            "resample": "bilinear",
            "scale": 1 / 255,
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "layout": "NCHW",
        }
    }
    img = Image.fromarray(np.random.default_rng(3).integers(0, 256, (90, 130, 3), np.uint8))
    x = np.asarray(pre.Preprocessing(meta)(img))
    resized = np.asarray(img.resize((200, 200), Image.BILINEAR), dtype=np.float64) / 255.0
    expected = (resized - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(x[0], expected.transpose(2, 0, 1), atol=1e-5)


def test_an_oversized_metadata_file_is_refused_unread(tmp_path):
    """Issue 18 #9: the model folder's metadata is read at most 1 MiB."""
    folder = tmp_path / "model"
    folder.mkdir()
    with open(folder / "metadata.json", "wb") as fh:
        fh.truncate(1 << 30)  # sparse: 1 GiB that costs no disk
    with pytest.raises(ValueError, match="larger than"):
        hl.read_metadata(folder)
