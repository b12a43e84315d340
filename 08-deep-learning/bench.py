"""uv run python 08-deep-learning/bench.py [--epochs 3] [--augmented-epochs 3] [--framework both] [--save]

Seconds per plain and augmented epoch of the hair-type CNN, PyTorch then Keras in one run,
side by side on stderr (an epoch: its training and its test evaluation; the steady figure is
the median after the first). One JSON object on stdout; ``--save`` also writes
``reports/08-deep-learning/bench.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import sys
import time

from zoomcamp import native_logs, reports, script
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair

TORCH_THREADS = 2  # train_torch.Config().threads, what the recorded history is for


def _timer(rows: list):
    import keras

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_test_begin(self, logs=None):
            self.t1 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            t2, c2 = time.perf_counter(), time.process_time()
            rows.append(
                {
                    "epoch": epoch + 1,
                    "seconds": t2 - self.t0,
                    "train_seconds": self.t1 - self.t0,
                    "cpu_seconds": c2 - self.c0,  # all threads of this process
                    "loadavg_1min": os.getloadavg()[0],
                }
            )

    return Timer()


def bench_torch(epochs: int, augmented_epochs: int, limit: int | None, threads: int) -> dict:
    from zoomcamp.hair import train_torch

    load_before = os.getloadavg()
    config = dataclasses.replace(
        train_torch.Config(),
        epochs=epochs,
        augmented_epochs=augmented_epochs,
        limit=limit,
        threads=threads,
    )
    data = hair.load_data(limit=limit, resample=config.resize, normalised=False)
    t0 = time.process_time()
    _, _, seconds = train_torch.fit(
        data, config, echo=lambda m: print(f"pytorch {m}", file=sys.stderr)
    )
    result = {}
    for phase, rows in (("plain", seconds[:epochs]), ("augmented", seconds[epochs:])):
        if rows:
            sec = statistics.median(rows[1:] or rows)
            result[phase] = {
                "epoch_seconds": rows,
                "first_epoch_seconds": rows[0],
                "seconds_per_epoch": sec,
                "images_per_second_incl_test": (len(data.y_train) + len(data.y_test)) / sec,
            }
    return {
        "settings": {"threads": threads, "batch_size": config.batch_size},
        **result,
        "cpu_seconds_total": time.process_time() - t0,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "versions": train_torch.versions(),
    }


def bench(
    epochs: int,
    augmented_epochs: int,
    limit: int | None,
    threads: int | None,
    jit: bool,
    deterministic: bool,
) -> dict:
    import tensorflow as tf

    from zoomcamp.hair import model_keras as hair_model
    from zoomcamp.hair import train_keras

    load_before = os.getloadavg()
    hair_model.configure_tf(threads, deterministic=deterministic)
    data = hair.load_data(limit=limit)
    model = hair_model.build_model(jit_compile=jit)
    test_ds = hair_model.make_dataset(data.x_test, data.y_test, shuffle=False)
    result = {}
    done = 0
    with contextlib.redirect_stdout(sys.stderr):
        for phase, n, augment in (("plain", epochs, False), ("augmented", augmented_epochs, True)):
            if n <= 0:
                continue
            rows: list = []
            ds = hair_model.make_dataset(data.x_train, data.y_train, shuffle=True, augment=augment)
            model.fit(
                ds,
                validation_data=test_ds,
                epochs=done + n,
                initial_epoch=done,
                callbacks=[_timer(rows)],
                verbose=2,
                shuffle=False,
            )
            done += n
            steady = rows[1:] or rows
            sec = statistics.median(r["seconds"] for r in steady)
            train_sec = statistics.median(r["train_seconds"] for r in steady)
            cpu_sec = statistics.median(r["cpu_seconds"] for r in steady)
            result[phase] = {
                "epochs": rows,
                "first_epoch_seconds": rows[0]["seconds"],
                "seconds_per_epoch": sec,
                "train_seconds_per_epoch": train_sec,
                "cpu_seconds_per_epoch": cpu_sec,
                "train_images_per_second": len(data.y_train) / train_sec,
                "images_per_second_incl_test": (len(data.y_train) + len(data.y_test)) / sec,
            }
    return {
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "settings": {
            "threads": threads or "tensorflow default",
            "jit_compile": jit,
            "op_determinism": deterministic,
            "batch_size": hair_model.BATCH_SIZE,
        },
        **result,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        },
        "versions": train_keras.versions(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--epochs", type=int, default=3, help="plain epochs to time")
    parser.add_argument("--augmented-epochs", type=int, default=3, help="augmented epochs to time")
    parser.add_argument("--limit", type=int, default=None, help="images per split (default: all)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="TensorFlow intra/inter-op threads (default: TensorFlow's)",
    )
    parser.add_argument(
        "--jit", action=argparse.BooleanOptionalAction, default=False, help="XLA jit_compile"
    )
    parser.add_argument(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tf.config.experimental.enable_op_determinism (what train_keras.py uses)",
    )
    parser.add_argument(
        "--framework", choices=("both", "pytorch", "keras"), default="both", help="what to time"
    )
    parser.add_argument("--torch-threads", type=int, default=TORCH_THREADS, help="torch threads")
    parser.add_argument(
        "--save", action="store_true", help="write reports/08-deep-learning/bench.json"
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 and args.augmented_epochs < 1:
        raise ZoomcampError("time at least one epoch")
    if args.torch_threads < 1:
        raise ZoomcampError("--torch-threads must be at least 1")
    result: dict = {}
    if args.framework in ("both", "pytorch"):
        result["pytorch"] = bench_torch(
            args.epochs, args.augmented_epochs, args.limit, args.torch_threads
        )
    if args.framework in ("both", "keras"):
        native_logs.filter_stderr()  # before TensorFlow is imported
        result["keras"] = bench(
            args.epochs,
            args.augmented_epochs,
            args.limit,
            args.threads,
            args.jit,
            args.deterministic,
        )
    result["seconds_per_epoch"] = {
        phase: {fw: r[phase]["seconds_per_epoch"] for fw, r in result.items() if phase in r}
        for phase in ("plain", "augmented")
    }
    print(f"{'s/epoch':10s} {'pytorch':>8s} {'keras':>8s}", file=sys.stderr)
    for phase, row in result["seconds_per_epoch"].items():
        cells = [f"{row[fw]:8.2f}" if fw in row else f"{'-':>8s}" for fw in ("pytorch", "keras")]
        print(f"{phase:10s} {' '.join(cells)}", file=sys.stderr)
    print(f"load average now: {os.getloadavg()}", file=sys.stderr)
    if args.save:
        reports.save_metrics(hair.MODULE, "bench", result)
    print(json.dumps(result))


if __name__ == "__main__":
    script.run(main)
