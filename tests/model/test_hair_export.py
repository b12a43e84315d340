"""08-deep-learning: a hair model trained on a small real subset, exported to ONNX, agrees
with Keras on real test images; names, shapes and metadata are what 09-serverless expects."""

from __future__ import annotations

import json

import numpy as np
import pytest
import service_files

from zoomcamp import io

hair = service_files.load("08-deep-learning", "hair")
train = service_files.load("08-deep-learning", "train")
export = service_files.load("08-deep-learning", "export")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("hair-model")
    result = train.train(
        epochs=1, augmented_epochs=1, limit=40, out_dir=out, write_reports=False, verbose=0
    )
    return out, result


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    model_dir, _ = trained
    out = tmp_path_factory.mktemp("onnx")
    meta = export.export(model_dir / "hair-model.keras", out, n_check=4)
    return out, meta


def test_training_records_history_and_metadata(trained):
    model_dir, result = trained
    assert len(result["history"]["loss"]) == 2 and result["plain_epochs"] == 1
    assert result["n_train"] == 40 and result["n_test"] == 40
    history = json.loads((model_dir / "history.json").read_text())
    assert history["history"] == result["history"]
    meta = json.loads((model_dir / "hair-model.json").read_text())
    assert meta["keras_model_sha256"] == io.sha256_file(model_dir / "hair-model.keras")
    assert meta["metrics"]["best_test_accuracy"] == max(result["history"]["val_accuracy"])
    assert (
        meta["data_listing_sha256"] == result["data_listing_sha256"]
        and len(meta["data_listing_sha256"]) == 64
    )
    assert {"tensorflow", "keras"} <= set(meta["versions"])


def test_onnx_names_shapes_and_metadata(exported):
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
    saved = json.loads((out / "hair_classifier.json").read_text())
    assert saved == json.loads(json.dumps(meta))
    assert saved["onnx_sha256"] == io.sha256_file(out / "hair_classifier.onnx")
    assert saved["input_shape"] == [None, 3, 200, 200] and saved["output"] == "logit"
    assert saved["classes"] == ["curly", "straight"] and saved["positive_class"] == "straight"
    pre = saved["preprocessing"]
    assert pre["mean"] == [0.485, 0.456, 0.406] and pre["std"] == [0.229, 0.224, 0.225]
    assert (pre["size"], pre["resample"], pre["layout"]) == ([200, 200], "nearest", "NCHW")
    assert pre["scale"] == pytest.approx(1 / 255)


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
    import shutil

    from zoomcamp.errors import ZoomcampError

    model_dir, _ = trained
    for name in ("hair-model.keras", "hair-model.json"):
        shutil.copy(model_dir / name, tmp_path / name)
    with open(tmp_path / "hair-model.keras", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ZoomcampError, match="does not match"):
        export.export(tmp_path / "hair-model.keras", tmp_path / "out")
    assert not (tmp_path / "out").exists()
