"""08-deep-learning: a hair model trained on a small real subset, exported to ONNX by
``export_keras.py``, agrees with Keras on real test images; names, shapes and metadata are what
09-serverless expects."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from zoomcamp import artifacts, fileio, paths
from zoomcamp.hair import data as hair

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
def trained(hair_keras_model):
    """This run's Keras model (the session fixture: ``train_keras.py`` with the fast plan, 60
    images per split, 1 + 1 epochs) and the result ``train()`` recorded in ``history.json``."""
    result = json.loads((hair_keras_model / "history.json").read_text())
    return hair_keras_model, result


@pytest.fixture(scope="module")
def exported(hair_keras_onnx):
    """``export_keras.py`` of that model (the session fixture)."""
    return hair_keras_onnx, artifacts.verify(hair_keras_onnx)


def test_training_writes_one_verified_model_folder(trained):
    model_dir, result = trained
    assert len(result["history"]["loss"]) == 2 and result["plain_epochs"] == 1
    assert result["n_train"] == 60 and result["n_test"] == 60  # the fast plan's limit
    meta = artifacts.verify(model_dir)
    assert set(meta["files"]) == {"hair-model.keras", "history.json"}
    assert meta["files"]["hair-model.keras"] == fileio.sha256_file(model_dir / "hair-model.keras")
    assert len(result["seconds"]) == 2  # the model folder keeps the timings...
    report = json.loads(
        (paths.reports_dir() / "08-deep-learning" / "hair-keras-history.json").read_text()
    )
    assert "seconds" not in report  # ...the report's copy carries none
    assert report["history"] == result["history"]
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


# the optimised export (09's default) and the fp32 one, both from this run's fast model

# max |logit diff| of the 4-bit export vs fp32 on the check images (measured on the real
# model's 201 test images: 0.094; int8 was 0.040)
QUANTISED_BOUND = 0.25


def _check_images(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """``n`` real test images of both classes as the PyTorch model takes them (NCHW)."""
    from zoomcamp.hair import model_torch as hair_torch

    root = hair.data_root()
    test = hair.list_images(root)["test"]
    picks = [test[i] for i in np.linspace(0, len(test) - 1, n).astype(int)]
    assert {label for _, label in picks} == {0, 1}
    pixels = np.stack([hair.decode_pixels(root / rel, "bilinear") for rel, _ in picks])
    return hair_torch.to_input(pixels), np.array([label for _, label in picks])


def _ort_logits(folder, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(
        str(folder / "hair_classifier.onnx"), providers=["CPUExecutionProvider"]
    )
    return session.run(["output"], {"input": x})[0]


def test_pytorch_export_writes_both_folders(
    hair_torch_model, hair_torch_onnx, hair_torch_onnx_fp32
):
    import onnx

    source = artifacts.verify(hair_torch_model)
    for folder, name in (
        (hair_torch_onnx, "hair-torch-onnx"),
        (hair_torch_onnx_fp32, "hair-torch-onnx-fp32"),
    ):
        assert folder.name == name
        assert sorted(p.name for p in folder.iterdir()) == ["hair_classifier.onnx", "metadata.json"]
        meta = artifacts.verify(folder)
        assert meta["name"] == name and meta["source"] == {
            "name": "hair-torch",
            "files": source["files"],
        }
        assert meta["exporter"] == "torch.onnx.export(dynamo=True)"
        model = onnx.load(folder / "hair_classifier.onnx")  # one file: loads without external data
        (inp,), (outp,) = model.graph.input, model.graph.output
        assert (inp.name, outp.name) == ("input", "output")
        assert [d.dim_value or d.dim_param for d in inp.type.tensor_type.shape.dim] == [
            "N",
            3,
            200,
            200,
        ]
        assert [d.dim_value or d.dim_param for d in outp.type.tensor_type.shape.dim] == ["N", 1]
        assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        assert opset == meta["opset"]
    fp32_bytes = (hair_torch_onnx_fp32 / "hair_classifier.onnx").stat().st_size
    int8_bytes = (hair_torch_onnx / "hair_classifier.onnx").stat().st_size
    # 20,073,473 weights: 4 bytes each in fp32; the dense ones at 1 byte in int8
    assert fp32_bytes > 4 * 20_000_000 and int8_bytes < 1.1 * 20_073_473


def test_optimised_metadata_says_what_was_done(hair_torch_onnx, hair_torch_onnx_fp32):
    import onnx

    meta = artifacts.verify(hair_torch_onnx)
    done = meta["optimization"]
    assert set(done) == {
        "from",
        "gemm_to_matmul",
        "quantization",
        "ort_offline_level",
        "preprocessing_folded",
    }
    fp32_sha = artifacts.verify(hair_torch_onnx_fp32)["files"]["hair_classifier.onnx"]
    assert done["from"] == {
        "name": "hair-torch-onnx-fp32",
        "sha256": fp32_sha,
    }  # the export is deterministic
    q = done["quantization"]
    assert (q["method"], q["weight_type"], q["block_size"]) == (
        "weight-only, block-wise",
        "int4",
        32,
    )
    assert q["op_types"] == ["MatMul"]
    assert done["ort_offline_level"] in (None, "basic", "extended", "all")
    assert done["preprocessing_folded"] is False
    assert meta["preprocessing"] == artifacts.verify(hair_torch_onnx_fp32)["preprocessing"]
    # the graph is what the record says: 4-bit dense weights, the convolution still float
    model = onnx.load(hair_torch_onnx / "hair_classifier.onnx")
    nbits = [n for n in model.graph.node if n.op_type == "MatMulNBits"]
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in nbits]
    assert (313632, 64, 4, 32) in {(a["K"], a["N"], a["bits"], a["block_size"]) for a in attrs}
    sizes = [math.prod(t.dims) for t in model.graph.initializer]
    assert max(sizes) == 313632 * 64 // 2  # two weights a byte; no float copy is left
    ops = {n.op_type for n in model.graph.node}
    assert "Conv" in ops and "ConvInteger" not in ops and "Gemm" not in ops
    m = meta["metrics"]
    assert m["test_images"] == len(hair.list_images(hair.data_root())["test"])
    assert m["fp32_test_accuracy"] - m["test_accuracy"] <= 0.005
    assert m["same_decision_share"] >= 0.99 and 0 <= m["max_abs_logit_diff_vs_fp32"] <= 1


def test_fp32_export_matches_pytorch(hair_torch_model, hair_torch_onnx_fp32):
    import torch

    from zoomcamp.hair import model_torch as hair_torch

    model, _ = hair_torch.load_model(hair_torch_model)
    x, _ = _check_images()
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = _ort_logits(hair_torch_onnx_fp32, x)
    assert got.shape == (len(x), 1)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    # batch of one (the dynamic batch axis)
    np.testing.assert_allclose(
        _ort_logits(hair_torch_onnx_fp32, x[:1]), expected[:1], atol=1e-4, rtol=0
    )
    assert (
        artifacts.verify(hair_torch_onnx_fp32)["metrics"]["onnx_vs_torch_max_abs_logit_diff"]
        <= 1e-4
    )


def test_optimised_export_agrees_with_fp32(hair_torch_onnx, hair_torch_onnx_fp32):
    x, _ = _check_images()
    fp32, int8 = _ort_logits(hair_torch_onnx_fp32, x), _ort_logits(hair_torch_onnx, x)
    assert int8.shape == fp32.shape == (len(x), 1)
    assert np.max(np.abs(int8 - fp32)) <= QUANTISED_BOUND
    clear = np.abs(fp32) > QUANTISED_BOUND  # the same decision wherever fp32 is not on the edge
    assert np.array_equal((int8 > 0)[clear], (fp32 > 0)[clear])


def test_the_export_uses_the_dynamo_exporter(hair_torch_onnx_fp32):
    """The legacy TorchScript exporter (dynamo=False) names nodes by module path ("/fc1/Gemm")
    and writes no metadata on the graph's values; the dynamo exporter records each input's
    original name under pkg.torch.onnx."""
    import onnx

    model = onnx.load(hair_torch_onnx_fp32 / "hair_classifier.onnx")
    assert model.producer_name == "pytorch"
    props = {p.key: p.value for p in model.graph.input[0].metadata_props}
    assert "pkg.torch.onnx.original_node_name" in props
    assert not any(n.name.startswith("/") for n in model.graph.node)


def test_export_refuses_an_optimised_model_that_misses_its_targets(
    hair_torch_model, hair_torch_onnx_fp32, tmp_path, monkeypatch
):
    from zoomcamp.errors import ZoomcampError
    from zoomcamp.hair import model_torch as hair_torch
    from zoomcamp.hair import onnx_optimise

    fp32 = (hair_torch_onnx_fp32 / "hair_classifier.onnx").read_bytes()
    monkeypatch.setattr(hair_torch, "to_onnx_bytes", lambda model: fp32)  # no second export
    # a target no model meets, in full and fast mode alike
    monkeypatch.setattr(onnx_optimise, "MIN_SAME_DECISION", 1.01)
    monkeypatch.setattr(onnx_optimise, "FAST_MIN_SAME_DECISION", 1.01)
    with pytest.raises(ZoomcampError, match="misses its targets"):
        hair_torch.export(hair_torch_model, tmp_path / "out", n_check=2)
    assert not (tmp_path / "out").exists()
