"""Hair type (curly vs straight) in PyTorch, as the 2025 homework sets it: the class-based
CNN, the ``Dataset`` over decoded images, the torchvision transforms, the model folder
``models/hair-torch/`` and its ONNX export ``models/hair-torch-onnx/`` (what 09-serverless
serves). Training is :mod:`zoomcamp.hair.train_torch`; decoding and the array cache are
:mod:`zoomcamp.hair.data` (shared with the Keras track of :mod:`zoomcamp.hair.model_keras`).

The homework's transforms run on PIL images; here every image is decoded once (first frame,
RGB, ``Resize((200, 200))`` = PIL bilinear, exactly what torchvision does to a PIL image)
into uint8 tensors, and the rest runs per image on tensors with ``torchvision.transforms.v2``
(same results as ``ToTensor`` + ``Normalize``; augmentation applies to the 200x200 image
rather than the original, the one departure, for speed).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, fileio, paths
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair.data import CROP_RATIO, CROP_SCALE, IMAGE_SIZE, ROTATION_DEGREES, SEED

RESAMPLE = "bilinear"  # torchvision Resize((200, 200)) on a PIL image
THREADS = 2  # fixed, so that two runs on any machine sum in the same order

NAME, MODEL_FILE, HISTORY_FILE = "hair-torch", "hair_cnn.pt", "history.json"
ONNX_NAME, ONNX_FILE = "hair-torch-onnx", "hair_classifier.onnx"
INPUT_NAME, OUTPUT_NAME = "input", "output"
OPSET = 17
TOLERANCE = 1e-4  # max |logit difference|, ONNX Runtime vs PyTorch
ARCHITECTURE = (
    "3x200x200 -> Conv2d(32,3x3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(64) -> ReLU "
    "-> Linear(1) logit"
)


def configure(threads: int = THREADS) -> None:
    """Seed torch and NumPy (42), fix the thread count, deterministic kernels only."""
    import torch

    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)


def _module_class():
    import torch
    from torch import nn

    class HairCNN(nn.Module):
        """The homework's network, class-based: one logit (sigmoid = P(straight))."""

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 32, kernel_size=3)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            side = (IMAGE_SIZE[0] - 2) // 2  # 3x3 without padding, then pooling by 2
            self.fc1 = nn.Linear(32 * side * side, 64)
            self.fc2 = nn.Linear(64, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # Speed, same numbers: channels-last makes oneDNN's convolution and max-pooling
            # several times faster on CPU, and ReLU commutes with max-pooling (both values and
            # gradients), so it runs on the pooled quarter of the values.
            x = self.conv(x.contiguous(memory_format=torch.channels_last))
            x = self.relu(self.pool(x))
            x = torch.flatten(x, 1)
            return self.fc2(self.relu(self.fc1(x)))

    return HairCNN


def build_model():
    """A fresh :class:`HairCNN` (call :func:`configure` first for the seeded weights)."""
    import torch

    return _module_class()().to(memory_format=torch.channels_last)


def count_params(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


# ---------------------------------------------------------------- data


def plain_transform():
    """``ToTensor`` + ``Normalize`` for uint8 CHW tensors (one image or a batch): scale to
    [0, 1], ImageNet mean/std. Applied to whole batches in the training loop: per image, the
    transform's overhead cost more than the arithmetic (2-3 s an epoch here)."""
    import torch
    from torchvision.transforms import v2

    return v2.Compose(
        [
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=hair.MEAN_VALUES, std=hair.STD_VALUES),
        ]
    )


def augment_transform():
    """The homework's augmentation on one uint8 CHW image (per image in the ``Dataset``, so
    every image gets new random draws): rotation up to 50 degrees (nearest, black corners),
    random resized crop to 200x200 (area 0.9-1, ratio 0.9-1.1, bilinear), horizontal flip.
    :func:`plain_transform` follows on the batch."""
    from torchvision.transforms import v2

    return v2.Compose(
        [
            v2.RandomRotation(ROTATION_DEGREES),
            v2.RandomResizedCrop(IMAGE_SIZE[0], scale=CROP_SCALE, ratio=CROP_RATIO),
            v2.RandomHorizontalFlip(),
        ]
    )


def _dataset_class():
    import torch
    from torch.utils.data import Dataset

    class HairImages(Dataset):
        """Decoded images (uint8 NHWC array) and labels; ``transform`` (None: none) runs per
        item and keeps uint8; :func:`plain_transform` then runs on the batch."""

        def __init__(self, pixels: np.ndarray, labels: np.ndarray, transform) -> None:
            self.images = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2)
            self.labels = torch.from_numpy(np.asarray(labels, dtype=np.float32))
            self.transform = transform

        def __len__(self) -> int:
            return len(self.labels)

        def __getitem__(self, i: int):
            image = self.images[i]
            return (image if self.transform is None else self.transform(image)), self.labels[i]

    return HairImages


def dataset(pixels: np.ndarray, labels: np.ndarray, transform=None):
    return _dataset_class()(pixels, labels, transform)


def collate_with(transform):
    """A ``DataLoader`` ``collate_fn`` applying ``transform`` to each image of the batch, in
    order (the same random draws as a per-item transform in the ``Dataset``), on one thread:
    a 200x200 image is too small to split across threads, and switching the thread count per
    image (or running these on 2 threads) made an augmented epoch about 2x slower here."""
    import torch

    def collate(batch):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            images = torch.stack([transform(image) for image, _ in batch])
        finally:
            torch.set_num_threads(threads)
        return images, torch.stack([label for _, label in batch])

    return collate


def to_input(pixels: np.ndarray) -> np.ndarray:
    """uint8 NHWC pixels -> the model's float32 NCHW input (NumPy, no torch needed)."""
    return np.ascontiguousarray(hair.normalise(pixels).transpose(0, 3, 1, 2))


# ---------------------------------------------------------------- the model folders


def torch_packages() -> tuple[str, ...]:
    return ("torch", "torchvision")


def load_model(folder: Path | None = None):
    """(model in eval mode, metadata) of a verified ``models/hair-torch/``."""
    import torch

    folder = paths.model_dir(NAME) if folder is None else Path(folder)
    meta = artifacts.verify(folder)
    model = build_model()
    state = torch.load(folder / MODEL_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval(), meta


def onnx_interface() -> dict:
    """The consumer's view, the same fields as the Keras export's
    (:func:`zoomcamp.hair.model_keras.onnx_interface`), with this track's bilinear resize."""
    return {
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": [None, 3, IMAGE_SIZE[1], IMAGE_SIZE[0]],
        "output_shape": [None, 1],
        "output": "logit",
        "classes": list(hair.CLASSES),
        "positive_class": hair.CLASSES[1],
        "preprocessing": {**hair.preprocessing(RESAMPLE), "layout": "NCHW"},
    }


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


def check_pixels(n: int) -> np.ndarray:
    """``n`` real test images (both classes), decoded as in training (uint8 NHWC)."""
    root = hair.data_root()
    listing = hair.list_images(root)["test"]
    picks = [listing[i] for i in np.linspace(0, len(listing) - 1, n).astype(int)]
    return np.stack([hair.decode_pixels(root / rel, RESAMPLE) for rel, _ in picks])


def export(model_dir: Path | None = None, output_dir: Path | None = None, n_check: int = 16):
    """ONNX of ``models/hair-torch/`` into ``models/hair-torch-onnx/``, written only after
    ONNX Runtime matches PyTorch to :data:`TOLERANCE` on ``n_check`` real test images."""
    import onnx
    import torch

    model_dir = paths.model_dir(NAME) if model_dir is None else Path(model_dir)
    output_dir = paths.model_dir(ONNX_NAME) if output_dir is None else Path(output_dir)
    model, meta = load_model(model_dir)
    data = to_onnx_bytes(model)
    onnx.checker.check_model(onnx.load_from_string(data))
    x = to_input(check_pixels(n_check))
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
        **onnx_interface(),
        opset=OPSET,
        framework="pytorch",
        source={"name": meta["name"], "files": meta["files"]},
        training={k: meta.get(k) for k in ("config", "epochs_trained", "n_train", "n_test")},
    )


def torch_version() -> str:
    return importlib.metadata.version("torch")
