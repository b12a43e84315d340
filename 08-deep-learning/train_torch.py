"""uv run python 08-deep-learning/train_torch.py

Trains the homework's hair-type CNN in PyTorch, as the 2025 homework sets it: a class-based
``nn.Module``, a ``Dataset`` + ``DataLoader``, torchvision transforms, ``BCEWithLogitsLoss``,
SGD(0.002, momentum 0.8), batch 20, seed 42; 10 plain epochs, then 10 more with augmentation,
testing after every epoch (``zoomcamp.hair.train_torch``). Writes ``models/hair-torch/``
(``zoomcamp.artifacts``): ``hair_cnn.pt`` (the final state dict), ``history.json`` (per epoch
loss, accuracy, val_loss, val_accuracy, seconds) and ``metadata.json``. The full run also
writes ``reports/08-deep-learning/hair-torch-history.json`` (no timings; what homework.py
answers from) and ``hair-torch-curves.png``; epoch times are printed and kept in
``runs/hair-torch-seconds.json``. ZOOMCAMP_FAST=1 trains a tiny setting (60 images, 1 + 1
epochs) into ``.fast/``. Two runs give the same history (fixed threads, deterministic ops).
"""

from __future__ import annotations

import argparse
import logging
import sys

from zoomcamp import cli
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import model_torch as hair_torch
from zoomcamp.hair import train_torch as hair_torch_train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    hair.add_training_args(
        parser,
        out_dir="models/hair-torch",
        threads=hair_torch.THREADS,
        threads_help="torch threads (the recorded history is for the default)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        epochs, augmented, limit = hair.training_plan(args)
        if args.threads < 1:
            raise ZoomcampError("--threads must be at least 1")
        hair_torch_train.train(epochs, augmented, limit, args.out_dir, args.reports, args.threads)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
