"""uv run python 08-deep-learning/train_keras.py

Trains the homework's hair-type CNN: 10 epochs on the plain training set, then 10 more
epochs of the same model with augmentation, evaluating on test after every epoch.
Writes ``models/hair-keras/`` (``zoomcamp.artifacts``): ``hair-model.keras`` (the epoch with the
best test accuracy), ``history.json`` (per epoch: loss, accuracy, val_loss, val_accuracy,
seconds) and ``metadata.json`` (digests, versions, data digest, config, metrics). The full
run also writes ``reports/08-deep-learning/hair-keras-history.json`` (no timings) and
``hair-keras-curves.png``. ZOOMCAMP_FAST=1 trains a tiny setting (60 images, 1 + 1 epochs) into
``.fast/``. Keras' progress output goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys

from zoomcamp import cli
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import train_keras as hair_train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    hair.add_training_args(
        parser,
        out_dir="models/hair",
        threads=None,
        threads_help="TensorFlow intra/inter-op threads",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        epochs, augmented, limit = hair.training_plan(args)
        hair_train.train(epochs, augmented, limit, args.out_dir, args.reports, args.threads)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
