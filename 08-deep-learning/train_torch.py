"""uv run python 08-deep-learning/train_torch.py

Trains the homework's hair-type CNN in PyTorch (``zoomcamp.hair.train_torch``, read top to
bottom): 10 plain epochs, then 10 more with augmentation, testing after each, into
``models/hair-torch/``; the full run also writes ``reports/08-deep-learning/hair-torch-history.json``
(what homework.py answers from) and ``hair-torch-curves.png``.
"""

from __future__ import annotations

import dataclasses

from zoomcamp import script
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import history


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    history.add_training_args(
        parser,
        out_dir="models/hair-torch",
        threads=None,
        threads_help="torch threads (default: 2, what the recorded history is for)",
    )
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        raise ZoomcampError("--threads must be at least 1")
    from zoomcamp.hair import train_torch  # torch: imported after --help

    plan = history.training_plan(args, train_torch.Config().plan, train_torch.FAST.plan)
    config = dataclasses.replace(train_torch.Config(), **plan._asdict())
    if args.threads is not None:
        config = dataclasses.replace(config, threads=args.threads)
    train_torch.train(config, args.out_dir, args.reports)


if __name__ == "__main__":
    script.run(main)
