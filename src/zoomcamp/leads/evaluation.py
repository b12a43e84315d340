"""The 2025 homework of module 04 (lead scoring evaluation): one function per question and
:func:`compute`, the answers ``04-evaluation/homework.py`` prints. Q2-Q6 with both solvers
(``FOLLOWS``: which one ``option`` follows, ``WHY``: the note).
"""

from __future__ import annotations

import functools

import numpy as np

from zoomcamp import classification, homework
from zoomcamp.leads import data as leads
from zoomcamp.leads import stability
from zoomcamp.metrics import cross_validate, rates_table, roc_auc

SEED = 1
OPTIONS_Q1 = ["lead_score", "number_of_courses_viewed", "interaction_count", "annual_income"]
OPTIONS_Q2 = ["0.32", "0.52", "0.72", "0.92"]
OPTIONS_Q3 = ["0.145", "0.345", "0.545", "0.745"]
OPTIONS_Q4 = ["0.14", "0.34", "0.54", "0.74"]
OPTIONS_Q5 = ["0.0001", "0.006", "0.06", "0.36"]
OPTIONS_Q6 = ["0.000001", "0.001", "1"]
C_VALUES_Q6 = [0.000001, 0.001, 1]
THRESHOLDS = np.linspace(0.0, 1.0, 101)  # 0.00, 0.01, ..., 1.00
FOLLOWS = {"q2": "lbfgs", "q3": "lbfgs", "q4": "lbfgs", "q5": "liblinear", "q6": "liblinear"}
WHY = {
    "lbfgs": "option follows lbfgs: the course's published solution fitted the default lbfgs "
    "for Q2 (and Q3-Q4 score the same model); liblinear, the solver the homework text "
    "names, is recorded as a variant.",
    "liblinear": "option follows liblinear: the solver the homework names and the one the "
    "course's published solution used for Q5-Q6; lbfgs is recorded as a variant.",
}


def fitter(solver: str, max_iter: int = classification.MAX_ITER):
    # The homework's model: LogisticRegression(solver=..., C=C, max_iter=1000), no random_state.
    return lambda df, C=1.0: leads.fit(df, solver=solver, C=C, random_state=None, max_iter=max_iter)


def q1(train) -> dict:
    y = train[leads.TARGET].to_numpy()
    aucs = {}
    for col in leads.NUMERICAL:
        auc = roc_auc(y, train[col].to_numpy())
        aucs[col] = auc if auc >= 0.5 else roc_auc(y, -train[col].to_numpy())
    best = max(OPTIONS_Q1, key=lambda c: aucs[c])
    return homework.answer(
        aucs[best],
        OPTIONS_Q1,
        option=best,
        note="training AUC: " + ", ".join(f"{k} {v:.4f}" for k, v in aucs.items()),
    )


def scores(train, val, solver: str, max_iter: int = classification.MAX_ITER) -> np.ndarray:
    return leads.predict(fitter(solver, max_iter)(train), val)


def q2(y_val, score) -> dict:
    auc = roc_auc(y_val, score)
    return {"value": round(auc, 3), "option": homework.closest_option(round(auc, 3), OPTIONS_Q2)}


def q3(y_val, score) -> dict:
    """The threshold where precision and recall meet: the smallest |P - R| (P defined)."""
    table = rates_table(y_val, score, THRESHOLDS).dropna(subset=["precision"])
    gap = (table["precision"] - table["recall"]).abs()
    t = float(table.loc[gap.idxmin(), "threshold"])
    return {"value": round(t, 2), "option": homework.closest_option(t, OPTIONS_Q3)}


def q4(y_val, score) -> dict:
    table = rates_table(y_val, score, THRESHOLDS)
    t = float(table.loc[table["f1"].idxmax(), "threshold"])
    return {"value": round(t, 2), "option": homework.closest_option(t, OPTIONS_Q4)}


def cv(full_train, solver: str, C_values, max_iter: int = classification.MAX_ITER):
    return cross_validate(
        full_train,
        C_values,
        fit=fitter(solver, max_iter),
        predict=leads.predict,
        target=leads.TARGET,
        n_splits=5,
        seed=SEED,
    ).set_index("C")


def q5(table) -> dict:
    std = float(table.loc[1, "std"])
    return {"value": std, "option": homework.closest_option(std, OPTIONS_Q5)}


def q6(table) -> dict:
    # best mean AUC to 3 decimals; ties: lower std, then smaller C
    means = {C: round(table.loc[C, "mean"], 3) for C in C_VALUES_Q6}
    best = classification.best_C(C_VALUES_Q6, means, {C: table.loc[C, "std"] for C in C_VALUES_Q6})
    return {"value": best, "option": homework.closest_option(best, OPTIONS_Q6)}


def with_variants(q: str, results: dict[str, dict], options, extra: str = "", at=None) -> dict:
    """``at(max_iter)``: the lbfgs answer refitted with another ``max_iter``, for its
    stability record (:mod:`zoomcamp.leads.stability`)."""
    chosen = results[FOLLOWS[q]]
    variants = {s: {"value": r["value"], "option": r["option"]} for s, r in results.items()}
    moves = ["value", "lbfgs"] if FOLLOWS[q] == "lbfgs" else ["lbfgs"]
    return homework.answer(
        chosen["value"],
        options,
        option=chosen["option"],
        variants=variants,
        note=WHY[FOLLOWS[q]] + extra,
        stability=stability.record(at, moves) if at else None,
    )


def compute() -> dict:
    parts = leads.split(leads.load_data(), SEED)
    train, val, full_train = parts["train"], parts["val"], parts["full_train"]
    y_val = val[leads.TARGET].to_numpy()
    # every fit once; lbfgs also at the other max_iter values of its stability records
    score_at = functools.cache(lambda s, m: scores(train, val, s, m))
    table_at = functools.cache(lambda s, m: cv(full_train, s, C_VALUES_Q6, m))
    score = {s: score_at(s, classification.MAX_ITER) for s in leads.SOLVERS}
    tables = {s: table_at(s, classification.MAX_ITER) for s in leads.SOLVERS}
    cv_note = " 5-fold AUC mean ± std: " + "; ".join(
        f"{s}: " + ", ".join(f"C={C:g} {r['mean']:.3f} ± {r['std']:.3f}" for C, r in t.iterrows())
        for s, t in tables.items()
    )

    per_solver = {q: {s: f(y_val, score[s]) for s in leads.SOLVERS} for q, f in QUESTIONS.items()}
    return {
        "q1": q1(train),
        **{
            q: with_variants(
                q, per_solver[q], OPTIONS[q], at=lambda m, f=f: f(y_val, score_at("lbfgs", m))
            )
            for q, f in QUESTIONS.items()
        },
        "q5": with_variants(
            "q5",
            {s: q5(t) for s, t in tables.items()},
            OPTIONS_Q5,
            cv_note,
            at=lambda m: q5(table_at("lbfgs", m)),
        ),
        "q6": with_variants(
            "q6",
            {s: q6(t) for s, t in tables.items()},
            OPTIONS_Q6,
            cv_note,
            at=lambda m: q6(table_at("lbfgs", m)),
        ),
    }


QUESTIONS = {"q2": q2, "q3": q3, "q4": q4}
OPTIONS = {"q2": OPTIONS_Q2, "q3": OPTIONS_Q3, "q4": OPTIONS_Q4}
