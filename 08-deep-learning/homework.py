"""uv run python 08-deep-learning/homework.py [--json] [--history PATH]

The 2025 homework of module 08 (hair type, curly vs straight, 6 questions), answered from
the recorded training history of ``train.py`` (``models/hair/history.json``, verified with
the model folder; under ZOOMCAMP_FAST=1 the tiny run's in ``.fast/models/hair/``). When no
history with the wanted settings exists, it trains first (progress on stderr).
``--history PATH`` answers from a recorded history file instead (e.g.
``reports/08-deep-learning/hair-history.json``), whatever its settings, without training.
``--json`` prints one JSON object and nothing else on stdout.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from zoomcamp import hair, hair_model, hair_train, homework

OPTIONS_Q1 = [
    "MSE",
    "binary cross-entropy from logits",
    "categorical cross-entropy",
    "cosine embedding",
]
OPTIONS_Q2 = ["896", "11214912", "15896912", "20073473"]
OPTIONS_Q3 = ["0.05", "0.12", "0.40", "0.84"]
OPTIONS_Q4 = ["0.007", "0.078", "0.171", "1.710"]
OPTIONS_Q5 = ["0.008", "0.08", "0.88", "8.88"]
OPTIONS_Q6 = ["0.08", "0.28", "0.68", "0.98"]


def closeness(value: float, options: list[str]) -> str:
    """The two nearest options and their distances (the answers are read off these)."""
    near = sorted(options, key=lambda o: abs(float(o) - value))[:2]
    return "nearest options " + ", ".join(f"{o} (|diff| {abs(float(o) - value):.3f})" for o in near)


def compute(history: Path | None = None) -> dict:
    # first: training seeds the generators before building
    result = hair_train.recorded_history() if history is None else hair_train.read_history(history)
    model = hair_model.build_model()
    loss = model.loss
    a = hair_train.answers_from_history(result)
    n_plain, n_aug = result["plain_epochs"], len(result["history"]["loss"]) - result["plain_epochs"]
    where = f"{n_plain} plain + {n_aug} augmented epochs, {result['n_train']} train / {result['n_test']} test images"
    answers = {
        "q1": homework.answer(
            f"{type(loss).__name__}(from_logits={loss.get_config()['from_logits']})",
            OPTIONS_Q1,
            option="binary cross-entropy from logits",
            note="one output logit for two classes: sigmoid + binary cross-entropy, computed from the logit for stability",
        ),
        "q2": homework.answer(int(model.count_params()), OPTIONS_Q2),
    }
    for q, key, options in (
        ("q3", "median_train_accuracy_plain", OPTIONS_Q3),
        ("q4", "std_train_loss_plain", OPTIONS_Q4),
        ("q5", "mean_test_loss_augmented", OPTIONS_Q5),
        ("q6", "mean_test_accuracy_last5_augmented", OPTIONS_Q6),
    ):
        answers[q] = homework.answer(a[key], options, note=f"{where}; {closeness(a[key], options)}")
    return answers


def main(argv: list[str] | None = None) -> None:
    # zoomcamp.homework.main owns --json and --help; --history is taken off first
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--history", type=Path, default=None)
    args, rest = pre.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    homework.main(
        hair.MODULE,
        lambda: compute(args.history),
        description="Module 08 homework (2025): hair type CNN. --history PATH: answer from a "
        "recorded history (history.json or reports/08-deep-learning/hair-history.json) "
        "without training.",
        argv=rest,
    )


if __name__ == "__main__":
    main()
