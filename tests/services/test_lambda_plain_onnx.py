"""09-serverless: the handler serving a plain ONNX model (no ``metadata.json``), its
preprocessing given by ``PREPROCESSING``, as the course's ``hair_classifier_empty.onnx`` is
served in HW9 Q6; the project's metadata stays the default and both at once are refused.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import uuid

import plain_onnx
import pytest
import service_files
from lambda_events import HANDLER, build
from PIL import Image

from zoomcamp import datasets


def load_handler(monkeypatch, model_path, cfg=None, raw=None):
    monkeypatch.setenv("MODEL_PATH", str(model_path))
    if cfg is not None or raw is not None:
        monkeypatch.setenv("PREPROCESSING", raw if raw is not None else json.dumps(cfg))
    else:
        monkeypatch.delenv("PREPROCESSING", raising=False)
    spec = importlib.util.spec_from_file_location(f"lf_{uuid.uuid4().hex}", HANDLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hair_images():
    root = datasets.unpack("hair-type") / "data" / "test"
    return [sorted((root / c).glob("*.jpg"))[0] for c in ("curly", "straight")]


@pytest.mark.parametrize(
    "size,resample", [((200, 200), "nearest"), ((48, 32), "nearest"), ((48, 32), "bilinear")]
)
def test_plain_model_answers_like_numpy(monkeypatch, tmp_path, hair_images, size, resample):
    cfg = plain_onnx.config(size=size, resample=resample)
    model = plain_onnx.write_model(tmp_path / "hair_classifier_empty.onnx", size=size)
    lf = load_handler(monkeypatch, model, cfg)
    assert (lf.input_name, lf.output_name) == ("pixels", "score")  # the graph's own names
    for path in hair_images:
        got = lf.lambda_handler({"image_b64": base64.b64encode(path.read_bytes()).decode()}, None)
        logit, prob = plain_onnx.reference(Image.open(path), cfg)
        assert got["logit"] == pytest.approx(logit, abs=1e-5)
        assert got["prediction"] == pytest.approx(prob, abs=1e-6)
        assert got["label"] == ("straight" if prob >= 0.5 else "curly")
        assert got["probabilities"]["curly"] == pytest.approx(1 - prob, abs=1e-6)


def test_nearest_and_bilinear_differ_so_the_configuration_is_followed(hair_images):
    img = Image.open(hair_images[0])
    a = plain_onnx.reference(img, plain_onnx.config(size=(48, 32)))[0]
    b = plain_onnx.reference(img, plain_onnx.config(size=(48, 32), resample="bilinear"))[0]
    assert abs(a - b) > 1e-4


def test_plain_model_without_configuration_is_refused(monkeypatch, tmp_path):
    model = plain_onnx.write_model(tmp_path / "hair_classifier_empty.onnx")
    with pytest.raises(FileNotFoundError, match="metadata.json and no PREPROCESSING"):
        load_handler(monkeypatch, model)


@pytest.mark.parametrize(
    "raw,fragment",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({k: v for k, v in plain_onnx.config().items() if k != "std"}), "'std'"),
        (json.dumps(plain_onnx.config(colour="RGB")), "'colour'"),
        (json.dumps(plain_onnx.config(resample="lanczos")), "preprocessing"),
        (json.dumps(plain_onnx.config(layout="NHWC")), "unsupported"),
        (json.dumps(plain_onnx.config(size=[64, 64])), "input shape"),
        (json.dumps(plain_onnx.config(output="probability")), "expected 'logit'"),
        (json.dumps(plain_onnx.config(positive_class="wavy")), "positive"),
    ],
)
def test_half_given_configuration_is_a_start_up_error(monkeypatch, tmp_path, raw, fragment):
    model = plain_onnx.write_model(tmp_path / "hair_classifier_empty.onnx")
    with pytest.raises(ValueError, match=fragment):
        load_handler(monkeypatch, model, raw=raw)


def test_metadata_stays_the_default_and_both_are_refused(monkeypatch, tmp_path):
    model = build.write_tiny_model(tmp_path / "tiny")
    lf = load_handler(monkeypatch, model)
    assert lf.metadata["schema"] == "zoomcamp-model/1"
    with pytest.raises(ValueError, match="unset PREPROCESSING"):
        load_handler(monkeypatch, model, plain_onnx.config())
    # a folder with metadata.json is verified as before: a changed file is refused
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(ValueError, match="sha256"):
        load_handler(monkeypatch, model)


def test_the_homework_dockerfile_configures_what_the_test_reference_uses():
    """The image's PREPROCESSING is the homework's preprocessing (spec: NEAREST, 200x200,
    /255, ImageNet mean/std, channels first), parsed from the Dockerfile's ENV line."""
    text = (HANDLER.parent / "homework" / "Dockerfile").read_text(encoding="utf-8")
    line = next(s for s in text.splitlines() if "PREPROCESSING=" in s)
    cfg = json.loads(line.split("PREPROCESSING=", 1)[1].strip().strip("'"))
    want = plain_onnx.config()
    assert cfg.pop("scale") == pytest.approx(want.pop("scale"), rel=1e-12)
    assert cfg == want
    assert "MODEL_PATH=/var/task/hair_classifier_empty.onnx" in text


def test_plain_model_in_process_via_hair_classifier(monkeypatch, tmp_path, hair_images):
    cfg = plain_onnx.config()
    model = plain_onnx.write_model(tmp_path / "m.onnx")
    monkeypatch.setenv("PREPROCESSING", json.dumps(cfg))
    clf = service_files.load("09-serverless", "hair_lambda").HairClassifier(model)
    img = Image.open(io.BytesIO(hair_images[1].read_bytes()))
    assert clf.predict(img)["logit"] == pytest.approx(plain_onnx.reference(img, cfg)[0], abs=1e-5)
