"""uv run python 08-deep-learning/homework.py

The 2025 homework of module 08 (hair type, curly vs straight, 6 questions), answered from
the recorded training history of ``train.py`` (``models/hair/history.json``; under
ZOOMCAMP_FAST=1 the tiny run's ``models/hair-quick/history.json``). When no history with
the wanted settings exists, it trains first (progress on stderr). ``--json`` prints one
JSON object and nothing else on stdout.
"""

from __future__ import annotations

import json
import logging

import hair
import hair_model
import numpy as np

from zoomcamp import homework

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

log = logging.getLogger("hair.homework")


def wanted_config() -> dict:
    """The settings the answers must come from: the homework's, or the tiny fast ones."""
    if hair.fast_mode():
        return {
            "epochs": hair.FAST_EPOCHS,
            "augmented_epochs": hair.FAST_AUGMENTED_EPOCHS,
            "limit": hair.FAST_LIMIT,
        }
    return {"epochs": hair.EPOCHS, "augmented_epochs": hair.AUGMENTED_EPOCHS, "limit": None}


def recorded_history() -> dict:
    """The history of a run with the wanted settings, training one when none is recorded."""
    cfg = wanted_config()
    path = hair_model.run_dir(quick=hair.fast_mode()) / "history.json"
    if path.is_file():
        result = json.loads(path.read_text())
        if all(result.get("config", {}).get(k) == v for k, v in cfg.items()):
            return result
        log.warning("%s was recorded with other settings; training again", path)
    from train import train  # sibling script; imports TensorFlow

    return train(cfg["epochs"], cfg["augmented_epochs"], cfg["limit"])


def answers_from_history(result: dict) -> dict:
    """The numbers the questions ask for, from a per-epoch history (plain epochs first)."""
    h, k = result["history"], result["plain_epochs"]
    aug_loss, aug_acc = h["val_loss"][k:], h["val_accuracy"][k:]
    return {
        "median_train_accuracy_plain": float(np.median(h["accuracy"][:k])),
        "std_train_loss_plain": float(np.std(h["loss"][:k])),  # population std, as np.std
        "mean_test_loss_augmented": float(np.mean(aug_loss)),
        "mean_test_accuracy_last5_augmented": float(np.mean(aug_acc[-5:])),
    }


def closeness(value: float, options: list[str]) -> str:
    """The two nearest options and their distances (the answers are read off these)."""
    near = sorted(options, key=lambda o: abs(float(o) - value))[:2]
    return "nearest options " + ", ".join(f"{o} (|diff| {abs(float(o) - value):.3f})" for o in near)


def compute() -> dict:
    result = recorded_history()  # first: training seeds the generators before building
    model = hair_model.build_model()
    loss = model.loss
    a = answers_from_history(result)
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


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    homework.main(hair.MODULE, compute, description="Module 08 homework (2025): hair type CNN")
