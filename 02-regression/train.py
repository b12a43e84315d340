"""uv run python 02-regression/train.py

Train the car-price model (``zoomcamp.cars.price``): r tuned on validation, the final
model on train+validation scored on test. Writes ``models/car-price/`` and
``reports/02-regression/`` (``metrics.json``, ``price-distribution.png``, ``price-tail.png``).
"""

from __future__ import annotations

from pathlib import Path

from zoomcamp import paths, script

MODULE = "02-regression"
SEED = 2
R_GRID = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]
DECIMALS = 4  # RMSEs equal to this many decimals tie
CAR = 20  # the test row the lesson prices


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--seed", type=int, default=SEED, help="split seed")
    parser.add_argument(
        "--r-grid",
        type=lambda s: [float(x) for x in s.split(",")],
        default=R_GRID,
        help="comma-separated regularisation values to try",
    )
    parser.add_argument(
        "--decimals",
        type=int,
        default=DECIMALS,
        help="decimals of RMSE that count when choosing r (ties: the larger r)",
    )
    parser.add_argument("--car", type=int, default=CAR, help="test row to predict")
    parser.add_argument("--out", type=Path, help="model folder (default: models/car-price/)")
    args = parser.parse_args(argv)
    out = args.out or paths.model_dir("car-price")

    # imported here, so that --help needs neither NumPy nor pandas
    from zoomcamp import reports
    from zoomcamp.cars import price

    m, figures = price.train(
        out, seed=args.seed, r_grid=args.r_grid, decimals=args.decimals, car=args.car
    )
    reports.save_metrics(MODULE, "metrics", m)
    for name, fig in figures.items():
        reports.save_figure(MODULE, name, fig)
    steps = m["validation_rmse_steps"]
    print(
        f"validation RMSE: baseline {steps['baseline']:.4f}, with age {steps['with_age']:.4f}, "
        f"with doors+makes {steps['with_doors_makes']:.4f}"
    )
    print(
        f"chosen r = {m['r']:g}: validation RMSE {m['validation_rmse']:.4f}, "
        f"test RMSE {m['test_rmse']:.4f}"
    )
    c = m["one_car"]
    print(
        f"test car {c['row']} ({c['year']} {c['make']} {c['model']}): "
        f"predicted ${c['predicted_msrp']:,.0f}, actual ${c['actual_msrp']:,}"
    )
    print(f"model saved in {out}")


if __name__ == "__main__":
    script.run(main)
