"""05-deployment: the locks (no scikit-learn), the image recipe, the portable model
(``zoomcamp.churn.model.portable`` -> ``model.json`` -> ``FastScorer``) and the scorer's maths on
small cases against scikit-learn."""

from __future__ import annotations

import ast
import json
import math
import pickle
import re
import tomllib

import numpy as np
import pytest
import service_files
from scipy.special import expit
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from zoomcamp import paths
from zoomcamp.churn import model as churn
from zoomcamp.errors import ZoomcampError

MODULE = paths.module_dir("05-deployment")
scoring = service_files.load("05-deployment", "churn_scoring")
predict = service_files.load("05-deployment", "predict")
client = service_files.load("05-deployment", "test")


def locked_version(lock_path, name: str) -> list[str]:
    lock = tomllib.loads(lock_path.read_text(encoding="utf-8"))
    return [p["version"] for p in lock["package"] if p["name"] == name]


HEAVY = {"scikit-learn", "scipy", "numpy", "joblib", "threadpoolctl", "cloudpickle"}


@pytest.mark.parametrize("folder", [MODULE, MODULE / "lambda"])
def test_locks_hold_no_scikit_learn_scipy_or_numpy(folder):
    lock = tomllib.loads((folder / "uv.lock").read_text(encoding="utf-8"))
    names = {p["name"] for p in lock["package"]}
    assert "pydantic" in names  # the lock was read
    assert not names & HEAVY
    project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    # the uv the Dockerfile installs (pinned, or the oldest one that reads the project)
    assert project["tool"]["uv"]["required-version"] in ("==0.13.8", ">=0.13.8")


def test_the_lambda_pins_the_services_pydantic():
    assert locked_version(MODULE / "lambda" / "uv.lock", "pydantic") == locked_version(
        MODULE / "uv.lock", "pydantic"
    )


def test_the_served_model_is_plain_data(churn_model_dir):
    meta = json.loads((churn_model_dir / "metadata.json").read_text(encoding="utf-8"))
    assert set(meta["files"]) == {"model.bin", "model.json"}
    model = json.loads((churn_model_dir / "model.json").read_text(encoding="utf-8"))
    assert model["format"] == scoring.FORMAT and model["threshold"] == 0.5
    for field, table in model["weights"]["categorical"].items():
        assert sorted(table) == sorted(model["allowed"][field]), field


def test_schema_accepts_exactly_the_models_features(churn_model_dir):
    with open(churn_model_dir / "model.bin", "rb") as fh:
        dv = pickle.load(fh).named_steps["dictvectorizer"]
    categorical: dict[str, list[str]] = {}
    numerical = []
    for name in dv.get_feature_names_out():
        field, sep, value = name.partition("=")
        if sep:
            categorical.setdefault(field, []).append(value)
        else:
            numerical.append(field)
    features = scoring.schema_features()
    assert features["categorical"] == {f: sorted(v) for f, v in categorical.items()}
    assert features["numerical"] == sorted(numerical)


def test_dockerfile_follows_the_recipe():
    text = (MODULE / "Dockerfile").read_text(encoding="utf-8")
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    froms = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    # multi-stage: uv only in the builder, the final stage the plain slim base
    assert [lines[i] for i in froms] == [
        "FROM python:3.13-slim AS builder",
        "FROM python:3.13-slim",
    ]
    builder, final = lines[: froms[1]], lines[froms[1] :]
    assert re.search(r"pip install --no-cache-dir uv==\d+\.\d+\.\d+", " ".join(builder))
    assert not [line for line in final if "uv" in line.split() or "pip" in line.split()]
    sync = next(i for i, line in enumerate(builder) if "uv sync --locked --no-dev" in line)
    lock = next(
        i for i, line in enumerate(builder) if line.startswith("COPY") and "uv.lock" in line
    )
    assert lock < sync  # dependencies from the lock
    assert "COPY --from=builder /app/.venv /app/.venv" in final
    assert final.index("COPY --from=builder /app/.venv /app/.venv") < next(
        i for i, line in enumerate(final) if line.startswith("COPY") and "predict.py" in line
    )
    assert "COPY model/model.json model/metadata.json ./model/" in final
    assert "model.bin" not in text
    assert "MODEL_DIR=/app/model" in text
    assert not [line for line in lines if "chmod" in line]  # io writes umask-mode files
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("USER root", "USER 0")
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert "--host 0.0.0.0" in text and "9696" in text


def test_dockerignore_lets_in_only_what_the_image_needs():
    text = (MODULE / ".dockerignore").read_text(encoding="utf-8")
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert {
        "pyproject.toml",
        "uv.lock",
        "predict.py",
        "churn_scoring.py",
        "limits.py",
        "hardening.py",
        "head_limit.py",
        "model/model.json",
        "model/metadata.json",
    } == allowed


def local_imports(name: str, seen: set[str] | None = None) -> set[str]:
    """The files of this folder that ``name`` imports, transitively (ast, not importing)."""
    seen = set() if seen is None else seen
    tree = ast.parse((MODULE / name).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        modules = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
            if isinstance(node, ast.ImportFrom) and node.module and not node.level
            else []
        )
        for module in modules:
            file = f"{module.split('.')[0]}.py"
            if (MODULE / file).is_file() and file not in seen:
                seen.add(file)
                local_imports(file, seen)
    return seen


def test_the_image_gets_every_file_the_service_imports():
    needed = {"predict.py", *local_imports("predict.py")}
    assert "churn_scoring.py" in needed
    ignore = (MODULE / ".dockerignore").read_text(encoding="utf-8").splitlines()
    copied = " ".join(
        line
        for line in (MODULE / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.startswith("COPY")
    ).split()
    assert needed <= {line[1:] for line in ignore if line.startswith("!")}
    assert needed <= set(copied)


@pytest.mark.parametrize("z", [-800.0, -40.0, -1.0, 0.0, 1e-12, 2.5, 40.0, 800.0])
def test_sigmoid_matches_expit_without_overflow(z):
    assert scoring.sigmoid(z) == pytest.approx(float(expit(z)), rel=1e-15, abs=1e-300)


def toy_pipeline():
    X = [
        {"colour": c, "size": s, "flag": f}
        for c in ("red", "blue", "green")
        for s in (1.0, 2.5, 4.0)
        for f in (0, 1)
    ]
    y = [int(d["size"] > 2 or d["colour"] == "red") for d in X]
    pipe = Pipeline(
        [
            ("dictvectorizer", DictVectorizer(sparse=False)),
            ("logisticregression", LogisticRegression(C=10.0, max_iter=1000)),
        ]
    )
    return pipe.fit(X, y), X


def toy_scorer(pipe):
    # through a JSON text, as the service reads it
    exported = json.loads(json.dumps(churn.portable(pipe, {"colour": ["blue", "green", "red"]})))
    return scoring.FastScorer(exported)


def test_fast_scorer_is_the_logistic_formula():
    pipe, X = toy_pipeline()
    dv, lr = pipe.named_steps["dictvectorizer"], pipe.named_steps["logisticregression"]
    w = dict(zip(dv.get_feature_names_out(), lr.coef_[0], strict=True))
    scorer = toy_scorer(pipe)
    for d in X:
        z = (
            lr.intercept_[0]
            + w[f"colour={d['colour']}"]
            + w["size"] * d["size"]
            + w["flag"] * d["flag"]
        )
        assert scorer.proba(d) == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-12)
    np.testing.assert_allclose(
        scorer.proba_many(X), pipe.predict_proba(X)[:, 1], rtol=0, atol=1e-12
    )


def test_portable_model_reads_back_the_weights_bit_for_bit():
    pipe, _ = toy_pipeline()
    dv, lr = pipe.named_steps["dictvectorizer"], pipe.named_steps["logisticregression"]
    exported = json.loads(json.dumps(churn.portable(pipe, {})))
    assert exported["vocabulary"] == list(dv.get_feature_names_out())
    assert exported["intercept"] == lr.intercept_[0]
    flat = {f"colour={v}": w for v, w in exported["weights"]["categorical"]["colour"].items()}
    flat |= exported["weights"]["numerical"]
    assert [flat[name] for name in exported["vocabulary"]] == list(lr.coef_[0])


def test_fast_scorer_ignores_what_dictvectorizer_ignores():
    pipe, _ = toy_pipeline()
    unseen = [
        {"colour": "purple", "size": 3.0, "flag": 1},
        {"size": 3.0},
        {"colour": "red", "other": 5},
    ]
    np.testing.assert_allclose(
        toy_scorer(pipe).proba_many(unseen),
        pipe.predict_proba(unseen)[:, 1],
        rtol=0,
        atol=1e-12,
    )


def test_portable_refuses_other_models():
    with pytest.raises(ZoomcampError, match="dictvectorizer"):
        churn.portable(LogisticRegression(), {})
    pipe = Pipeline(
        [
            ("dictvectorizer", DictVectorizer(sparse=False)),
            ("logisticregression", LogisticRegression(max_iter=500)),
        ]
    )
    pipe.fit([{"a": i % 3} for i in range(30)], [i % 3 for i in range(30)])
    with pytest.raises(ZoomcampError, match="binary"):
        churn.portable(pipe, {})


def spoil_format(m):
    m["format"] = "sklearn-pickle"


def spoil_weight(m):
    m["weights"]["numerical"]["size"] = float("inf")


def spoil_string_weight(m):
    m["weights"]["numerical"]["size"] = "1.0"


def spoil_vocabulary(m):
    m["vocabulary"].append("colour=purple")


def spoil_missing(m):
    del m["intercept"]


def spoil_table(m):
    m["weights"]["categorical"]["colour"] = [1.0]


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (spoil_format, "format"),
        (spoil_weight, "finite"),
        (spoil_string_weight, "finite"),
        (spoil_vocabulary, "vocabulary"),
        (spoil_missing, "intercept"),
        (spoil_table, "malformed"),
    ],
)
def test_fast_scorer_refuses_a_malformed_model(spoil, words):
    pipe, _ = toy_pipeline()
    exported = json.loads(json.dumps(churn.portable(pipe, {})))
    scoring.FastScorer(exported)  # as exported: accepted
    spoil(exported)
    with pytest.raises(scoring.ModelError, match=words):
        scoring.FastScorer(exported)


def test_client_example_is_a_valid_customer():
    predict.Customer.model_validate_json(json.dumps(client.CUSTOMER))
    assert client.URL == "http://localhost:9696/predict"
