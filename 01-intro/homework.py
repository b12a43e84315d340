"""uv run python 01-intro/homework.py

The 2025 homework of module 01 (car fuel efficiency, 7 questions), every answer computed
from the data by ``zoomcamp.cars.intro``. ``--json`` prints one JSON object (the answers contract of
``zoomcamp.homework``); without it, a readable table.
"""

from __future__ import annotations

from zoomcamp import homework
from zoomcamp.cars import intro

OPTIONS_Q2 = ["4704", "8704", "9704", "17704"]
OPTIONS_Q3 = ["1", "2", "3", "4"]
OPTIONS_Q4 = ["0", "1", "2", "3", "4"]
OPTIONS_Q5 = ["13.75", "23.75", "33.75", "43.75"]
OPTIONS_Q6 = ["Yes, it increased", "Yes, it decreased", "No"]
OPTIONS_Q7 = ["0.051", "0.51", "5.1", "51"]


def compute() -> dict:
    df = intro.load_data()
    medians = intro.horsepower_medians(df)
    before, after = medians["median_before"], medians["median_after"]
    return {
        "q1": homework.answer(intro.pandas_version()),
        "q2": homework.answer(intro.n_records(df), OPTIONS_Q2),
        "q3": homework.answer(intro.n_fuel_types(df), OPTIONS_Q3),
        "q4": homework.answer(intro.n_columns_with_missing(df), OPTIONS_Q4),
        "q5": homework.answer(intro.max_mpg_asia(df), OPTIONS_Q5),
        "q6": homework.answer(
            after,
            OPTIONS_Q6,
            option=intro.median_change(before, after),
            note=f"median horsepower {before:g} before, {after:g} after filling "
            f"the gaps with the most frequent value {medians['mode']:g}",
        ),
        "q7": homework.answer(intro.q7_weight_sum(df), OPTIONS_Q7),
    }


if __name__ == "__main__":
    homework.main("01-intro", compute, description="Module 01 homework (2025): car fuel efficiency")
