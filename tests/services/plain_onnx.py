"""A plain ONNX model (no ``metadata.json``), as the course ships ``hair_classifier_empty.onnx``,
its preprocessing as the ``PREPROCESSING`` configuration, and a NumPy reference answer.

The model is tiny: global average pool -> Gemm, so its logit is ``W . channel means + B``;
the graph's names are not the project's (``pixels`` -> ``score``), so a handler that serves
it must take them from the graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

W, B = np.array([1.5, -2.0, 0.75]), -0.2
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def config(size=(200, 200), resample="nearest", **override) -> dict:
    """The homework's preprocessing (NEAREST, /255, ImageNet mean/std, NCHW) and answer."""
    return {
        "size": list(size),
        "resample": resample,
        "scale": 1 / 255,
        "mean": MEAN,
        "std": STD,
        "mode": "RGB",
        "layout": "NCHW",
        "output": "logit",
        "classes": ["curly", "straight"],
        "positive_class": "straight",
        **override,
    }


def write_model(path: Path, size=(200, 200), names=("pixels", "score")) -> Path:
    """The tiny model at ``path``; ``names=("input", "output")`` gives the course's interface."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    width, height = size
    inp, out = names
    w = numpy_helper.from_array(W.reshape(3, 1).astype(np.float32), "w")
    b = numpy_helper.from_array(np.array([B], dtype=np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", [inp], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("Gemm", ["flat", "w", "b"], [out]),
        ],
        "plain_hair",
        [helper.make_tensor_value_info(inp, TensorProto.FLOAT, ["N", 3, height, width])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 1])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def reference(img: Image.Image, cfg: dict) -> tuple[float, float]:
    """(logit, P(straight)) from the pixels, in float64, with the configured preprocessing."""
    resample = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR}[cfg["resample"]]
    rgb = img.convert("RGB").resize(tuple(cfg["size"]), resample)
    x = (np.asarray(rgb, dtype=np.float64) / 255.0 - MEAN) / STD  # HWC
    logit = float(x.mean(axis=(0, 1)) @ W + B)
    return logit, 1.0 / (1.0 + np.exp(-logit))


def env(model_path: Path, cfg: dict) -> dict[str, str]:
    return {"MODEL_PATH": str(model_path), "PREPROCESSING": json.dumps(cfg)}
