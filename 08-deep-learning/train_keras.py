"""uv run python 08-deep-learning/train_keras.py

Trains the hair-type CNN on the Keras variant (``zoomcamp.hair.train_keras``): 10 plain
epochs, then 10 augmented, testing after each; keeps the epoch with the best test accuracy in
``models/hair-keras/``. The full run also writes ``hair-keras-history.json`` and
``hair-keras-curves.png`` under ``reports/08-deep-learning/``. Keras' progress goes to stderr.
"""

from __future__ import annotations

from zoomcamp import native_logs, script
from zoomcamp.hair import history


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    history.add_training_args(
        parser,
        out_dir="models/hair-keras",
        threads=None,
        threads_help="TensorFlow intra/inter-op threads (default: TensorFlow's)",
    )
    args = parser.parse_args(argv)
    native_logs.filter_stderr()  # before TensorFlow is imported
    from zoomcamp.hair import train_keras

    plan = history.training_plan(args, train_keras.PLAN, train_keras.FAST_PLAN)
    train_keras.train(*plan, args.out_dir, args.reports, args.threads)


if __name__ == "__main__":
    script.run(main)
