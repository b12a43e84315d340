"""Hair type (curly vs straight), the 2025 homework in PyTorch, in one read, top to bottom:
the settings, the network, the data, the training loop, then :func:`train` (data -> fit ->
save) and :func:`report` (history files, curves).

Images are decoded once (:mod:`zoomcamp.hair.data`: first frame, RGB, PIL bilinear 200x200,
which is what ``Resize((200, 200))`` does to a PIL image) into uint8 arrays; ``ToTensor`` +
``Normalize`` then run on each batch. The model folder ``models/hair-torch/`` and its ONNX
export are :mod:`zoomcamp.hair.model_torch`; the history's statistics and curves
:mod:`zoomcamp.hair.history` (shared with the Keras variant).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from zoomcamp import artifacts, fileio, paths, settings
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import history, model_torch

log = logging.getLogger("hair.torch")


# ---------------------------------------------------------------- settings (the homework's)
@dataclass(frozen=True)
class Config:
    epochs: int = 10  # plain
    augmented_epochs: int = 10  # then the same model, continued with augmentation
    limit: int | None = None  # at most this many images per split, seeded (None: all)
    batch_size: int = 20
    learning_rate: float = 0.002  # SGD
    momentum: float = 0.8
    seed: int = 42  # torch and NumPy
    threads: int = 2  # fixed: the order of a sum depends on the thread count
    resize: str = "bilinear"  # Resize((200, 200)) on a PIL image: PIL's bilinear resize

    @property
    def plan(self) -> history.Plan:
        return history.Plan(self.epochs, self.augmented_epochs, self.limit)


FAST = Config(epochs=1, augmented_epochs=1, limit=60)  # ZOOMCAMP_FAST=1: tests, notebooks
ROTATION_DEGREES = 50  # RandomRotation(50)
CROP_SCALE, CROP_RATIO = (0.9, 1.0), (0.9, 1.1)  # RandomResizedCrop(200, scale=, ratio=)
# Speed, same numbers: max-pooling and ReLU commute (values and gradients), so ReLU can run
# on the pooled quarter of the values; 1.5-2x faster a step here (README, Decisions).
POOL_BEFORE_RELU = True


# ---------------------------------------------------------------- the network
class HairCNN(nn.Module):
    """3x200x200 -> Conv2d(3, 32, 3x3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(313632, 64)
    -> ReLU -> Linear(64, 1): one logit, sigmoid = P(straight)."""

    def __init__(self, pool_before_relu: bool = POOL_BEFORE_RELU) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, kernel_size=3)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        side = (hair.IMAGE_SIZE[0] - 2) // 2  # 3x3 without padding: 198, pooled: 99
        self.fc1 = nn.Linear(32 * side * side, 64)
        self.fc2 = nn.Linear(64, 1)
        self.pool_before_relu = pool_before_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.relu(self.pool(x)) if self.pool_before_relu else self.pool(self.relu(x))
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        return self.fc2(x)


def build_model() -> HairCNN:
    """A fresh :class:`HairCNN` with its weights stored channels-last: oneDNN's convolution
    and max-pooling are several times faster so on CPU (the recorded history was trained so;
    the default layout gives the same to float rounding)."""
    return HairCNN().to(memory_format=torch.channels_last)


def count_params(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


# ---------------------------------------------------------------- the data
class HairImages(Dataset):
    """Decoded images (uint8 NHWC array) and labels, served as uint8 CHW tensors."""

    def __init__(self, pixels: np.ndarray, labels: np.ndarray) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.images[i], self.labels[i]


# ToTensor + Normalize, on uint8 CHW tensors (an image or a whole batch)
normalise = v2.Compose(
    [v2.ToDtype(torch.float32, scale=True), v2.Normalize(hair.MEAN_VALUES, hair.STD_VALUES)]
)
# The homework's augmentation, on one uint8 image: new random draws for every image
augment = v2.Compose(
    [
        v2.RandomRotation(ROTATION_DEGREES),
        v2.RandomResizedCrop(hair.IMAGE_SIZE[0], scale=CROP_SCALE, ratio=CROP_RATIO),
        v2.RandomHorizontalFlip(),
    ]
)


def augmented_batch(batch):
    """``collate_fn``: :data:`augment` on each image, in order (the draws of a per-item
    transform), on one thread: a 200x200 image is too small to split, and more threads made
    an augmented epoch about 2x slower here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        images = torch.stack([augment(image) for image, _ in batch])
    finally:
        torch.set_num_threads(threads)
    return images, torch.stack([label for _, label in batch])


# ---------------------------------------------------------------- the training loop
def configure(config: Config = Config()) -> None:
    """Seed torch and NumPy, fix the thread count, deterministic kernels only."""
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)


def train_epoch(model, loader, criterion, optimizer) -> tuple[float, float]:
    """One epoch as the homework's loop: loss averaged over images, accuracy of sigmoid > 0.5."""
    model.train()
    running_loss, correct, total = 0.0, 0, 0
    for pixels, labels in loader:
        images, labels = normalise(pixels), labels.float().unsqueeze(1)
        optimizer.zero_grad()
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * images.size(0)
        correct += int(((torch.sigmoid(outputs) > 0.5).float() == labels).sum().item())
        total += labels.size(0)
    return running_loss / total, correct / total


@torch.no_grad()
def evaluate(model, loader, criterion) -> tuple[float, float]:
    model.eval()
    running_loss, correct, total = 0.0, 0, 0
    for pixels, labels in loader:
        images, labels = normalise(pixels), labels.float().unsqueeze(1)
        outputs = model(images)
        running_loss += criterion(outputs, labels).item() * images.size(0)
        correct += int(((torch.sigmoid(outputs) > 0.5).float() == labels).sum().item())
        total += labels.size(0)
    return running_loss / total, correct / total


def fit(data: hair.HairData, config: Config = Config(), echo=None):
    """(model, history, seconds per epoch) on uint8 pixel arrays: ``config.epochs`` plain
    epochs, then ``config.augmented_epochs`` with augmentation, testing after each."""
    configure(config)  # before the model: its initial weights are seeded
    model = build_model()
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.learning_rate, momentum=config.momentum
    )
    train_set = HairImages(data.x_train, data.y_train)
    plain = DataLoader(train_set, batch_size=config.batch_size, shuffle=True)
    augmented = DataLoader(
        train_set, batch_size=config.batch_size, shuffle=True, collate_fn=augmented_batch
    )
    test = DataLoader(HairImages(data.x_test, data.y_test), batch_size=config.batch_size)
    result: dict[str, list[float]] = {
        "loss": [],
        "accuracy": [],
        "val_loss": [],
        "val_accuracy": [],
    }
    seconds: list[float] = []
    for epoch in range(config.epochs + config.augmented_epochs):
        t0 = time.perf_counter()
        loader = plain if epoch < config.epochs else augmented
        loss, acc = train_epoch(model, loader, criterion, optimizer)
        val_loss, val_acc = evaluate(model, test, criterion)
        seconds.append(time.perf_counter() - t0)
        for key, value in zip(result, (loss, acc, val_loss, val_acc), strict=True):
            result[key].append(float(value))
        if echo:
            echo(
                f"epoch {epoch + 1:2d}: loss {loss:.4f} acc {acc:.4f} val_loss {val_loss:.4f} "
                f"val_acc {val_acc:.4f} ({seconds[-1]:.1f} s)"
            )
    return model, result, seconds


def train(config: Config = Config(), out_dir: Path | None = None, reports: bool | None = None):
    """Data -> fit -> save ``models/hair-torch/`` (the final epoch's weights: no selection on
    the test set); reports by default for the homework's plan and in fast mode (whose reports
    folder is the scratch one). Returns the history record."""
    data = hair.load_data(limit=config.limit, resample=config.resize, normalised=False)
    if len(data.x_train) == 0 or len(data.x_test) == 0:
        raise ZoomcampError("no images to train on")
    model, curves, seconds = fit(data, config, echo=lambda m: print(m, file=sys.stderr))
    result = {
        "module": hair.MODULE,
        "framework": "pytorch",
        "config": asdict(config),
        "plain_epochs": config.epochs,
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "skipped": data.skipped,
        "data_listing_sha256": data.digest,
        "history": curves,
        "versions": versions(),
        "metrics": {
            "final_test_accuracy": curves["val_accuracy"][-1],
            "final_test_loss": curves["val_loss"][-1],
            "params": count_params(model),
        },
    }
    out_dir = model_torch.save(model, result, seconds, out_dir)
    if reports is None:
        reports = config.plan == Config().plan or settings.fast_mode()
    report(result, seconds, reports)
    log.info("final test accuracy %.4f; saved %s", curves["val_accuracy"][-1], out_dir)
    return result


# ---------------------------------------------------------------- reporting
def report(result: dict, seconds: list[float], reports: bool = True) -> None:
    """Epoch times into ``runs/hair-torch-seconds.json`` (never committed); with ``reports``,
    ``hair-torch-history.json`` (no timings: deterministic) and ``hair-torch-curves.png``."""
    median = float(np.median(seconds))
    fileio.write_json(
        paths.runs_dir() / "hair-torch-seconds.json",
        {"config": result["config"], "seconds": seconds, "median": median},
    )
    if reports:
        title = f"Hair type CNN, PyTorch: {result['n_train']} train / {result['n_test']} test"
        history.save_reports(model_torch.NAME, result, title)
    log.info("median %.2f s/epoch", median)


def versions() -> dict[str, str]:
    import PIL
    import torchvision

    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }


def wanted_config() -> Config:
    """The homework's settings, or the tiny ones under ZOOMCAMP_FAST=1."""
    return FAST if settings.fast_mode() else Config()


def recorded_history() -> dict:
    """The history in ``models/hair-torch/`` when trained with the wanted settings; else
    trains them first."""
    config = wanted_config()
    folder = paths.model_dir(model_torch.NAME)
    if (folder / artifacts.METADATA_FILE).is_file():
        result = history.read_history(artifacts.file(folder, model_torch.HISTORY_FILE))
        if history.matches(result, config.plan):
            return result
        log.warning("%s was trained with other settings; training again", folder)
    return train(config)
