"""Hair type (curly vs straight), the Keras variant: training the homework CNN of
:mod:`zoomcamp.hair.model_keras` on the arrays of :mod:`zoomcamp.hair.data` (10 plain + 10
augmented epochs, tested after each), the model folder ``models/hair-keras/`` it writes and
its recorded history. The statistics and curves are :mod:`zoomcamp.hair.history`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path

import numpy as np

from zoomcamp import artifacts, fileio, paths, settings
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import history as runs
from zoomcamp.hair.model_keras import (
    BATCH_SIZE,
    HISTORY_FILE,
    LEARNING_RATE,
    MODEL_FILE,
    MOMENTUM,
    NAME,
    SEED,
    build_model,
    configure_tf,
    make_dataset,
    save_keras,
    tensorflow_distribution,
)

PLAN = runs.Plan(epochs=10, augmented_epochs=10, limit=None)  # the homework's
FAST_PLAN = runs.Plan(epochs=1, augmented_epochs=1, limit=60)  # ZOOMCAMP_FAST=1

log = logging.getLogger("hair")


def versions() -> dict[str, str]:
    """The libraries behind a run, for the history report (the metadata records its own)."""
    import keras
    import PIL
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }


# ---------------------------------------------------------------- training


def _recorder(state: dict):
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

    return Recorder()


def train(
    epochs: int = PLAN.epochs,
    augmented_epochs: int = PLAN.augmented_epochs,
    limit: int | None = None,
    out_dir: Path | None = None,
    write_reports: bool | None = None,
    threads: int | None = None,
    verbose: int = 2,
) -> dict:
    """Train ``epochs`` plain then ``augmented_epochs`` augmented epochs, testing after each;
    save the best epoch's model, ``history.json`` and the metadata in ``out_dir`` (default
    ``models/hair-keras/``); return the history. Reports (``hair-keras-history.json``, without timings,
    and ``hair-keras-curves.png``) are written by default for the full run and in fast mode (whose
    reports folder is the scratch one)."""
    full = (epochs, augmented_epochs, limit) == PLAN
    out_dir = paths.model_dir(NAME) if out_dir is None else Path(out_dir)
    if write_reports is None:
        write_reports = full or settings.fast_mode()
    configure_tf(threads)
    data = hair.load_data(limit=limit)
    if len(data.x_train) == 0 or len(data.x_test) == 0:
        raise ZoomcampError("no images to train on")
    model = build_model()
    test_ds = make_dataset(data.x_test, data.y_test, shuffle=False)
    state = {"seconds": [], "best_val_accuracy": -1.0, "best_epoch": 0, "best_weights": None}
    history: dict[str, list[float]] = {}
    done = 0
    # Keras writes its progress to stdout; stdout is kept for results.
    with contextlib.redirect_stdout(sys.stderr):
        for name, n, augment in (("plain", epochs, False), ("augmented", augmented_epochs, True)):
            if n <= 0:
                continue
            print(f"--- {name}: epochs {done + 1}..{done + n}", flush=True)
            train_ds = make_dataset(data.x_train, data.y_train, shuffle=True, augment=augment)
            h = model.fit(
                train_ds,
                validation_data=test_ds,
                epochs=done + n,
                initial_epoch=done,
                callbacks=[_recorder(state)],
                verbose=verbose,
                shuffle=False,
            )
            for k, v in h.history.items():
                history.setdefault(k, []).extend(float(x) for x in v)
            done += n
    model.set_weights(state["best_weights"])
    config = {
        "epochs": epochs,
        "augmented_epochs": augmented_epochs,
        "limit": limit,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "momentum": MOMENTUM,
        "seed": SEED,
    }
    best = state["best_epoch"]
    metrics = {
        "best_epoch": best,
        "best_test_accuracy": state["best_val_accuracy"],
        "best_test_loss": history["val_loss"][best - 1],
        "final_test_accuracy": history["val_accuracy"][-1],
        "final_test_loss": history["val_loss"][-1],
        "params": int(model.count_params()),
    }
    result = {
        "module": hair.MODULE,
        "config": config,
        "plain_epochs": epochs,
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "skipped": data.skipped,
        "data_listing_sha256": data.digest,
        "history": {k: history[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
        "versions": versions(),
        "metrics": metrics,
    }
    # an interrupted save leaves a folder without metadata: incomplete, never half-verified
    (out_dir / artifacts.METADATA_FILE).unlink(missing_ok=True)
    save_keras(model, out_dir / MODEL_FILE)
    fileio.write_json(out_dir / HISTORY_FILE, {**result, "seconds": state["seconds"]})
    artifacts.save(
        out_dir,
        name=NAME,
        files=[MODEL_FILE, HISTORY_FILE],
        packages=("keras", tensorflow_distribution()),
        data={hair.DATASET: data.digest},  # the listing digest: every image's path and bytes
        metrics=metrics,
        architecture="200x200x3 -> Conv2D(32,3x3,relu) -> MaxPool(2) -> Flatten "
        "-> Dense(64,relu) -> Dense(1) logit",
        classes=list(hair.CLASSES),
        positive_class=hair.CLASSES[1],
        output="logit",
        preprocessing=hair.preprocessing(),
        config=config,
        n_train=result["n_train"],
        n_test=result["n_test"],
        skipped=data.skipped,
        epochs_trained=done,
    )
    if write_reports:  # deterministic: no timings (they stay in the model folder)
        runs.save_reports(NAME, result)
    log.info(
        "best test accuracy %.4f at epoch %d; saved %s",
        metrics["best_test_accuracy"],
        best,
        out_dir,
    )
    return result


# ---------------------------------------------------------------- the recorded history


def recorded_history() -> dict:
    """The history of a run with the wanted settings, training one when none is recorded."""
    plan = runs.wanted(PLAN, FAST_PLAN)
    folder = paths.model_dir(NAME)
    if (folder / artifacts.METADATA_FILE).is_file():
        result = runs.read_history(artifacts.file(folder, HISTORY_FILE))
        if runs.matches(result, plan):
            return result
        log.warning("%s was trained with other settings; training again", folder)
    return train(*plan)
