"""uv run python 04-evaluation/bench_auc.py [--n 1000000] [--repeats 7] [--seed 1]

Time ``zoomcamp.metrics.roc_auc`` against ``sklearn.metrics.roc_auc_score`` on ``n`` random
scores, continuous and rounded to 2 decimals (heavy ties); best of ``--repeats`` calls.
Prints both times, sklearn / ours and |ΔAUC|; writes ``reports/04-evaluation/bench_auc.json``.
"""

from __future__ import annotations

import platform
import time

from zoomcamp import script
from zoomcamp.errors import ZoomcampError

MODULE = "04-evaluation"


def best_time(fn, repeats: int) -> tuple[float, float]:
    """(best seconds over ``repeats`` calls, the value of the last call)."""
    best, value = float("inf"), float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def bench(n: int, repeats: int, seed: int) -> dict:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from zoomcamp.metrics import roc_auc

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    continuous = rng.random(n)
    cases = {"continuous": continuous, "ties (2 decimals)": np.round(continuous, 2)}
    out = {}
    for name, scores in cases.items():
        ours_s, ours = best_time(lambda s=scores: roc_auc(y, s), repeats)
        sk_s, sk = best_time(lambda s=scores: roc_auc_score(y, s), repeats)
        out[name] = {
            "distinct_scores": int(len(np.unique(scores))),
            "ours_s": ours_s,
            "sklearn_s": sk_s,
            "ratio_sklearn_over_ours": sk_s / ours_s,
            "auc": ours,
            "abs_diff": abs(ours - sk),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="number of scores")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per case, best kept")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--no-save", action="store_true", help="print only, do not write the report"
    )
    args = parser.parse_args(argv)
    if args.n < 2 or args.repeats < 1:
        raise ZoomcampError("--n must be at least 2 and --repeats at least 1")
    results = bench(args.n, args.repeats, args.seed)
    print(f"n = {args.n:,}, best of {args.repeats}")
    print(f"{'case':<20} {'ours (s)':>10} {'sklearn (s)':>12} {'sklearn/ours':>13} {'|ΔAUC|':>10}")
    for name, r in results.items():
        print(
            f"{name:<20} {r['ours_s']:>10.4f} {r['sklearn_s']:>12.4f} "
            f"{r['ratio_sklearn_over_ours']:>12.2f}x {r['abs_diff']:>10.1e}"
        )
    if not args.no_save:
        import numpy as np
        import sklearn

        from zoomcamp import reports

        path = reports.save_metrics(
            MODULE,
            "bench_auc",
            {
                "n": args.n,
                "repeats": args.repeats,
                "seed": args.seed,
                "cases": results,
                "numpy_version": np.__version__,
                "sklearn_version": sklearn.__version__,
                "python_version": platform.python_version(),
                "machine": platform.machine(),
            },
        )
        print(f"saved {path}")


if __name__ == "__main__":
    script.run(main)
