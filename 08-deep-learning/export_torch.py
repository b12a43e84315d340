"""uv run python 08-deep-learning/export_torch.py [--model-dir models/hair-torch] [--output-dir models/hair-torch-onnx]

Exports the PyTorch hair-type model (``models/hair-torch/``, verified against its
metadata) to ONNX in ``models/hair-torch-onnx/``: ``hair_classifier.onnx`` with the course's
``hair_classifier_v1.onnx`` interface (input ``input`` float32 [N, 3, 200, 200], output
``output`` [N, 1], the raw logit, sigmoid = P(straight); dynamic batch) and ``metadata.json``
(``zoomcamp.artifacts``, the same fields as ``export_keras.py``'s Keras export: graph names,
shapes, layout, classes, and the preprocessing, here with a bilinear resize). Nothing is
written unless ONNX Runtime matches PyTorch to 1e-4 on real test images. This is the export
09-serverless's ``build.py`` ships by default.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from zoomcamp import cli, paths
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import model_torch as hair_torch

log = logging.getLogger("hair.export")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=None, help="default: models/hair-torch")
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="default: models/hair-torch-onnx"
    )
    parser.add_argument(
        "--check-images", type=int, default=16, help="test images for the ONNX vs PyTorch check"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.check_images < 1:
            raise ZoomcampError("--check-images must be at least 1")
        output_dir = args.output_dir or paths.model_dir(hair_torch.ONNX_NAME)
        meta = hair_torch.export(args.model_dir, output_dir, args.check_images)
    except (ZoomcampError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    diff = meta["metrics"]["onnx_vs_torch_max_abs_logit_diff"]
    print(
        f"{output_dir}  {hair_torch.ONNX_FILE} sha256={meta['files'][hair_torch.ONNX_FILE]}  "
        f"ONNX vs PyTorch max |logit diff| {diff:.2g} on {args.check_images} test images",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
