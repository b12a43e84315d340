"""The car-price model of module 02 end to end, what ``02-regression/train.py`` runs: the
lesson's feature steps, r tuned on validation, the final model on train+validation scored
on test, one car priced, the model saved under ``models/car-price/``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoomcamp import datasets, fileio
from zoomcamp.cars.regression import (
    FeatureSpec,
    SingularMatrixError,
    load_car_prices,
    predict,
    prepare_X,
    price_figure,
    price_tail_figure,
    rmse,
    save_model,
    split,
    target,
    train_linear_regression,
)
from zoomcamp.errors import ZoomcampError

log = logging.getLogger(__name__)


def fit_rmse(spec: FeatureSpec, df_train, df_val, r: float = 0.0) -> float:
    """Validation RMSE of a model trained on ``df_train`` with features ``spec``."""
    w0, w = train_linear_regression(prepare_X(df_train, spec), target(df_train), r=r)
    return rmse(target(df_val), predict(prepare_X(df_val, spec), w0, w))


def tune_r(spec, df_train, df_val, grid, decimals) -> tuple[float, dict[str, float | None]]:
    """The chosen r and the validation RMSE of each r (None where XᵀX is singular): the
    best RMSE rounded to ``decimals``, ties to the largest r."""
    scores: dict[float, float | None] = {}
    for r in grid:
        try:
            scores[r] = fit_rmse(spec, df_train, df_val, r)
        except SingularMatrixError:
            scores[r] = None
        shown = "singular: needs r > 0" if scores[r] is None else f"{scores[r]:.6f}"
        log.info("r = %-8g validation RMSE %s", r, shown)
    valid = {r: s for r, s in scores.items() if s is not None}
    if not valid:
        raise ZoomcampError(f"every r in {grid} gives a singular XᵀX: add a larger r to --r-grid")
    best = min(round(s, decimals) for s in valid.values())
    chosen = max(r for r, s in valid.items() if round(s, decimals) == best)
    return chosen, {f"{r:g}": s for r, s in scores.items()}


def train(
    out: Path, *, seed: int, r_grid: list[float], decimals: int, car: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train on the ``seed`` split, r from ``r_grid`` (RMSEs compared to ``decimals``),
    price test row ``car`` and save the model to ``out`` (the defaults: ``train.py``).
    Returns ``(metrics, figures)``: ``metrics.json`` and ``{name: matplotlib figure}``."""
    data_path = datasets.fetch("car-price")
    df = load_car_prices(data_path)
    df_train, df_val, df_test = split(df, seed=seed)
    if not 0 <= car < len(df_test):
        raise ZoomcampError(f"--car must be between 0 and {len(df_test) - 1}, got {car}")

    # The lesson's steps, each a validation RMSE without regularisation.
    spec_full = FeatureSpec.fit(df_train)
    steps = {
        "baseline": fit_rmse(FeatureSpec(), df_train, df_val),
        "with_age": fit_rmse(FeatureSpec(age=True), df_train, df_val),
        "with_doors_makes": fit_rmse(
            FeatureSpec(age=True, doors=True, makes=spec_full.makes), df_train, df_val
        ),
    }
    log.info("tuning r with every feature")
    r, by_r = tune_r(spec_full, df_train, df_val, r_grid, decimals)
    val_rmse = fit_rmse(spec_full, df_train, df_val, r)

    # Final model: train + validation, features counted there too.
    df_full = pd.concat([df_train, df_val]).reset_index(drop=True)
    spec = FeatureSpec.fit(df_full)
    w0, w = train_linear_regression(prepare_X(df_full, spec), target(df_full), r=r)
    y_test = target(df_test)
    y_pred = predict(prepare_X(df_test, spec), w0, w)
    test_rmse = rmse(y_test, y_pred)

    row = df_test.iloc[[car]]
    metrics = {
        "seed": seed,
        "rows": {"train": len(df_train), "validation": len(df_val), "test": len(df_test)},
        "validation_rmse_steps": steps,
        "validation_rmse_by_r": by_r,
        "r": r,
        "validation_rmse": val_rmse,
        "test_rmse": test_rmse,
        "n_features": len(spec.names()),
        "one_car": {
            "row": car,
            "make": str(row["make"].iloc[0]),
            "model": str(row["model"].iloc[0]),
            "year": int(row["year"].iloc[0]),
            "predicted_msrp": round(float(np.expm1(predict(prepare_X(row, spec), w0, w)[0])), 2),
            "actual_msrp": int(row["msrp"].iloc[0]),
        },
    }
    save_model(
        out,
        w0,
        w,
        spec,
        data={"car-price": fileio.sha256_file(data_path)},
        metrics={"validation_rmse": val_rmse, "test_rmse": test_rmse},
        config={"seed": seed, "r_grid": r_grid, "decimals": decimals, "r": r},
        target="log1p(msrp)",
    )
    figures = {
        "price-distribution": price_figure(y_test, y_pred),
        "price-tail": price_tail_figure(df),
    }
    return metrics, figures
