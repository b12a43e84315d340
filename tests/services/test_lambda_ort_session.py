"""09-serverless ``ort_session.Session`` (ONNX Runtime's C API through ctypes) against ORT's
Python binding, the reference: the same graph description, the same outputs, and ORT's own
errors as one ``OrtError`` line."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import service_files

hl = service_files.load("09-serverless", "hair_lambda")
ors = sys.modules[hl.Session.__module__]  # ort_session.py, as the handler imports it
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def two_output_model(path):
    """x [N, 4] -> (x @ W + b [N, 3], relu(x) [N, 4]): two outputs, a symbolic and a fixed axis."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 3)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"]),
            helper.make_node("Add", ["h", "b"], ["y"]),
            helper.make_node("Relu", ["x"], ["r"]),
        ],
        "two",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info("r", TensorProto.FLOAT, [None, 4]),
        ],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def model(tmp_path):
    return two_output_model(tmp_path / "two.onnx")


@pytest.fixture
def reference(model):
    return ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])


def test_the_graph_is_described_as_the_binding_describes_it(model, reference):
    session = ors.Session(model)
    for ours, theirs in (
        (session.get_inputs(), reference.get_inputs()),
        (session.get_outputs(), reference.get_outputs()),
    ):
        assert [(n.name, n.shape, n.type) for n in ours] == [
            (n.name, n.shape, n.type) for n in theirs
        ]


@pytest.mark.parametrize("names", [None, ["r"], ["r", "y"]])
@pytest.mark.parametrize("n", [1, 5])
def test_outputs_equal_the_binding(model, reference, names, n):
    x = np.random.default_rng(n).normal(size=(n, 4)).astype(np.float32)
    ours = ors.Session(model, intra_op_num_threads=1, inter_op_num_threads=1).run(names, {"x": x})
    theirs = reference.run(names, {"x": x})
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert np.asarray(a).shape == b.shape
        np.testing.assert_array_equal(np.asarray(a, dtype=np.float32), b)


def test_any_float32_buffer_is_an_input(model, reference):
    """A read-only buffer (copied) and a memoryview (the preprocessing's) answer alike."""
    x = np.arange(8, dtype=np.float32).reshape(2, 4) - 3
    want = reference.run(["y"], {"x": x})[0]
    readonly = x.copy()
    readonly.flags.writeable = False
    view = memoryview(bytearray(x.tobytes())).cast("f", (2, 4))
    session = ors.Session(model)
    for given in (readonly, view):
        np.testing.assert_array_equal(np.asarray(session.run(["y"], {"x": given})[0]), want)


def test_the_hair_model_answers_as_the_binding(tmp_path):
    """The suite's stand-in of the hair export (the handler's interface) through both."""
    build = service_files.load("09-serverless", "build")
    path = build.write_tiny_model(tmp_path / "m")
    x = np.random.default_rng(0).standard_normal((3, 3, 200, 200)).astype(np.float32)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x}
    )
    got = ors.Session(path, **hl.session_settings({})).run(None, {"input": x})
    np.testing.assert_allclose(np.asarray(got[0]), want[0], rtol=0, atol=1e-6)


def test_ort_errors_are_one_line_each(model, tmp_path):
    not_onnx = tmp_path / "bad.onnx"
    not_onnx.write_bytes(b"this is no model")
    with pytest.raises(ors.OrtError, match="(?i)protobuf|parse|load"):
        ors.Session(not_onnx)
    session = ors.Session(model)
    with pytest.raises(ors.OrtError, match="(?i)dimension|shape"):
        session.run(None, {"x": np.zeros((2, 5), np.float32)})
    with pytest.raises(ors.OrtError, match="nope"):
        session.run(["nope"], {"x": np.zeros((2, 4), np.float32)})
    with pytest.raises(ValueError, match="float32"):
        session.run(None, {"x": np.zeros((2, 4), np.float64)})
    with pytest.raises(ValueError, match="graph_optimization_level"):
        ors.Session(model, graph_optimization_level="fastest")


def test_session_configuration_entries_reach_onnx_runtime(model):
    """An entry ORT acts on: "load the ORT format" refuses an ONNX file, so the entry went
    through ``AddSessionConfigEntry`` (the one function past the API's version 1)."""
    with pytest.raises(ors.OrtError):
        ors.Session(model, config={"session.load_model_format": "ORT"})
    assert ors.Session(model, config={"session.load_model_format": "ONNX"}).get_inputs()


def test_the_library_is_found_on_sys_path(monkeypatch, tmp_path):
    found = ors.library_path()
    assert found.name.startswith("libonnxruntime.so") and found.parent.name == "capi"
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="onnxruntime"):
        ors.library_path()
