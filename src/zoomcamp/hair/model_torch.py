"""The PyTorch hair model's folders: ``models/hair-torch/`` (the state dict, the history and
the metadata, :mod:`zoomcamp.artifacts`) and its ONNX exports: ``models/hair-torch-onnx/``,
the optimised model 09-serverless serves by default (:mod:`zoomcamp.hair.onnx_optimise`),
and ``models/hair-torch-onnx-fp32/``, the plain fp32 graph. The network and its training are
:mod:`zoomcamp.hair.train_torch` (imported only when a model is loaded or saved: this module
is light to import).
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, fileio, paths, settings
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair.data import IMAGE_SIZE

NAME, MODEL_FILE, HISTORY_FILE = "hair-torch", "hair_cnn.pt", "history.json"
ONNX_NAME, ONNX_FP32_NAME = "hair-torch-onnx", "hair-torch-onnx-fp32"
ONNX_FILE = "hair_classifier.onnx"  # the same name in both folders: 09 loads either
INPUT_NAME, OUTPUT_NAME = hair.ONNX_INPUT, hair.ONNX_OUTPUT
# the dynamo exporter's lowest own opset (asked for 17, it converts down with a warning)
OPSET = 18
EXPORTER = "torch.onnx.export(dynamo=True)"
TOLERANCE = 1e-4  # max |logit difference|, ONNX Runtime vs PyTorch
ARCHITECTURE = (
    "3x200x200 -> Conv2d(32,3x3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(64) -> ReLU "
    "-> Linear(1) logit"
)


def to_input(pixels: np.ndarray) -> np.ndarray:
    """uint8 NHWC pixels -> the model's float32 NCHW input (NumPy, no torch needed)."""
    return np.ascontiguousarray(hair.normalise(pixels).transpose(0, 3, 1, 2))


# ---------------------------------------------------------------- the model folders


def torch_packages() -> tuple[str, ...]:
    return ("torch", "torchvision")


def save(model, result: dict, seconds: list[float], folder: Path | None = None) -> Path:
    """The model folder (default ``models/hair-torch/``): the state dict, ``history.json``
    (``result`` with the epoch times) and the metadata last, so an interrupted save leaves a
    folder that does not verify rather than a half-verified one."""
    import torch

    folder = paths.model_dir(NAME) if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / artifacts.METADATA_FILE).unlink(missing_ok=True)
    # via memory: torch.save names the archive after the file, and the atomic temp name is
    # random; from a buffer the bytes depend on the weights only
    buffer = BytesIO()
    torch.save(model.state_dict(), buffer)
    with fileio.atomic_path(folder / MODEL_FILE) as tmp:
        tmp.write_bytes(buffer.getvalue())
    fileio.write_json(folder / HISTORY_FILE, {**result, "seconds": seconds})
    config = result["config"]
    artifacts.save(
        folder,
        name=NAME,
        files=[MODEL_FILE, HISTORY_FILE],
        packages=torch_packages(),
        data={hair.DATASET: result["data_listing_sha256"]},
        metrics=result["metrics"],
        architecture=ARCHITECTURE,
        classes=list(hair.CLASSES),
        positive_class=hair.CLASSES[1],
        output="logit",
        preprocessing=hair.preprocessing(config["resize"]),
        config=config,
        n_train=result["n_train"],
        n_test=result["n_test"],
        skipped=result["skipped"],
        epochs_trained=len(seconds),
    )
    return folder


def load_model(folder: Path | None = None):
    """(model in eval mode, metadata) of a verified ``models/hair-torch/``."""
    import torch

    from zoomcamp.hair.train_torch import build_model

    folder = paths.model_dir(NAME) if folder is None else Path(folder)
    meta = artifacts.verify(folder)
    model = build_model()
    state = torch.load(folder / MODEL_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval(), meta


def onnx_interface(resample: str) -> dict:
    """The ONNX export's interface (:func:`zoomcamp.hair.data.onnx_interface`) with the
    model's own resize (the PyTorch track's is bilinear)."""
    return hair.onnx_interface(resample)


def to_onnx_bytes(model) -> bytes:
    """``torch.onnx.export`` with the supported (dynamo) exporter, a dynamic batch axis ``N``
    and every weight inside the one file."""
    import logging
    import tempfile

    import torch

    for chatty in ("onnxscript", "onnx_ir"):  # a line per optimisation pass at INFO
        logging.getLogger(chatty).setLevel(logging.WARNING)
    example = torch.zeros(1, 3, IMAGE_SIZE[1], IMAGE_SIZE[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ONNX_FILE
        torch.onnx.export(
            model.eval(),
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("N")},),
            opset_version=OPSET,
            external_data=False,
            dynamo=True,
            verbose=False,
        )
        if any(p.name != ONNX_FILE for p in Path(tmp).iterdir()):
            raise ZoomcampError("the export wrote external data; expected one self-contained file")
        return path.read_bytes()


def decoded_test_split(resample: str) -> tuple[np.ndarray, np.ndarray]:
    """Every test image, decoded as in training (uint8 NHWC), and its label (1 = straight)."""
    root = hair.data_root()
    pixels, labels, _, _ = hair._decode_all(root, hair.list_images(root)["test"], resample)
    return pixels, labels


def export(
    model_dir: Path | None = None,
    output_dir: Path | None = None,
    n_check: int = 16,
    fp32: bool = False,
) -> dict:
    """ONNX of ``models/hair-torch/``, checked first against PyTorch to :data:`TOLERANCE` on
    ``n_check`` real test images. ``fp32``: that graph into ``models/hair-torch-onnx-fp32/``;
    otherwise the optimised model into ``models/hair-torch-onnx/``, written only if it meets
    :func:`zoomcamp.hair.onnx_optimise.check_targets` on every test image. The metadata."""
    import onnx
    import torch

    from zoomcamp.hair import onnx_optimise as opt

    model_dir = paths.model_dir(NAME) if model_dir is None else Path(model_dir)
    name = ONNX_FP32_NAME if fp32 else ONNX_NAME
    output_dir = paths.model_dir(name) if output_dir is None else Path(output_dir)
    model, meta = load_model(model_dir)
    resample = meta["preprocessing"]["resample"]
    data = to_onnx_bytes(model)
    onnx.checker.check_model(onnx.load_from_string(data))
    pixels, labels = decoded_test_split(resample)
    picks = np.linspace(0, len(pixels) - 1, min(n_check, len(pixels))).astype(int)
    x = to_input(pixels[picks])
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    diff = float(
        np.max(np.abs(opt.session(data).run([OUTPUT_NAME], {INPUT_NAME: x})[0] - expected))
    )
    if not diff <= TOLERANCE:
        raise ZoomcampError(f"ONNX Runtime and PyTorch disagree: max |logit diff| {diff:.3g}")
    metrics = {
        **meta["metrics"],
        "onnx_vs_torch_max_abs_logit_diff": diff,
        "onnx_vs_torch_images": len(picks),
    }
    extra: dict = {}
    if not fp32:
        fp32_data, data = data, opt.optimise(data)
        x_all = to_input(pixels)
        found = opt.agreement(
            opt.logits(fp32_data, x_all, INPUT_NAME, OUTPUT_NAME),
            opt.logits(data, x_all, INPUT_NAME, OUTPUT_NAME),
            labels,
        )
        opt.check_targets(found, fast=settings.fast_mode())
        metrics.update(found)
        extra["optimization"] = opt.record(fp32_data, ONNX_FP32_NAME)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / artifacts.METADATA_FILE).unlink(missing_ok=True)
    with fileio.atomic_path(output_dir / ONNX_FILE) as tmp:
        tmp.write_bytes(data)
    return artifacts.save(
        output_dir,
        name=name,
        files=[ONNX_FILE],
        packages=("onnx", "onnxruntime", "onnxscript", *torch_packages()),
        data=meta["data"],
        metrics=metrics,
        **onnx_interface(resample),
        opset=OPSET,
        exporter=EXPORTER,
        framework="pytorch",
        source={"name": meta["name"], "files": meta["files"]},
        training={k: meta.get(k) for k in ("config", "epochs_trained", "n_train", "n_test")},
        **extra,
    )
