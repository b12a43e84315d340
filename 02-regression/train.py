"""uv run python 02-regression/train.py

Train the car-price model of the lesson (the maths is ``zoomcamp.cars.regression``): linear
regression by the normal equation on log1p(MSRP) with the lesson's features, r tuned on
the validation part, the final model trained on train+validation and evaluated on test.
Saves the weights and feature spec (``model.json``) with the ``zoomcamp.artifacts``
metadata under ``models/car-price/``, the metrics under
``reports/02-regression/metrics.json`` and the figures ``price-distribution.png`` and
``price-tail.png`` there. The reports hold no timings or dates: a rerun on the same data
writes the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from zoomcamp import datasets, fileio, paths, reports
from zoomcamp.cars.regression import (
    MODEL_NAME,
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

MODULE = "02-regression"
SEED = 2
R_GRID = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]
DECIMALS = 4  # RMSEs equal to this many decimals tie; the tie goes to the larger r
CAR = 20  # the row of the test part whose price we predict, as in the lesson


def fit_rmse(spec, df_train, df_val, r=0.0) -> float:
    """Validation RMSE of a model trained on ``df_train`` with features ``spec``."""
    w0, w = train_linear_regression(prepare_X(df_train, spec), target(df_train), r=r)
    return rmse(target(df_val), predict(prepare_X(df_val, spec), w0, w))


def tune_r(spec, df_train, df_val, grid, decimals) -> tuple[float, dict[str, float | None]]:
    """Validation RMSE for each r (None where XᵀX is singular without regularisation).

    The chosen r has the best RMSE rounded to ``decimals``; among ties the largest r wins
    (differences in the 5th decimal are noise, and more regularisation gives steadier
    weights, which is why the lesson adds r at all)."""
    scores: dict[float, float | None] = {}
    for r in grid:
        try:
            scores[r] = fit_rmse(spec, df_train, df_val, r)
        except SingularMatrixError:
            scores[r] = None
        shown = "singular: needs r > 0" if scores[r] is None else f"{scores[r]:.6f}"
        print(f"  r = {r:<8g} validation RMSE {shown}", file=sys.stderr)
    valid = {r: s for r, s in scores.items() if s is not None}
    if not valid:
        raise ZoomcampError(f"every r in {grid} gives a singular XᵀX: add a larger r to --r-grid")
    best = min(round(s, decimals) for s in valid.values())
    chosen = max(r for r, s in valid.items() if round(s, decimals) == best)
    return chosen, {f"{r:g}": s for r, s in scores.items()}


def run(args: argparse.Namespace) -> dict:
    data_path = datasets.fetch("car-price")
    df = load_car_prices(data_path)
    df_train, df_val, df_test = split(df, seed=args.seed)
    y_val = target(df_val)

    # The lesson's steps, each a validation RMSE without regularisation.
    spec_full = FeatureSpec.fit(df_train)
    steps = {
        "baseline": fit_rmse(FeatureSpec(), df_train, df_val),
        "with_age": fit_rmse(FeatureSpec(age=True), df_train, df_val),
        "with_doors_makes": fit_rmse(
            FeatureSpec(age=True, doors=True, makes=spec_full.makes), df_train, df_val
        ),
    }
    print("tuning r with every feature:", file=sys.stderr)
    r, by_r = tune_r(spec_full, df_train, df_val, args.r_grid, args.decimals)
    w0, w = train_linear_regression(prepare_X(df_train, spec_full), target(df_train), r=r)
    val_rmse = rmse(y_val, predict(prepare_X(df_val, spec_full), w0, w))

    # Final model: train + validation, features counted there too.
    df_full = pd.concat([df_train, df_val]).reset_index(drop=True)
    spec = FeatureSpec.fit(df_full)
    w0, w = train_linear_regression(prepare_X(df_full, spec), target(df_full), r=r)
    y_test = target(df_test)
    y_pred = predict(prepare_X(df_test, spec), w0, w)
    test_rmse = rmse(y_test, y_pred)

    if not 0 <= args.car < len(df_test):
        raise ZoomcampError(f"--car must be between 0 and {len(df_test) - 1}, got {args.car}")
    car = df_test.iloc[[args.car]]
    car_pred = float(np.expm1(predict(prepare_X(car, spec), w0, w)[0]))
    one_car = {
        "row": args.car,
        "make": str(car["make"].iloc[0]),
        "model": str(car["model"].iloc[0]),
        "year": int(car["year"].iloc[0]),
        "predicted_msrp": round(car_pred, 2),
        "actual_msrp": int(car["msrp"].iloc[0]),
    }

    metrics = {
        "seed": args.seed,
        "rows": {"train": len(df_train), "validation": len(df_val), "test": len(df_test)},
        "validation_rmse_steps": steps,
        "validation_rmse_by_r": by_r,
        "r": r,
        "validation_rmse": val_rmse,
        "test_rmse": test_rmse,
        "n_features": len(spec.names()),
        "one_car": one_car,
    }
    folder = args.out or paths.model_dir(MODEL_NAME)
    save_model(
        folder,
        w0,
        w,
        spec,
        data={"car-price": fileio.sha256_file(data_path)},
        metrics={"validation_rmse": val_rmse, "test_rmse": test_rmse},
        config={"seed": args.seed, "r_grid": args.r_grid, "decimals": args.decimals, "r": r},
        target="log1p(msrp)",
    )
    reports.save_metrics(MODULE, "metrics", metrics)
    reports.save_figure(MODULE, "price-distribution", price_figure(y_test, y_pred))
    reports.save_figure(MODULE, "price-tail", price_tail_figure(df))
    # printed, not saved: the model folder's location differs between machines
    metrics = {**metrics, "model_dir": str(folder)}
    return metrics


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=SEED, help="split seed (default: %(default)s)")
    parser.add_argument(
        "--r-grid",
        type=lambda s: [float(x) for x in s.split(",")],
        default=R_GRID,
        help="comma-separated regularisation values to try (default: %(default)s)",
    )
    parser.add_argument(
        "--decimals",
        type=int,
        default=DECIMALS,
        help="decimals of RMSE that count when choosing r (default: %(default)s)",
    )
    parser.add_argument(
        "--car", type=int, default=CAR, help="test row to predict (default: %(default)s)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="model folder (default: models/car-price/)"
    )
    args = parser.parse_args(argv)
    try:
        m = run(args)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    steps = m["validation_rmse_steps"]
    print(
        f"validation RMSE: baseline {steps['baseline']:.4f}, with age {steps['with_age']:.4f}, "
        f"with doors+makes {steps['with_doors_makes']:.4f}"
    )
    print(
        f"chosen r = {m['r']:g}: validation RMSE {m['validation_rmse']:.4f}, test RMSE {m['test_rmse']:.4f}"
    )
    c = m["one_car"]
    print(
        f"test car {c['row']} ({c['year']} {c['make']} {c['model']}): predicted ${c['predicted_msrp']:,.0f}, "
        f"actual ${c['actual_msrp']:,}"
    )
    print(f"model saved in {m['model_dir']}")


if __name__ == "__main__":
    main()
