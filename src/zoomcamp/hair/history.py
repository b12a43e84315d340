"""What both hair-type trainers share, framework-free (no torch, no TensorFlow): the run
plan from their flags, the recorded history (read back, the homework's statistics, the
training curves) and the reports written from it. The PyTorch track is
:mod:`zoomcamp.hair.train_torch`, the Keras variant :mod:`zoomcamp.hair.train_keras`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from zoomcamp import reports, settings
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair.data import MODULE


class Plan(NamedTuple):
    """How much to train: plain epochs, then augmented epochs, on at most ``limit`` images
    per split (None: all)."""

    epochs: int
    augmented_epochs: int
    limit: int | None


def wanted(full: Plan, fast: Plan) -> Plan:
    """The plan the answers must come from: the homework's, or under ZOOMCAMP_FAST=1 the tiny one."""
    return fast if settings.fast_mode() else full


# ---------------------------------------------------------------- the trainers' flags


def add_training_args(
    parser: argparse.ArgumentParser, *, out_dir: str, threads: int | None, threads_help: str
) -> None:
    """The flags of both trainer scripts, declared once; a None default means the track's
    own plan (``Plan``), resolved by :func:`training_plan` once the framework is imported."""
    parser.add_argument(
        "--epochs", type=int, default=None, help="plain epochs (default: the homework's 10)"
    )
    parser.add_argument(
        "--augmented-epochs",
        type=int,
        default=None,
        help="epochs with augmentation, continuing the same model (default: the homework's 10)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="at most this many images per split, seeded "
        "(default: all)",
    )  # fmt: skip
    parser.add_argument("--out-dir", type=Path, default=None, help=f"default: {out_dir}")
    parser.add_argument("--threads", type=int, default=threads, help=threads_help)
    parser.add_argument(
        "--reports",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write reports/08-deep-learning (default: for the full run and in fast mode)",
    )
    parser.epilog = "ZOOMCAMP_FAST=1: a tiny plan (60 images per split, 1 + 1 epochs) into .fast/."


def training_plan(args: argparse.Namespace, full: Plan, fast: Plan) -> Plan:
    """The plan from those flags: what is not given comes from ``full`` (or ``fast`` under
    ZOOMCAMP_FAST=1). Impossible values are errors."""
    base = wanted(full, fast)
    epochs = base.epochs if args.epochs is None else args.epochs
    augmented = base.augmented_epochs if args.augmented_epochs is None else args.augmented_epochs
    limit = base.limit if args.limit is None else args.limit
    if epochs < 0 or augmented < 0 or epochs + augmented == 0:
        raise ZoomcampError("--epochs and --augmented-epochs must be >= 0, not both 0")
    if limit is not None and limit < 2:
        raise ZoomcampError("--limit must be at least 2")
    return Plan(epochs, augmented, limit)


# ---------------------------------------------------------------- the recorded history


def read_history(path: Path) -> dict:
    """A recorded history: a trainer's ``history.json`` or a ``hair-*-history.json`` report."""
    try:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ZoomcampError(f"no history at {path}") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ZoomcampError(f"cannot read {path}: {exc}") from None
    needed = ("history", "plain_epochs", "n_train", "n_test")
    if not isinstance(result, dict) or any(k not in result for k in needed):
        raise ZoomcampError(f"{path} is not a training history (needs {', '.join(needed)})")
    return result


def matches(result: dict, plan: Plan) -> bool:
    """Whether a recorded history was trained with ``plan``."""
    config = result.get("config", {})
    return all(config.get(k) == v for k, v in plan._asdict().items())


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


def curves_figure(result: dict, title: str | None = None):
    import matplotlib.pyplot as plt

    h = result["history"]
    epochs = np.arange(1, len(h["loss"]) + 1)
    k = result["plain_epochs"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, name in (
        (axes[0], "loss", "loss (binary cross-entropy)"),
        (axes[1], "accuracy", "accuracy"),
    ):
        ax.plot(epochs, h[key], "o-", label="train")
        ax.plot(epochs, h[f"val_{key}"], "s-", label="test")
        if 0 < k < len(epochs):
            ax.axvline(k + 0.5, color="grey", ls="--", lw=1)
            ax.text(k + 0.7, ax.get_ylim()[1], "augmentation", va="top", color="grey")
        ax.set(xlabel="epoch", title=name, xticks=epochs[:: max(1, len(epochs) // 10)])
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Hair type CNN: {result['n_train']} train / {result['n_test']} test images")
    fig.tight_layout()
    if title:  # after the layout, as the committed figures were drawn
        fig.suptitle(title)
    return fig


def save_reports(name: str, result: dict, title: str | None = None) -> None:
    """``reports/08-deep-learning/<name>-history.json`` (no timings: deterministic) and
    ``<name>-curves.png``."""
    reports.save_metrics(MODULE, f"{name}-history", result)
    reports.save_figure(MODULE, f"{name}-curves", curves_figure(result, title))
