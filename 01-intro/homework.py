"""uv run python 01-intro/homework.py

The 2025 homework of module 01 (car fuel efficiency, 7 questions), every answer computed
from the data. ``--json`` prints one JSON object (the answers contract of
``zoomcamp.homework``); without it, a readable table.
"""

from __future__ import annotations

from intro import (
    horsepower_medians,
    load_data,
    max_mpg_asia,
    median_change,
    n_columns_with_missing,
    n_fuel_types,
    n_records,
    pandas_version,
    q7_weight_sum,
)

from zoomcamp import homework

OPTIONS_Q2 = ["4704", "8704", "9704", "17704"]
OPTIONS_Q3 = ["1", "2", "3", "4"]
OPTIONS_Q4 = ["0", "1", "2", "3", "4"]
OPTIONS_Q5 = ["13.75", "23.75", "33.75", "43.75"]
OPTIONS_Q6 = ["Yes, it increased", "Yes, it decreased", "No"]
OPTIONS_Q7 = ["0.051", "0.51", "5.1", "51"]


def compute() -> dict:
    df = load_data()
    medians = horsepower_medians(df)
    before, after = medians["median_before"], medians["median_after"]
    return {
        "q1": homework.answer(pandas_version()),
        "q2": homework.answer(n_records(df), OPTIONS_Q2),
        "q3": homework.answer(n_fuel_types(df), OPTIONS_Q3),
        "q4": homework.answer(n_columns_with_missing(df), OPTIONS_Q4),
        "q5": homework.answer(max_mpg_asia(df), OPTIONS_Q5),
        "q6": homework.answer(
            after,
            OPTIONS_Q6,
            option=median_change(before, after),
            note=f"median horsepower {before:g} before, {after:g} after filling "
            f"the gaps with the most frequent value {medians['mode']:g}",
        ),
        "q7": homework.answer(q7_weight_sum(df), OPTIONS_Q7),
    }


if __name__ == "__main__":
    homework.main("01-intro", compute, description="Module 01 homework (2025): car fuel efficiency")
