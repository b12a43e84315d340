"""uv run python 08-deep-learning/export_torch.py [--model-dir models/hair-torch] [--output-dir models/hair-torch-onnx]

Exports the PyTorch hair-type model (verified against its metadata) to ONNX: input ``input``
float32 [N, 3, 200, 200], output ``output`` [N, 1] (the logit), the course's interface, with
``metadata.json``. Written only if ONNX Runtime matches PyTorch to 1e-4 on real test images;
09-serverless ships it by default.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zoomcamp import paths, script
from zoomcamp.errors import ZoomcampError


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--model-dir", type=Path, default=None, help="default: models/hair-torch")
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="default: models/hair-torch-onnx"
    )
    parser.add_argument(
        "--check-images", type=int, default=16, help="test images for the ONNX vs PyTorch check"
    )
    args = parser.parse_args(argv)
    if args.check_images < 1:
        raise ZoomcampError("--check-images must be at least 1")
    from zoomcamp.hair import model_torch

    output_dir = args.output_dir or paths.model_dir(model_torch.ONNX_NAME)
    meta = model_torch.export(args.model_dir, output_dir, args.check_images)
    diff = meta["metrics"]["onnx_vs_torch_max_abs_logit_diff"]
    print(
        f"{output_dir}  {model_torch.ONNX_FILE} sha256={meta['files'][model_torch.ONNX_FILE]}  "
        f"ONNX vs PyTorch max |logit diff| {diff:.2g} on {args.check_images} test images",
        file=sys.stderr,
    )


if __name__ == "__main__":
    script.run(main)
