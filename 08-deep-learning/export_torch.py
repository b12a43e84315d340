"""uv run python 08-deep-learning/export_torch.py [--fp32] [--model-dir models/hair-torch] [--output-dir DIR]

Exports the PyTorch hair-type model (verified) to ONNX with the dynamo exporter, checked
against PyTorch to 1e-4 first: input ``input`` float32 [N, 3, 200, 200], output ``output``
[N, 1] (the logit). By default the optimised model 09 serves (4-bit dense weights, graph
optimised offline) into ``models/hair-torch-onnx/``, written only if it agrees with fp32 on
the test images; ``--fp32``: the plain graph into ``models/hair-torch-onnx-fp32/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zoomcamp import paths, script
from zoomcamp.errors import ZoomcampError


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument(
        "--fp32", action="store_true", help="the plain fp32 graph into models/hair-torch-onnx-fp32"
    )
    parser.add_argument("--model-dir", type=Path, default=None, help="default: models/hair-torch")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="default: models/hair-torch-onnx (--fp32: models/hair-torch-onnx-fp32)",
    )
    parser.add_argument(
        "--check-images", type=int, default=16, help="test images for the ONNX vs PyTorch check"
    )
    args = parser.parse_args(argv)
    if args.check_images < 1:
        raise ZoomcampError("--check-images must be at least 1")
    from zoomcamp.hair import model_torch

    name = model_torch.ONNX_FP32_NAME if args.fp32 else model_torch.ONNX_NAME
    output_dir = args.output_dir or paths.model_dir(name)
    meta = model_torch.export(args.model_dir, output_dir, args.check_images, fp32=args.fp32)
    m = meta["metrics"]
    print(
        f"{output_dir}  {model_torch.ONNX_FILE} sha256={meta['files'][model_torch.ONNX_FILE]}  "
        f"ONNX vs PyTorch max |logit diff| {m['onnx_vs_torch_max_abs_logit_diff']:.2g} on "
        f"{m['onnx_vs_torch_images']} test images",
        file=sys.stderr,
    )
    if not args.fp32:
        print(
            f"optimised vs fp32 on {m['test_images']} test images: accuracy "
            f"{m['test_accuracy']:.4f} (fp32 {m['fp32_test_accuracy']:.4f}), same decision "
            f"{m['same_decision_share']:.2%}, max |logit diff| {m['max_abs_logit_diff_vs_fp32']:.3g}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    script.run(main)
