"""uv run python 08-deep-learning/homework.py [--json] [--history PATH]

The 6 answers of the 2025 homework (hair type, curly vs straight), from the PyTorch run's
recorded history (``models/hair-torch/``; trains first when none has the homework's settings).
``--history PATH`` answers from a recorded PyTorch history file instead, without training.
The Keras variant's committed run is shown beside Q3-Q6. ``--json``: one JSON object on stdout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zoomcamp import homework, paths, script
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import history

OPTIONS_Q1 = [
    "nn.MSELoss()",
    "nn.BCEWithLogitsLoss()",
    "nn.CrossEntropyLoss()",
    "nn.CosineEmbeddingLoss()",
]
OPTIONS_Q2 = ["896", "11214912", "15896912", "20073473"]
OPTIONS_Q3 = ["0.05", "0.12", "0.40", "0.84"]
OPTIONS_Q4 = ["0.007", "0.078", "0.171", "1.710"]
OPTIONS_Q5 = ["0.008", "0.08", "0.88", "8.88"]
OPTIONS_Q6 = ["0.08", "0.28", "0.68", "0.98"]
# The Keras variant's run as committed (not rerun here: the suite never trains 20 epochs).
KERAS_HISTORY = paths.REPO_ROOT / "reports" / hair.MODULE / "hair-keras-history.json"


def closeness(value: float, options: list[str]) -> str:
    """The two nearest options and their distances (the answers are read off these)."""
    near = sorted(options, key=lambda o: abs(float(o) - value))[:2]
    return "nearest options " + ", ".join(f"{o} (|diff| {abs(float(o) - value):.3f})" for o in near)


def _where(result: dict) -> str:
    n_plain = result["plain_epochs"]
    n_aug = len(result["history"]["loss"]) - n_plain
    return (
        f"{n_plain} plain + {n_aug} augmented epochs, "
        f"{result['n_train']} train / {result['n_test']} test images"
    )


def compute(history_file: Path | None = None) -> dict:
    import torch

    from zoomcamp.hair import train_torch

    if history_file is None:
        result = train_torch.recorded_history()
    else:
        result = history.read_history(history_file)
        if result.get("framework") != "pytorch":
            raise ZoomcampError(f"{history_file} is not a PyTorch run (train_torch.py writes one)")
    loss = torch.nn.BCEWithLogitsLoss()
    params = train_torch.count_params(train_torch.HairCNN())
    a = history.answers_from_history(result)
    keras = None
    if KERAS_HISTORY.is_file():
        keras = history.answers_from_history(history.read_history(KERAS_HISTORY))
    answers = {
        "q1": homework.answer(
            type(loss).__name__,
            OPTIONS_Q1,
            option=f"nn.{type(loss).__name__}()",
            note="one output logit for two classes, sigmoid + binary "
            "cross-entropy computed from the logit for stability (Keras: "
            "BinaryCrossentropy(from_logits=True))",
        ),
        "q2": homework.answer(
            params,
            OPTIONS_Q2,
            note="sum of p.numel() over the nn.Module's parameters: 896 (conv) + 20072512 "
            "(Linear 313632 -> 64) + 65 (Linear 64 -> 1); Keras' count_params agrees",
        ),
    }
    for q, key, options in (
        ("q3", "median_train_accuracy_plain", OPTIONS_Q3),
        ("q4", "std_train_loss_plain", OPTIONS_Q4),
        ("q5", "mean_test_loss_augmented", OPTIONS_Q5),
        ("q6", "mean_test_accuracy_last5_augmented", OPTIONS_Q6),
    ):
        note = f"PyTorch, {_where(result)}; {closeness(a[key], options)}"
        variants = None
        if keras is not None:
            variants = {
                "pytorch": {"value": a[key], "option": homework.closest_option(a[key], options)},
                "keras": {
                    "value": keras[key],
                    "option": homework.closest_option(keras[key], options),
                },
            }
            note += (
                "; the option follows the PyTorch run (the homework's framework); the keras "
                "variant is the Keras track's committed run (NEAREST resize, Keras "
                "initialisation, tf.data augmentation), a different model, shown for comparison"
            )
        answers[q] = homework.answer(a[key], options, variants=variants, note=note)
    return answers


def main(argv: list[str] | None = None) -> None:
    # zoomcamp.homework.main owns --json, --help and the answers contract; --history first
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--history", type=Path, default=None)
    args, rest = pre.parse_known_args(argv)
    homework.main(
        hair.MODULE,
        lambda: compute(args.history),
        description=script.description(__doc__),
        argv=rest,
    )


if __name__ == "__main__":
    script.run(main)
