"""09-serverless: the Lambda function computes what 08-deep-learning's Keras model computes.

- preprocessing (Pillow + NumPy, channels first) equals 08's ``hair.load_image`` on every
  real hair test image (max abs diff <= 1e-6);
- the handler's ONNX predictions equal the Keras model's within 1e-4: a quick model is
  trained with 08's ``train.py`` in the scratch models folder and exported with 08's
  ``export.py`` (the committed pipeline, not a copy of it); when the repo's full model and
  its export exist, they are compared too.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import pytest
import service_files
from PIL import Image

from zoomcamp import datasets, paths
from zoomcamp import io as zio

hl = service_files.load("09-serverless", "hair_lambda")
DL = paths.module_dir("08-deep-learning")


@pytest.fixture(scope="module")
def hair():
    return service_files.load("08-deep-learning", "hair")


@pytest.fixture(scope="module")
def test_images():
    root = datasets.unpack("hair-type") / "data" / "test"
    return sorted(p for p in root.glob("*/*") if p.is_file())  # .jpg, .jpeg, .png, .PNG


def _run(script, *args):
    proc = subprocess.run(
        [sys.executable, str(DL / script), *args],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def quick_export():
    """(keras path, onnx path) of a quick model trained and exported by 08's scripts; reused
    across runs while the ONNX metadata still names the Keras file's digest."""
    base = paths.models_dir() / "serverless-test"
    keras_path, onnx_path = (
        base / "keras" / "hair-model.keras",
        base / "onnx" / "hair_classifier.onnx",
    )
    meta_path = onnx_path.with_suffix(".json")
    fresh = (
        keras_path.is_file()
        and meta_path.is_file()
        and onnx_path.is_file()
        and json.loads(meta_path.read_text()).get("keras_model_sha256")
        == zio.sha256_file(keras_path)
    )
    if not fresh:
        _run(
            "train.py",
            "--limit",
            "24",
            "--epochs",
            "1",
            "--augmented-epochs",
            "0",
            "--out-dir",
            str(keras_path.parent),
        )
        _run(
            "export.py",
            "--model",
            str(keras_path),
            "--output-dir",
            str(onnx_path.parent),
            "--check-images",
            "4",
        )
    return keras_path, onnx_path


def test_preprocessing_equals_08_on_every_test_image(hair, test_images):
    assert len(test_images) == 201
    worst = 0.0
    for path in test_images:
        ours = hl.preprocess(hl.open_image(path.read_bytes()))
        assert ours.shape == (1, 3, 200, 200) and ours.dtype == np.float32
        assert ours.flags["C_CONTIGUOUS"]
        ref = hair.load_image(path)
        assert ref.shape == (200, 200, 3)
        worst = max(worst, float(np.max(np.abs(ours[0] - ref.transpose(2, 0, 1)))))
    assert worst <= 1e-6


@pytest.mark.parametrize(
    "fmt, mode", [("GIF", "P"), ("PNG", "RGBA"), ("PNG", "L"), ("WEBP", "RGB"), ("BMP", "RGB")]
)
def test_preprocessing_equals_08_on_other_formats(hair, tmp_path, fmt, mode):
    rng = np.random.default_rng(0)
    frames = [
        Image.fromarray(rng.integers(0, 256, (150, 260, 3), dtype=np.uint8)).convert(mode)
        for _ in range(2)
    ]
    path = tmp_path / f"img.{fmt.lower()}"
    frames[0].save(
        path,
        format=fmt,
        **({"save_all": True, "append_images": frames[1:]} if fmt == "GIF" else {}),
    )
    ours = hl.preprocess(hl.open_image(path.read_bytes()))[0]
    assert np.max(np.abs(ours - hair.load_image(path).transpose(2, 0, 1))) <= 1e-6


def test_metadata_preprocessing_is_what_the_handler_does(quick_export):
    meta = json.loads(quick_export[1].with_suffix(".json").read_text())
    pre = meta["preprocessing"]
    assert pre["size"] == list(hl.SIZE) and pre["resample"] == "nearest" and pre["layout"] == "NCHW"
    assert pre["scale"] == pytest.approx(1 / 255)
    np.testing.assert_allclose(pre["mean"], hl.MEAN, rtol=0, atol=1e-7)
    np.testing.assert_allclose(pre["std"], hl.STD, rtol=0, atol=1e-7)
    assert (meta["input_name"], meta["output_name"], meta["output"]) == ("input", "output", "logit")
    assert meta["classes"] == list(hl.CLASSES) and meta["positive_class"] == "straight"


def _compare_with_keras(hair, keras_path, onnx_path, images):
    model, _ = service_files.load("08-deep-learning", "hair_model").load_model(keras_path)
    clf = hl.HairClassifier(onnx_path)
    x = np.stack([hair.load_image(p) for p in images])
    keras_logits = model.predict(x, verbose=0).reshape(-1).astype(np.float64)
    answers = [
        hl.handle({"image_b64": base64.b64encode(p.read_bytes()).decode()}, clf) for p in images
    ]
    logits = np.array([a["logit"] for a in answers])
    probs = np.array([a["prediction"] for a in answers])
    assert np.max(np.abs(logits - keras_logits)) <= 1e-4
    assert np.max(np.abs(probs - 1 / (1 + np.exp(-keras_logits)))) <= 1e-4
    assert [a["label"] for a in answers] == [
        "straight" if z >= 0 else "curly" for z in keras_logits
    ]
    return keras_logits


def test_handler_predictions_equal_keras(hair, quick_export, test_images):
    picks = test_images[::12]  # both classes
    logits = _compare_with_keras(hair, *quick_export, picks)
    assert np.ptp(logits) > 0  # not a constant model


def test_batch_of_images_through_onnx(quick_export, test_images):
    clf = hl.HairClassifier(quick_export[1])
    xs = [hl.preprocess(hl.open_image(p.read_bytes())) for p in test_images[:5]]
    batch = clf.logits(np.concatenate(xs))
    single = np.array([clf.logits(x)[0] for x in xs])
    np.testing.assert_allclose(batch, single, rtol=0, atol=1e-5)


def test_repo_model_equals_its_keras_source(hair, test_images):
    onnx_path = paths.module_dir("09-serverless") / "model" / "hair_classifier.onnx"
    keras_path = paths.REPO_ROOT / "models" / "hair" / "hair-model.keras"
    if not (onnx_path.is_file() and keras_path.is_file()):
        pytest.skip("no full model exported yet (uv run zoomcamp reproduce 08)")
    meta = json.loads(onnx_path.with_suffix(".json").read_text())
    if meta["keras_model_sha256"] != zio.sha256_file(keras_path) or meta[
        "onnx_sha256"
    ] != zio.sha256_file(onnx_path):
        pytest.skip("the exported model is not from the current Keras model (export again)")
    _compare_with_keras(hair, keras_path, onnx_path, test_images[::4])
