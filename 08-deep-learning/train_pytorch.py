"""uv run python 08-deep-learning/train_pytorch.py

Trains the homework's hair-type CNN in PyTorch, as the 2025 homework sets it: a class-based
``nn.Module``, a ``Dataset`` + ``DataLoader``, torchvision transforms, ``BCEWithLogitsLoss``,
SGD(0.002, momentum 0.8), batch 20, seed 42; 10 plain epochs, then 10 more with augmentation,
testing after every epoch (``zoomcamp.hair_torch_train``). Writes ``models/hair-pytorch/``
(``zoomcamp.artifacts``): ``hair_cnn.pt`` (the final state dict), ``history.json`` (per epoch
loss, accuracy, val_loss, val_accuracy, seconds) and ``metadata.json``. The full run also
writes ``reports/08-deep-learning/hair-pytorch-history.json`` (no timings; what homework.py
answers from) and ``hair-pytorch-curves.png``; epoch times are printed and kept in
``runs/hair-pytorch-seconds.json``. ZOOMCAMP_FAST=1 trains a tiny setting (60 images, 1 + 1
epochs) into ``.fast/``. Two runs give the same history (fixed threads, deterministic ops).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from zoomcamp import hair, hair_torch, hair_torch_train, settings
from zoomcamp.errors import ZoomcampError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=None, help="plain epochs (default: 10)")
    parser.add_argument(
        "--augmented-epochs",
        type=int,
        default=None,
        help="epochs with augmentation, continuing the same model (default: 10)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="at most this many images per split (seeded)"
    )
    parser.add_argument("--out-dir", type=Path, default=None, help="default: models/hair-pytorch")
    parser.add_argument(
        "--threads",
        type=int,
        default=hair_torch.THREADS,
        help="torch threads (the recorded history is for the default)",
    )
    parser.add_argument(
        "--reports",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write reports/08-deep-learning (default: for the full run and in fast mode)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        fast = settings.fast_mode()
        epochs = args.epochs
        if epochs is None:
            epochs = hair.FAST_EPOCHS if fast else hair.EPOCHS
        augmented = args.augmented_epochs
        if augmented is None:
            augmented = hair.FAST_AUGMENTED_EPOCHS if fast else hair.AUGMENTED_EPOCHS
        limit = args.limit if args.limit is not None or not fast else hair.FAST_LIMIT
        if epochs < 0 or augmented < 0 or epochs + augmented == 0:
            raise ZoomcampError("--epochs and --augmented-epochs must be >= 0, not both 0")
        if limit is not None and limit < 2:
            raise ZoomcampError("--limit must be at least 2")
        if args.threads < 1:
            raise ZoomcampError("--threads must be at least 1")
        hair_torch_train.train(epochs, augmented, limit, args.out_dir, args.reports, args.threads)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
