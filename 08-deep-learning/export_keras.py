"""uv run python 08-deep-learning/export_keras.py [--model-dir models/hair-keras] [--output-dir models/hair-keras-onnx]

Exports the trained hair-type Keras model (``models/hair-keras/``, verified against its metadata)
to ONNX in ``models/hair-keras-onnx/``: ``hair_classifier.onnx`` (input ``input`` float32
[N, 3, 200, 200], channels first like the course's PyTorch model, transposed to NHWC inside
the graph; output ``output`` [N, 1], the raw logit, sigmoid = P(straight)) and
``metadata.json`` (``zoomcamp.artifacts``: digests, versions, the source model's digests, and
what a consumer must know: graph names, shapes, layout, classes and the preprocessing).
09-serverless's ``build.py`` copies that folder into its image. Converted with tf2onnx from a
``tf.function``; before anything is written, ONNX Runtime is checked against Keras on real
test images.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, cli, fileio, paths
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import model_keras as hair_model

log = logging.getLogger("hair.export")
OPSET = 17
TOLERANCE = 1e-4  # max abs difference of logits, ONNX Runtime vs Keras


def to_onnx(model):
    """Keras model (NHWC) -> ONNX ModelProto taking NCHW ``input`` and giving ``output``."""
    import tensorflow as tf
    import tf2onnx

    shape = hair_model.onnx_interface()["input_shape"]
    spec = [tf.TensorSpec(shape, tf.float32, name=hair_model.INPUT_NAME)]

    @tf.function(input_signature=spec)
    def nchw_logit(x):
        return {hair_model.OUTPUT_NAME: model(tf.transpose(x, [0, 2, 3, 1]), training=False)}

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
    return session.run([hair_model.OUTPUT_NAME], {hair_model.INPUT_NAME: x})[0]


def check_images(n: int) -> np.ndarray:
    """``n`` real test images (both classes), preprocessed exactly as in training."""
    listing = hair.list_images(hair.data_root())["test"]
    picks = [listing[i] for i in np.linspace(0, len(listing) - 1, n).astype(int)]
    return np.stack([hair.load_image(hair.data_root() / rel) for rel, _ in picks])


def export(model_dir: Path, output_dir: Path, n_check: int = 16) -> dict:
    import onnx

    model, meta = hair_model.load_model(model_dir)
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
    with fileio.atomic_path(output_dir / hair_model.ONNX_FILE) as tmp:
        tmp.write_bytes(data)
    out = artifacts.save(
        output_dir,
        name=hair_model.ONNX_NAME,
        files=[hair_model.ONNX_FILE],
        packages=("tf2onnx", "onnx", "onnxruntime", "keras", hair_model.tensorflow_distribution()),
        data=meta["data"],
        metrics={
            **meta["metrics"],
            "onnx_vs_keras_max_abs_logit_diff": diff,
            "onnx_vs_keras_images": n_check,
        },
        **hair_model.onnx_interface(),
        opset=OPSET,
        source={"name": meta["name"], "files": meta["files"]},
        training={k: meta.get(k) for k in ("config", "epochs_trained", "n_train", "n_test")},
    )
    log.info(
        "wrote %s (%d bytes); ONNX vs Keras max |diff| %.2g on %d test images",
        output_dir / hair_model.ONNX_FILE,
        len(data),
        diff,
        n_check,
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=None, help="default: models/hair")
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="default: models/hair-keras-onnx"
    )
    parser.add_argument(
        "--check-images", type=int, default=16, help="test images for the ONNX vs Keras check"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        model_dir = args.model_dir or paths.model_dir(hair_model.NAME)
        output_dir = args.output_dir or paths.model_dir(hair_model.ONNX_NAME)
        if args.check_images < 1:
            raise ZoomcampError("--check-images must be at least 1")
        result = export(model_dir, output_dir, args.check_images)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f"{output_dir}  {hair_model.ONNX_FILE} sha256={result['files'][hair_model.ONNX_FILE]}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
