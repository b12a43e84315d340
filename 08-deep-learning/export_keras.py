"""uv run python 08-deep-learning/export_keras.py [--model-dir models/hair-keras] [--output-dir models/hair-keras-onnx]

Exports the Keras variant's hair-type model (verified against its metadata) to ONNX with
tf2onnx: the same interface as the PyTorch export (``input`` float32 [N, 3, 200, 200] ->
``output`` [N, 1] logit) and ``metadata.json``; written only if ONNX Runtime matches Keras
to 1e-4 on real test images.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, fileio, native_logs, paths, script
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import model_keras

log = logging.getLogger("hair.export")
OPSET = 17
TOLERANCE = 1e-4  # max abs difference of logits, ONNX Runtime vs Keras


def to_onnx(model):
    """Keras model (NHWC) -> ONNX ModelProto taking NCHW ``input`` and giving ``output``."""
    import tensorflow as tf
    import tf2onnx

    shape = model_keras.onnx_interface()["input_shape"]
    spec = [tf.TensorSpec(shape, tf.float32, name=model_keras.INPUT_NAME)]

    @tf.function(input_signature=spec)
    def nchw_logit(x):
        return {model_keras.OUTPUT_NAME: model(tf.transpose(x, [0, 2, 3, 1]), training=False)}

    with contextlib.redirect_stdout(sys.stderr):
        proto, _ = tf2onnx.convert.from_function(nchw_logit, input_signature=spec, opset=OPSET)
    for value in (*proto.graph.input, *proto.graph.output):  # name the batch dimension "N"
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    proto.doc_string = "hair type CNN (08-deep-learning): NCHW ImageNet-normalised 200x200 RGB -> logit of straight"
    return proto


def onnx_logits(onnx_bytes: bytes, x_nhwc: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))
    return session.run([model_keras.OUTPUT_NAME], {model_keras.INPUT_NAME: x})[0]


def check_images(n: int) -> np.ndarray:
    """``n`` real test images (both classes), preprocessed exactly as in training."""
    listing = hair.list_images(hair.data_root())["test"]
    picks = [listing[i] for i in np.linspace(0, len(listing) - 1, n).astype(int)]
    return np.stack([hair.load_image(hair.data_root() / rel) for rel, _ in picks])


def export(model_dir: Path, output_dir: Path, n_check: int = 16) -> dict:
    import onnx

    model, meta = model_keras.load_model(model_dir)
    proto = to_onnx(model)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    x = check_images(n_check)
    diff = float(np.max(np.abs(onnx_logits(data, x) - model.predict(x, verbose=0))))
    if not diff <= TOLERANCE:
        raise ZoomcampError(
            f"ONNX Runtime and Keras disagree: max |logit diff| {diff:.3g} > {TOLERANCE}"
        )
    (output_dir / artifacts.METADATA_FILE).unlink(missing_ok=True)
    with fileio.atomic_path(output_dir / model_keras.ONNX_FILE) as tmp:
        tmp.write_bytes(data)
    out = artifacts.save(
        output_dir,
        name=model_keras.ONNX_NAME,
        files=[model_keras.ONNX_FILE],
        packages=("tf2onnx", "onnx", "onnxruntime", "keras", model_keras.tensorflow_distribution()),
        data=meta["data"],
        metrics={
            **meta["metrics"],
            "onnx_vs_keras_max_abs_logit_diff": diff,
            "onnx_vs_keras_images": n_check,
        },
        **model_keras.onnx_interface(),
        opset=OPSET,
        source={"name": meta["name"], "files": meta["files"]},
        training={k: meta.get(k) for k in ("config", "epochs_trained", "n_train", "n_test")},
    )
    log.info(
        "wrote %s (%d bytes); ONNX vs Keras max |diff| %.2g on %d test images",
        output_dir / model_keras.ONNX_FILE,
        len(data),
        diff,
        n_check,
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--model-dir", type=Path, default=None, help="default: models/hair-keras")
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="default: models/hair-keras-onnx"
    )
    parser.add_argument(
        "--check-images", type=int, default=16, help="test images for the ONNX vs Keras check"
    )
    args = parser.parse_args(argv)
    if args.check_images < 1:
        raise ZoomcampError("--check-images must be at least 1")
    native_logs.filter_stderr()  # before TensorFlow is imported
    model_dir = args.model_dir or paths.model_dir(model_keras.NAME)
    output_dir = args.output_dir or paths.model_dir(model_keras.ONNX_NAME)
    result = export(model_dir, output_dir, args.check_images)
    print(
        f"{output_dir}  {model_keras.ONNX_FILE} sha256={result['files'][model_keras.ONNX_FILE]}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    script.run(main)
