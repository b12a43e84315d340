"""uv run python 08-deep-learning/train.py

Trains the homework's hair-type CNN: 10 epochs on the plain training set, then 10 more
epochs of the same model with augmentation, evaluating on test after every epoch.
Writes to ``models/hair/`` (``models/hair-quick/`` for a smaller run): ``hair-model.keras``
(the epoch with the best test accuracy) + ``hair-model.json`` (versions, data listing digest,
epochs, metrics) and ``history.json`` (per epoch: loss, accuracy, val_loss, val_accuracy,
seconds). The full run also writes ``reports/08-deep-learning/hair-history.json`` and
``hair-curves.png``. ZOOMCAMP_FAST=1 trains a tiny setting (60 images, 1 + 1 epochs).
Keras' progress output goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path

import hair
import hair_model
import numpy as np

from zoomcamp import io, reports
from zoomcamp.errors import ZoomcampError

log = logging.getLogger("hair.train")


def _callbacks(state: dict):
    import keras

    class Recorder(keras.callbacks.Callback):
        """Per-epoch seconds, and the best weights by test accuracy kept in memory."""

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            state["seconds"].append(time.perf_counter() - self.t0)
            acc = float(logs["val_accuracy"])
            if acc > state["best_val_accuracy"]:
                state.update(
                    best_val_accuracy=acc,
                    best_epoch=epoch + 1,
                    best_weights=[w.copy() for w in self.model.get_weights()],
                )

    return [Recorder()]


def train(
    epochs: int = hair.EPOCHS,
    augmented_epochs: int = hair.AUGMENTED_EPOCHS,
    limit: int | None = None,
    out_dir: Path | None = None,
    write_reports: bool | None = None,
    threads: int | None = None,
    verbose: int = 2,
) -> dict:
    """Train, save the best model with metadata and the history; return the history dict."""

    full = (epochs, augmented_epochs, limit) == (hair.EPOCHS, hair.AUGMENTED_EPOCHS, None)
    out_dir = Path(out_dir) if out_dir else hair_model.run_dir(quick=not full)
    write_reports = full if write_reports is None else write_reports
    hair_model.configure_tf(threads)
    data = hair.load_data(limit=limit)
    if len(data.x_train) == 0 or len(data.x_test) == 0:
        raise ZoomcampError("no images to train on")
    log.info(
        "train %d images, test %d images (skipped: %s)",
        len(data.y_train),
        len(data.y_test),
        ", ".join(data.skipped) or "none",
    )
    model = hair_model.build_model()
    test_ds = hair_model.make_dataset(data.x_test, data.y_test, shuffle=False)
    state = {"seconds": [], "best_val_accuracy": -1.0, "best_epoch": 0, "best_weights": None}
    history: dict[str, list[float]] = {}
    phases = [("plain", epochs, False), ("augmented", augmented_epochs, True)]
    done = 0
    # Keras writes its progress to stdout; this script keeps stdout for nothing but results.
    with contextlib.redirect_stdout(sys.stderr):
        for name, n, augment in phases:
            if n <= 0:
                continue
            print(f"--- {name}: epochs {done + 1}..{done + n}", flush=True)
            train_ds = hair_model.make_dataset(
                data.x_train, data.y_train, shuffle=True, augment=augment
            )
            h = model.fit(
                train_ds,
                validation_data=test_ds,
                epochs=done + n,
                initial_epoch=done,
                callbacks=_callbacks(state),
                verbose=verbose,
                shuffle=False,
            )
            for k, v in h.history.items():
                history.setdefault(k, []).extend(float(x) for x in v)
            done += n
    best_weights = state["best_weights"]
    model.set_weights(best_weights)
    model_path = hair_model.save_keras(model, out_dir / "hair-model.keras")
    result = {
        "module": hair.MODULE,
        "config": {
            "epochs": epochs,
            "augmented_epochs": augmented_epochs,
            "limit": limit,
            "batch_size": hair.BATCH_SIZE,
            "learning_rate": hair.LEARNING_RATE,
            "momentum": hair.MOMENTUM,
            "seed": hair.SEED,
        },
        "plain_epochs": epochs,
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "skipped": data.skipped,
        "data_listing_sha256": data.digest,
        "history": {k: history[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
        "seconds": state["seconds"],
        "versions": hair_model.versions(),
    }
    metrics = {
        "best_epoch": state["best_epoch"],
        "best_test_accuracy": state["best_val_accuracy"],
        "best_test_loss": history["val_loss"][state["best_epoch"] - 1],
        "final_test_accuracy": history["val_accuracy"][-1],
        "final_test_loss": history["val_loss"][-1],
        "params": int(model.count_params()),
    }
    io.write_json(
        out_dir / "hair-model.json",
        {
            "model": model_path.name,
            "keras_model_sha256": io.sha256_file(model_path),
            "architecture": "200x200x3 -> Conv2D(32,3x3,relu) -> MaxPool(2) -> Flatten -> Dense(64,relu) -> Dense(1) logit",
            "classes": list(hair.CLASSES),
            "positive_class": "straight",
            "output": "logit",
            "preprocessing": preprocessing(),
            **{
                k: result[k]
                for k in (
                    "config",
                    "n_train",
                    "n_test",
                    "skipped",
                    "data_listing_sha256",
                    "versions",
                )
            },
            "epochs_trained": done,
            "metrics": metrics,
        },
    )
    io.write_json(out_dir / "history.json", result)
    if write_reports:
        reports.save_metrics(hair.MODULE, "hair-history", {**result, "metrics": metrics})
        reports.save_figure(hair.MODULE, "hair-curves", curves_figure(result))
    log.info(
        "best test accuracy %.4f at epoch %d; saved %s",
        state["best_val_accuracy"],
        state["best_epoch"],
        model_path,
    )
    return result


def preprocessing() -> dict:
    return {
        "size": list(hair.IMAGE_SIZE),
        "resample": "nearest",
        "scale": 1 / 255,
        "mean": hair.MEAN_VALUES,
        "std": hair.STD_VALUES,
        "mode": "RGB",
        "first_frame": True,
    }


def curves_figure(result: dict):
    import matplotlib.pyplot as plt

    h = result["history"]
    epochs = np.arange(1, len(h["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in (
        (axes[0], "loss", "loss (binary cross-entropy)"),
        (axes[1], "accuracy", "accuracy"),
    ):
        ax.plot(epochs, h[key], "o-", label="train")
        ax.plot(epochs, h[f"val_{key}"], "s-", label="test")
        if 0 < result["plain_epochs"] < len(epochs):
            ax.axvline(result["plain_epochs"] + 0.5, color="grey", ls="--", lw=1)
            ax.text(
                result["plain_epochs"] + 0.7,
                ax.get_ylim()[1],
                "augmentation",
                va="top",
                color="grey",
            )
        ax.set(xlabel="epoch", title=title, xticks=epochs[:: max(1, len(epochs) // 10)])
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Hair type CNN: {result['n_train']} train / {result['n_test']} test images")
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> None:
    fast = hair.fast_mode()
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--epochs", type=int, default=hair.FAST_EPOCHS if fast else hair.EPOCHS, help="plain epochs"
    )
    parser.add_argument(
        "--augmented-epochs",
        type=int,
        default=hair.FAST_AUGMENTED_EPOCHS if fast else hair.AUGMENTED_EPOCHS,
        help="epochs with augmentation, continuing the same model",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=hair.FAST_LIMIT if fast else None,
        help="at most this many images per split (seeded subset)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="default: models/hair (models/hair-quick for smaller runs)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="TensorFlow intra/inter-op threads (default: TF's choice)",
    )
    parser.add_argument(
        "--reports",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write reports/08-deep-learning (default: only for the full run)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.epochs < 0 or args.augmented_epochs < 0 or args.epochs + args.augmented_epochs == 0:
            raise ZoomcampError("--epochs and --augmented-epochs must be >= 0, not both 0")
        if args.limit is not None and args.limit < 2:
            raise ZoomcampError("--limit must be at least 2")
        train(
            args.epochs, args.augmented_epochs, args.limit, args.out_dir, args.reports, args.threads
        )
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
