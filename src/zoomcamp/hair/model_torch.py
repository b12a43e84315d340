"""The PyTorch hair model's folders: ``models/hair-torch/`` (the state dict, the history and
the metadata, :mod:`zoomcamp.artifacts`) and its ONNX export ``models/hair-torch-onnx/``, what
09-serverless serves. The network and its training are :mod:`zoomcamp.hair.train_torch`
(imported only when a model is loaded or saved: this module is light to import).
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, fileio, paths
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair.data import IMAGE_SIZE

NAME, MODEL_FILE, HISTORY_FILE = "hair-torch", "hair_cnn.pt", "history.json"
ONNX_NAME, ONNX_FILE = "hair-torch-onnx", "hair_classifier.onnx"
INPUT_NAME, OUTPUT_NAME = hair.ONNX_INPUT, hair.ONNX_OUTPUT
OPSET = 17
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
    """``torch.onnx.export`` (TorchScript exporter: the dynamo one needs onnxscript, which is
    not installed) with a dynamic batch axis named ``N``."""
    import tempfile

    import torch

    example = torch.zeros(1, 3, IMAGE_SIZE[1], IMAGE_SIZE[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ONNX_FILE
        torch.onnx.export(
            model.eval(),
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}},
            opset_version=OPSET,
            dynamo=False,
        )
        if any(p.name != ONNX_FILE for p in Path(tmp).iterdir()):
            raise ZoomcampError("the export wrote external data; expected one self-contained file")
        return path.read_bytes()


def onnx_logits(onnx_bytes: bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]


def check_pixels(n: int, resample: str) -> np.ndarray:
    """``n`` real test images (both classes), decoded as in training (uint8 NHWC)."""
    root = hair.data_root()
    listing = hair.list_images(root)["test"]
    picks = [listing[i] for i in np.linspace(0, len(listing) - 1, n).astype(int)]
    return np.stack([hair.decode_pixels(root / rel, resample) for rel, _ in picks])


def export(model_dir: Path | None = None, output_dir: Path | None = None, n_check: int = 16):
    """ONNX of ``models/hair-torch/`` into ``models/hair-torch-onnx/``, written only after
    ONNX Runtime matches PyTorch to :data:`TOLERANCE` on ``n_check`` real test images."""
    import onnx
    import torch

    model_dir = paths.model_dir(NAME) if model_dir is None else Path(model_dir)
    output_dir = paths.model_dir(ONNX_NAME) if output_dir is None else Path(output_dir)
    model, meta = load_model(model_dir)
    resample = meta["preprocessing"]["resample"]
    data = to_onnx_bytes(model)
    onnx.checker.check_model(onnx.load_from_string(data))
    x = to_input(check_pixels(n_check, resample))
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    diff = float(np.max(np.abs(onnx_logits(data, x) - expected)))
    if not diff <= TOLERANCE:
        raise ZoomcampError(f"ONNX Runtime and PyTorch disagree: max |logit diff| {diff:.3g}")
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / artifacts.METADATA_FILE).unlink(missing_ok=True)
    with fileio.atomic_path(output_dir / ONNX_FILE) as tmp:
        tmp.write_bytes(data)
    return artifacts.save(
        output_dir,
        name=ONNX_NAME,
        files=[ONNX_FILE],
        packages=("onnx", "onnxruntime", *torch_packages()),
        data=meta["data"],
        metrics={
            **meta["metrics"],
            "onnx_vs_torch_max_abs_logit_diff": diff,
            "onnx_vs_torch_images": n_check,
        },
        **onnx_interface(resample),
        opset=OPSET,
        framework="pytorch",
        source={"name": meta["name"], "files": meta["files"]},
        training={k: meta.get(k) for k in ("config", "epochs_trained", "n_train", "n_test")},
    )
