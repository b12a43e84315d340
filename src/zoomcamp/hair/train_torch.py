"""Hair type in PyTorch: the homework's training loop (10 plain + 10 augmented epochs of the
same model, tested after each), the model folder ``models/hair-torch/`` it writes and the
reports ``hair-torch-history.json`` (no timings) and ``hair-torch-curves.png``. The model,
data and transforms are :mod:`zoomcamp.hair.model_torch`; the history is read and answered with
:mod:`zoomcamp.hair.train_keras`'s helpers (same keys as the Keras track).
"""

from __future__ import annotations

import logging
import sys
import time
from io import BytesIO
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, fileio, paths, reports, settings
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import model_torch as hair_torch
from zoomcamp.hair import train_keras as hair_train

log = logging.getLogger("hair.torch")


def versions() -> dict[str, str]:
    import PIL
    import torch
    import torchvision

    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }


def _run_epoch(model, loader, criterion, optimizer=None) -> tuple[float, float]:
    """One pass as the homework's loop writes it: loss averaged over images (loss.item() x
    batch size / n), accuracy of sigmoid > 0.5. Trains when ``optimizer`` is given. The
    loader yields uint8 batches; ``ToTensor`` + ``Normalize`` run on each whole batch."""
    import torch

    normalise = hair_torch.plain_transform()
    model.train(optimizer is not None)
    total_loss, correct, total = 0.0, 0, 0
    with torch.set_grad_enabled(optimizer is not None):
        for pixels, labels in loader:
            images = normalise(pixels)
            labels = labels.float().unsqueeze(1)
            if optimizer is not None:
                optimizer.zero_grad()
            outputs = model(images)
            loss = criterion(outputs, labels)
            if optimizer is not None:
                loss.backward()
                optimizer.step()
            total_loss += loss.item() * images.size(0)
            correct += int(((torch.sigmoid(outputs) > 0.5).float() == labels).sum().item())
            total += labels.size(0)
    return total_loss / total, correct / total


def fit(
    data: hair.HairData,
    epochs: int = hair.EPOCHS,
    augmented_epochs: int = hair.AUGMENTED_EPOCHS,
    threads: int = hair_torch.THREADS,
    echo=None,
):
    """(model, history, seconds per epoch) on uint8 pixel arrays; seeded before the model
    is built, so the same data give the same history."""
    import torch
    from torch.utils.data import DataLoader

    hair_torch.configure(threads)
    model = hair_torch.build_model()
    criterion = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=hair.LEARNING_RATE, momentum=hair.MOMENTUM)
    test = hair_torch.dataset(data.x_test, data.y_test)
    test_loader = DataLoader(test, batch_size=hair.BATCH_SIZE, shuffle=False)
    history: dict[str, list[float]] = {
        k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy")
    }
    seconds: list[float] = []
    for n, transform in (
        (epochs, None),
        (augmented_epochs, hair_torch.augment_transform()),
    ):
        train = hair_torch.dataset(data.x_train, data.y_train)
        collate = None if transform is None else hair_torch.collate_with(transform)
        loader = DataLoader(train, batch_size=hair.BATCH_SIZE, shuffle=True, collate_fn=collate)
        for _ in range(n):
            t0 = time.perf_counter()
            loss, acc = _run_epoch(model, loader, criterion, optimizer)
            val_loss, val_acc = _run_epoch(model, test_loader, criterion)
            seconds.append(time.perf_counter() - t0)
            for k, v in zip(history, (loss, acc, val_loss, val_acc), strict=True):
                history[k].append(float(v))
            if echo:
                echo(
                    f"epoch {len(seconds):2d}: loss {loss:.4f} acc {acc:.4f} "
                    f"val_loss {val_loss:.4f} val_acc {val_acc:.4f} ({seconds[-1]:.1f} s)"
                )
    return model, history, seconds


def train(
    epochs: int = hair.EPOCHS,
    augmented_epochs: int = hair.AUGMENTED_EPOCHS,
    limit: int | None = None,
    out_dir: Path | None = None,
    write_reports: bool | None = None,
    threads: int = hair_torch.THREADS,
) -> dict:
    """Train, save ``models/hair-torch/`` (the final epoch's state dict: no selection on
    test), and return the history. Reports are written for the full run and in fast mode
    (whose reports folder is the scratch one); timings go to the model folder and the runs
    folder only."""
    import torch

    full = (epochs, augmented_epochs, limit) == (hair.EPOCHS, hair.AUGMENTED_EPOCHS, None)
    out_dir = paths.model_dir(hair_torch.NAME) if out_dir is None else Path(out_dir)
    if write_reports is None:
        write_reports = full or settings.fast_mode()
    data = hair.load_data(limit=limit, resample=hair_torch.RESAMPLE, normalised=False)
    if len(data.x_train) == 0 or len(data.x_test) == 0:
        raise ZoomcampError("no images to train on")
    model, history, seconds = fit(
        data, epochs, augmented_epochs, threads, echo=lambda m: print(m, file=sys.stderr)
    )
    config = {
        "epochs": epochs,
        "augmented_epochs": augmented_epochs,
        "limit": limit,
        "batch_size": hair.BATCH_SIZE,
        "learning_rate": hair.LEARNING_RATE,
        "momentum": hair.MOMENTUM,
        "seed": hair.SEED,
        "threads": threads,
        "resize": hair_torch.RESAMPLE,
    }
    metrics = {
        "final_test_accuracy": history["val_accuracy"][-1],
        "final_test_loss": history["val_loss"][-1],
        "params": hair_torch.count_params(model),
    }
    result = {
        "module": hair.MODULE,
        "framework": "pytorch",
        "config": config,
        "plain_epochs": epochs,
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "skipped": data.skipped,
        "data_listing_sha256": data.digest,
        "history": history,
        "versions": versions(),
        "metrics": metrics,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / artifacts.METADATA_FILE).unlink(missing_ok=True)
    # via memory: torch.save names the archive after the file, and the atomic temp name is
    # random; from a buffer the bytes depend on the weights only
    buffer = BytesIO()
    torch.save(model.state_dict(), buffer)
    with fileio.atomic_path(out_dir / hair_torch.MODEL_FILE) as tmp:
        tmp.write_bytes(buffer.getvalue())
    fileio.write_json(out_dir / hair_torch.HISTORY_FILE, {**result, "seconds": seconds})
    artifacts.save(
        out_dir,
        name=hair_torch.NAME,
        files=[hair_torch.MODEL_FILE, hair_torch.HISTORY_FILE],
        packages=hair_torch.torch_packages(),
        data={hair.DATASET: data.digest},
        metrics=metrics,
        architecture=hair_torch.ARCHITECTURE,
        classes=list(hair.CLASSES),
        positive_class=hair.CLASSES[1],
        output="logit",
        preprocessing=hair.preprocessing(hair_torch.RESAMPLE),
        config=config,
        n_train=result["n_train"],
        n_test=result["n_test"],
        skipped=data.skipped,
        epochs_trained=len(seconds),
    )
    fileio.write_json(
        paths.runs_dir() / "hair-torch-seconds.json",
        {"config": config, "seconds": seconds, "median": float(np.median(seconds))},
    )
    if write_reports:
        reports.save_metrics(hair.MODULE, "hair-torch-history", result)
        fig = hair_train.curves_figure(result)
        fig.suptitle(f"Hair type CNN, PyTorch: {result['n_train']} train / {result['n_test']} test")
        reports.save_figure(hair.MODULE, "hair-torch-curves", fig)
    log.info(
        "final test accuracy %.4f; median %.2f s/epoch; saved %s",
        metrics["final_test_accuracy"],
        float(np.median(seconds)),
        out_dir,
    )
    return result


def recorded_history() -> dict:
    """The PyTorch history with the wanted settings, training one when none is recorded."""
    cfg = hair_train.wanted_config()
    folder = paths.model_dir(hair_torch.NAME)
    if (folder / artifacts.METADATA_FILE).is_file():
        result = hair_train.read_history(artifacts.file(folder, hair_torch.HISTORY_FILE))
        if all(result.get("config", {}).get(k) == v for k, v in cfg.items()):
            return result
        log.warning("%s was trained with other settings; training again", folder)
    return train(cfg["epochs"], cfg["augmented_epochs"], cfg["limit"])
