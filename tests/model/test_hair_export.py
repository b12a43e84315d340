"""08-deep-learning: a hair model trained on a small real subset, exported to ONNX by
``export_keras.py``, agrees with Keras on real test images; names, shapes and metadata are what
09-serverless expects."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from zoomcamp import artifacts, fileio, paths
from zoomcamp.hair import data as hair
from zoomcamp.hair import train_keras

pytestmark = pytest.mark.slow

EXPORT = paths.module_dir("08-deep-learning") / "export_keras.py"


def run_export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXPORT), *args],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("hair-model")
    result = train_keras.train(
        epochs=1, augmented_epochs=1, limit=40, out_dir=out, write_reports=False, verbose=0
    )
    return out, result


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    model_dir, _ = trained
    out = tmp_path_factory.mktemp("onnx")
    proc = run_export(
        "--model-dir", str(model_dir), "--output-dir", str(out), "--check-images", "4"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, artifacts.verify(out)


def test_training_writes_one_verified_model_folder(trained):
    model_dir, result = trained
    assert len(result["history"]["loss"]) == 2 and result["plain_epochs"] == 1
    assert result["n_train"] == 40 and result["n_test"] == 40
    meta = artifacts.verify(model_dir)
    assert set(meta["files"]) == {"hair-model.keras", "history.json"}
    assert meta["files"]["hair-model.keras"] == fileio.sha256_file(model_dir / "hair-model.keras")
    history = json.loads((model_dir / "history.json").read_text())
    assert history["history"] == result["history"] and len(history["seconds"]) == 2
    assert "seconds" not in result  # the report's copy carries no timings
    assert meta["metrics"]["best_test_accuracy"] == max(result["history"]["val_accuracy"])
    digest = hair.listing_digest(hair.data_root(), hair.list_images(hair.data_root()))
    assert meta["data"] == {"hair-type": digest}
    assert {"keras", "python"} <= set(meta["versions"])
    assert meta["preprocessing"] == hair.preprocessing()


def test_onnx_names_shapes_and_metadata(trained, exported):
    import onnx

    out, meta = exported
    model = onnx.load(out / "hair_classifier.onnx")
    (inp,), (outp,) = model.graph.input, model.graph.output
    assert (inp.name, outp.name) == ("input", "output")
    in_dims = [d.dim_value or d.dim_param for d in inp.type.tensor_type.shape.dim]
    out_dims = [d.dim_value or d.dim_param for d in outp.type.tensor_type.shape.dim]
    assert in_dims == ["N", 3, 200, 200] and out_dims == ["N", 1]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 13
    assert sorted(p.name for p in out.iterdir()) == ["hair_classifier.onnx", "metadata.json"]
    assert meta["name"] == "hair-keras-onnx"
    assert (meta["input_name"], meta["output_name"]) == ("input", "output")
    assert meta["input_shape"] == [None, 3, 200, 200] and meta["output"] == "logit"
    assert meta["classes"] == ["curly", "straight"] and meta["positive_class"] == "straight"
    pre = meta["preprocessing"]
    assert pre["mean"] == [0.485, 0.456, 0.406] and pre["std"] == [0.229, 0.224, 0.225]
    assert (pre["size"], pre["resample"], pre["layout"]) == ([200, 200], "nearest", "NCHW")
    assert pre["scale"] == pytest.approx(1 / 255)
    source = artifacts.read(trained[0])
    assert meta["source"] == {"name": "hair-keras", "files": source["files"]}
    assert meta["data"] == source["data"]


def test_onnx_runtime_matches_keras_on_real_test_images(trained, exported):
    import keras
    import onnxruntime as ort

    model_dir, _ = trained
    out, _ = exported
    root = hair.data_root()
    test = hair.list_images(root)["test"]
    picks = test[:: max(1, len(test) // 24)][:24]
    assert {label for _, label in picks} == {0, 1}
    x = np.stack([hair.load_image(root / rel) for rel, _ in picks])  # NHWC, as Keras takes it
    keras_logits = keras.models.load_model(model_dir / "hair-model.keras", compile=False).predict(
        x, verbose=0
    )
    session = ort.InferenceSession(
        str(out / "hair_classifier.onnx"), providers=["CPUExecutionProvider"]
    )
    onnx_logits = session.run(["output"], {"input": x.transpose(0, 3, 1, 2).copy()})[0]
    assert onnx_logits.shape == (len(x), 1)
    assert np.max(np.abs(onnx_logits - keras_logits)) <= 1e-4
    # batch of one works too (dynamic batch dimension)
    one = session.run(["output"], {"input": x[:1].transpose(0, 3, 1, 2).copy()})[0]
    np.testing.assert_allclose(one, keras_logits[:1], atol=1e-4)


def test_export_refuses_a_model_that_does_not_match_its_metadata(trained, tmp_path):
    model_dir, _ = trained
    shutil.copytree(model_dir, tmp_path / "model")
    with open(tmp_path / "model" / "hair-model.keras", "ab") as fh:
        fh.write(b"\0")
    proc = run_export("--model-dir", str(tmp_path / "model"), "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "does not match its metadata" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_export_without_a_model_says_how_to_make_one(tmp_path):
    proc = run_export("--model-dir", str(tmp_path / "none"), "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no model at" in proc.stderr and "reproduce" in proc.stderr


# ---------------------------------------------------------------- the PyTorch export

EXPORT_TORCH = paths.module_dir("08-deep-learning") / "export_torch.py"


def _run_torch_export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXPORT_TORCH), *args],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_pytorch_export_refuses_a_changed_model(hair_torch_onnx, tmp_path):
    from zoomcamp.hair import model_torch as hair_torch

    source = paths.model_dir(hair_torch.NAME)
    shutil.copytree(source, tmp_path / "model")
    with open(tmp_path / "model" / hair_torch.MODEL_FILE, "ab") as fh:
        fh.write(b"\0")
    proc = _run_torch_export(
        "--model-dir", str(tmp_path / "model"), "--output-dir", str(tmp_path / "out")
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "does not match its metadata" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_pytorch_export_metadata_matches_the_keras_interface(hair_torch_onnx):
    from zoomcamp.hair import model_keras as hair_model

    meta = artifacts.verify(hair_torch_onnx)
    keras_side = hair_model.onnx_interface()
    for key in ("input_name", "output_name", "input_shape", "output_shape", "output", "classes"):
        assert meta[key] == keras_side[key], key
    pre = meta["preprocessing"]
    assert pre == {**keras_side["preprocessing"], "resample": "bilinear"}
    assert meta["metrics"]["onnx_vs_torch_max_abs_logit_diff"] <= 1e-4
    assert meta["metrics"]["onnx_vs_torch_images"] >= 4
