"""uv run python 08-deep-learning/clothing_torch.py [--backbone efficientnet-lite0|mobilenet_v2]

The 2025 clothing transfer-learning lesson in PyTorch (``zoomcamp.clothing.train_torch``):
a frozen ImageNet backbone, its features cached once, the learning-rate, inner-size and
dropout sweeps, a few augmented epochs, the best checkpoint, test, one prediction and a
checked ONNX export. Writes ``models/clothing-torch/`` and
``reports/08-deep-learning/clothing-torch.json``; timings go to ``runs/clothing-torch.json``.
ZOOMCAMP_FAST=1 runs a tiny smoke setting into ``.fast/``.
"""

from __future__ import annotations

import argparse

from zoomcamp import script
from zoomcamp.errors import ZoomcampError

BACKBONES = ("efficientnet-lite0", "mobilenet_v2")  # zoomcamp.clothing.model_torch.BACKBONES


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument(
        "--backbone",
        choices=BACKBONES,
        default=BACKBONES[0],
        help="the frozen ImageNet backbone (MobileNetV2 needs torchvision's download)",
    )
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
    if args.threads < 1:
        raise ZoomcampError("--threads must be at least 1")

    from zoomcamp import fileio, paths, reports, settings
    from zoomcamp.clothing import train_torch

    settings.check_all()
    run = train_torch.train(args.backbone, args.engine, args.threads)
    if args.report:
        reports.save_metrics(train_torch.MODULE, train_torch.NAME, train_torch.report(run))
    fileio.write_json(paths.runs_dir() / f"{train_torch.NAME}.json", train_torch.run_log(run))
    ckpt, (start, end) = run.results["checkpoint"], run.load_average
    print(f"total {run.timings['total']:.1f} s; load average {start} -> {end}")
    print(
        f"val_accuracy {ckpt['val_accuracy']:.4f} (epoch {ckpt['epoch']}), "
        f"test_accuracy {run.results['test_accuracy']:.4f}"
    )


if __name__ == "__main__":
    script.run(main)
