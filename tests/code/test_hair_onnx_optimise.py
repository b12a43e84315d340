"""``zoomcamp.hair.onnx_optimise`` on small hand-built graphs: the Gemm -> MatMul rewrite and
the int8 and 4-bit quantisations against NumPy, the agreement figures against hand counts, and the
targets the optimised export must meet."""

from __future__ import annotations

import numpy as np
import pytest

from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import onnx_optimise as opt

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def dense_model(w: np.ndarray, b: np.ndarray, trans_b: int) -> bytes:
    """x [N, k] -> Gemm(x, w, b) -> Relu -> y [N, m]: a dense layer as the exporter writes it."""
    from onnx import TensorProto, helper, numpy_helper

    m = b.shape[0]
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "w", "b"], ["h"], "fc", transB=trans_b),
            helper.make_node("Relu", ["h"], ["y"], "relu"),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", w.shape[trans_b]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", m])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def run(data: bytes, x: np.ndarray) -> np.ndarray:
    return opt.session(data).run(["y"], {"x": x})[0]


@pytest.fixture
def layer():
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.05, (16, 300)).astype(np.float32)  # [out, in], as nn.Linear stores it
    b = rng.normal(0, 0.1, 16).astype(np.float32)
    x = rng.random((5, 300), dtype=np.float32)  # non-negative, like the ReLU/MaxPool output
    return w, b, x, np.maximum(x @ w.T + b, 0)


@pytest.mark.parametrize("trans_b", [1, 0])
def test_gemm_to_matmul_computes_the_same_as_numpy(layer, trans_b):
    w, b, x, expected = layer
    data = dense_model(w if trans_b else np.ascontiguousarray(w.T), b, trans_b)
    model = onnx.load_from_string(data)
    assert opt.gemm_to_matmul(model) == 1
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["MatMul", "Add", "Relu"]
    assert {t.name for t in model.graph.initializer} == {"w_matmul", "b"}  # the old W is gone
    np.testing.assert_allclose(run(model.SerializeToString(), x), expected, atol=1e-5)


def test_a_gemm_with_alpha_is_left_alone(layer):
    from onnx import helper

    w, b, _, _ = layer
    model = onnx.load_from_string(dense_model(w, b, 1))
    model.graph.node[0].attribute.append(helper.make_attribute("alpha", 2.0))
    assert opt.gemm_to_matmul(model) == 0
    assert [n.op_type for n in model.graph.node] == ["Gemm", "Relu"]


def test_quantise_stores_int8_weights_and_stays_close_to_numpy(layer):
    w, b, x, expected = layer
    int8 = opt.quantise(dense_model(w, b, 1), ("MatMul",))
    model = onnx.load_from_string(int8)
    weights = [t for t in model.graph.initializer if list(t.dims) == [300, 16]]
    assert [t.data_type for t in weights] == [onnx.TensorProto.INT8]
    assert "MatMulInteger" in {n.op_type for n in model.graph.node}
    # per-tensor int8 weights (step max|w|/127) and uint8 inputs (step 1/255): each of the
    # 300 products is off by at most ~half a step of each, so far below 0.05 in total
    assert np.max(np.abs(run(int8, x) - expected)) < 0.05
    offline = opt.optimise_offline(int8, "extended")
    np.testing.assert_allclose(run(offline, x), run(int8, x), atol=1e-5)


def dequantised_4bit(model, k: int) -> np.ndarray:
    """The MatMulNBits weights [k, n] in NumPy, from the stored format: per output, blocks of
    ``block_size`` inputs, two 4-bit values a byte (low nibble first), zero point 8."""
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    packed = next(v for name, v in inits.items() if name.endswith("_Q4"))  # [n, blocks, 16]
    scales = next(v for name, v in inits.items() if name.endswith("_scales"))
    n, blocks, _ = packed.shape
    nibbles = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(n, blocks, -1)
    values = (nibbles.astype(np.float32) - 8) * scales.reshape(n, blocks, 1)
    return values.reshape(n, -1)[:, :k].T


def test_quantise_blockwise_stores_4_bit_blocks_and_computes_as_numpy(layer):
    from onnx import helper

    w, b, x, expected = layer
    int4 = opt.quantise_blockwise(dense_model(w, b, 1))
    model = onnx.load_from_string(int4)
    (node,) = [n for n in model.graph.node if n.op_type == "MatMulNBits"]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert (attrs["bits"], attrs["block_size"], attrs["accuracy_level"]) == (4, 32, 4)
    assert not [t for t in model.graph.initializer if sorted(t.dims) == [16, 300]]  # no fp32 copy
    # the stored weights: within one step (max |w| of its block / 8) of the original: the
    # largest |w| maps to -8 (its sign in the scale), so only the other end can be clipped at 7
    deq = dequantised_4bit(model, 300)
    for start in range(0, 300, 32):
        block = slice(start, start + 32)
        step = np.abs(w.T[block]).max(axis=0) / 8
        assert np.all(np.abs(deq[block] - w.T[block]) <= step * (1 + 1e-6))
    # the product: NumPy's with those weights, up to the int8 rounding of the activations
    # (half a step, max |x| / 127, per input) times the weights' sizes
    want = np.maximum(x @ deq + b, 0)
    bound = np.abs(x).max(axis=1, keepdims=True) / 254 * np.abs(deq).sum(axis=0)
    got = run(int4, x)
    assert np.all(np.abs(got - want) <= bound + 1e-5)
    assert np.max(np.abs(got - expected)) < 0.2  # and near the float layer
    np.testing.assert_allclose(run(opt.optimise_offline(int4, "extended"), x), got, atol=1e-5)


def test_an_unknown_offline_level_is_one_clear_error(layer):
    w, b, _, _ = layer
    with pytest.raises(ZoomcampError, match="unknown ORT optimisation level"):
        opt.optimise_offline(dense_model(w, b, 1), "fastest")


def test_agreement_counts_decisions_and_accuracy():
    fp32 = np.array([[2.0], [-1.0], [0.5], [-0.2]], np.float32)
    int8 = np.array([[1.9], [-1.1], [-0.1], [-0.25]], np.float32)
    labels = np.array([1, 0, 1, 1], np.float32)
    found = opt.agreement(fp32, int8, labels)
    assert found["fp32_test_accuracy"] == 0.75  # right on 0, 1, 2
    assert found["test_accuracy"] == 0.5  # right on 0, 1
    assert found["same_decision_share"] == 0.75  # image 2 flips
    assert found["max_abs_logit_diff_vs_fp32"] == pytest.approx(0.6)
    assert found["test_images"] == 4


def figures(fp32_acc: float, acc: float, same: float) -> dict:
    return {
        "fp32_test_accuracy": fp32_acc,
        "test_accuracy": acc,
        "same_decision_share": same,
        "test_images": 201,
    }


def test_targets_accept_the_issues_bounds():
    opt.check_targets(figures(0.7264, 0.7264, 1.0))
    opt.check_targets(figures(0.7264, 0.7224, 0.99))  # 0.4 point lower, 2 of 201 flipped
    opt.check_targets(figures(0.70, 0.75, 0.995))  # better is never refused


@pytest.mark.parametrize(
    "fp32_acc, acc, same", [(0.7264, 0.7164, 1.0), (0.7264, 0.7264, 0.985), (0.7, 0.69, 0.9)]
)
def test_targets_refuse_a_model_that_misses_them(fp32_acc, acc, same):
    with pytest.raises(ZoomcampError, match="misses its targets.*not written"):
        opt.check_targets(figures(fp32_acc, acc, same))


def test_the_smoke_models_bounds_are_looser_but_still_refuse_a_broken_model():
    opt.check_targets(figures(0.6119, 0.6169, 0.95), fast=True)  # 10 of 201 flipped: smoke
    with pytest.raises(ZoomcampError, match="misses its targets"):
        opt.check_targets(figures(0.6119, 0.6169, 0.95))  # the same figures, a full model
    with pytest.raises(ZoomcampError, match="at least 90%"):
        opt.check_targets(figures(0.62, 0.50, 0.60), fast=True)  # a broken quantisation
