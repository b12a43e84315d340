"""uv run python 08-deep-learning/export.py [--model PATH] [--output-dir 09-serverless/model]

Exports the trained hair-type Keras model to ONNX for 09-serverless: ``hair_classifier.onnx``
(one file; input ``input`` float32 [N, 3, 200, 200], channels first like the course's
PyTorch model, transposed to NHWC inside the graph; output ``output`` [N, 1], the raw logit,
sigmoid = P(straight)) and ``hair_classifier.json`` (names, shapes, classes, the input
pipeline's preprocessing, digests of both files, versions, metrics). Converted with tf2onnx
from a ``tf.function``; before anything is written, ONNX Runtime is checked against Keras on
real test images. Both files are written atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

import hair
import hair_model
import numpy as np

from zoomcamp import io, paths
from zoomcamp.errors import ZoomcampError

log = logging.getLogger("hair.export")
ONNX_NAME = "hair_classifier.onnx"
META_NAME = "hair_classifier.json"
OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "output"
TOLERANCE = 1e-4  # max abs difference of logits, ONNX Runtime vs Keras


def default_model() -> Path:
    return hair_model.run_dir() / "hair-model.keras"


def default_output_dir() -> Path:
    return paths.REPO_ROOT / "09-serverless" / "model"


def to_onnx(model):
    """Keras model (NHWC) -> ONNX ModelProto taking NCHW ``input`` and giving ``output``."""
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec([None, 3, *hair.IMAGE_SIZE[::-1]], tf.float32, name=INPUT_NAME)]

    @tf.function(input_signature=spec)
    def nchw_logit(x):
        return {OUTPUT_NAME: model(tf.transpose(x, [0, 2, 3, 1]), training=False)}

    with contextlib.redirect_stdout(sys.stderr):
        proto, _ = tf2onnx.convert.from_function(nchw_logit, input_signature=spec, opset=OPSET)
    for value in (*proto.graph.input, *proto.graph.output):  # name the batch dimension "N"
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    proto.doc_string = "hair type CNN (08-deep-learning): NCHW ImageNet-normalised 200x200 RGB -> logit of straight"
    return proto


def onnx_logits(onnx_bytes: bytes, x_nhwc: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    return session.run(
        [OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))}
    )[0]


def check_images(n: int) -> np.ndarray:
    """``n`` real test images (both classes), preprocessed exactly as in training."""
    listing = hair.list_images(hair.data_root())["test"]
    picks = [listing[i] for i in np.linspace(0, len(listing) - 1, n).astype(int)]
    return np.stack([hair.load_image(hair.data_root() / rel) for rel, _ in picks])


def export(model_path: Path, output_dir: Path, n_check: int = 16) -> dict:
    import keras
    import onnx
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    model, meta = hair_model.load_model(model_path)
    proto = to_onnx(model)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    x = check_images(n_check)
    diff = float(np.max(np.abs(onnx_logits(data, x) - model.predict(x, verbose=0))))
    if not diff <= TOLERANCE:
        raise ZoomcampError(
            f"ONNX Runtime and Keras disagree: max |logit diff| {diff:.3g} > {TOLERANCE}"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = output_dir / ONNX_NAME
    with io.atomic_path(onnx_path) as tmp:
        tmp.write_bytes(data)
    out = {
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": [None, 3, *hair.IMAGE_SIZE[::-1]],
        "output_shape": [None, 1],
        "output": "logit",
        "classes": list(hair.CLASSES),
        "positive_class": "straight",
        "preprocessing": {
            "size": list(hair.IMAGE_SIZE),
            "resample": "nearest",
            "mode": "RGB",
            "first_frame": True,
            "scale": 1 / 255,
            "mean": hair.MEAN_VALUES,
            "std": hair.STD_VALUES,
            "layout": "NCHW",
        },
        "opset": OPSET,
        "onnx_sha256": io.sha256_file(onnx_path),
        "keras_model_sha256": meta["keras_model_sha256"],
        "data_listing_sha256": meta.get("data_listing_sha256"),
        "versions": {
            **meta.get("versions", {}),
            "export_tensorflow": tf.__version__,
            "export_keras": keras.__version__,
            "tf2onnx": tf2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "metrics": {
            **meta.get("metrics", {}),
            "onnx_vs_keras_max_abs_logit_diff": diff,
            "onnx_vs_keras_images": n_check,
        },
        "training": {k: meta.get(k) for k in ("config", "epochs_trained", "n_train", "n_test")},
    }
    io.write_json(output_dir / META_NAME, out)
    for path in (onnx_path, output_dir / META_NAME):  # temp files are 0600; readers (Docker) need r
        path.chmod(0o644)
    log.info(
        "wrote %s (%d bytes) and %s; ONNX vs Keras max |diff| %.2g on %d test images",
        onnx_path,
        len(data),
        META_NAME,
        diff,
        n_check,
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=default_model(), help="trained .keras model")
    parser.add_argument(
        "--output-dir", type=Path, default=default_output_dir(), help="where the two files go"
    )
    parser.add_argument(
        "--check-images", type=int, default=16, help="test images for the ONNX vs Keras check"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = export(args.model, args.output_dir, args.check_images)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"{args.output_dir / ONNX_NAME}  onnx_sha256={result['onnx_sha256']}", file=sys.stderr)


if __name__ == "__main__":
    main()
