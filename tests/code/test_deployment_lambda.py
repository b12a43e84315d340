"""05-deployment/lambda: the churn Lambda's image recipe and its build step.

One source: the scorer is ``05-deployment/churn_scoring.py``, copied into the build
context by ``build.py`` and git-ignored there; the step copies the verified model and says
in one line how to train it when there is none.
"""

from __future__ import annotations

import os
import subprocess
import sys

from test_deployment_artifacts import toy_folder

from zoomcamp import paths

LAMBDA = paths.module_dir("05-deployment") / "lambda"
BUILD = LAMBDA / "build.py"


def lines(name: str) -> list[str]:
    text = (LAMBDA / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_dockerfile_is_the_lambda_recipe():
    recipe = lines("Dockerfile")
    froms = [line for line in recipe if line.startswith("FROM ")]
    base = "FROM public.ecr.aws/lambda/python:3.13"  # the builder too: the runtime's wheels
    assert froms == [f"{base} AS builder", base]
    final = recipe[recipe.index(froms[1]) :]
    code = "churn_events.py churn_scoring.py lambda_function.py"  # the handler and its siblings
    assert f"COPY {code} ${{LAMBDA_TASK_ROOT}}/" in final
    assert final[-1] == 'CMD ["lambda_function.lambda_handler"]'
    assert any("uv export --locked" in line for line in recipe[: recipe.index(froms[1])])


def test_dockerignore_lets_in_only_the_function():
    allowed = {line[1:] for line in lines(".dockerignore") if line.startswith("!")}
    assert lines(".dockerignore")[0] == "*"
    assert allowed == {
        "pyproject.toml",
        "uv.lock",
        "lambda_function.py",
        "churn_events.py",
        "churn_scoring.py",
        "model/model.json",
        "model/metadata.json",
    }


def test_the_scorer_is_never_committed_twice():
    tracked = subprocess.run(
        ["git", "ls-files", str(LAMBDA)], capture_output=True, text=True, cwd=paths.REPO_ROOT
    ).stdout.split()
    assert not [t for t in tracked if t.endswith("churn_scoring.py") or "/model/" in t]
    for path in (LAMBDA / "churn_scoring.py", LAMBDA / "model" / "model.json"):
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=paths.REPO_ROOT)
        assert ignored.returncode == 0, f"{path} is not git-ignored"


def build(tmp_path, *args):
    env = {**os.environ, "ZOOMCAMP_MODELS_DIR": str(tmp_path / "models")}
    return subprocess.run(
        [sys.executable, str(BUILD), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_build_prepares_a_context_with_the_shared_scorer(tmp_path):
    source = tmp_path / "models" / "churn"
    toy_folder(source)
    ctx = tmp_path / "ctx"
    proc = build(tmp_path, "--no-build", "--dest", str(ctx))
    assert proc.returncode == 0, proc.stderr
    scorer = LAMBDA.parent / "churn_scoring.py"
    assert (ctx / "churn_scoring.py").read_bytes() == scorer.read_bytes()
    for name in ("model.json", "metadata.json"):
        assert (ctx / "model" / name).read_bytes() == (source / name).read_bytes()
    for name in ("Dockerfile", ".dockerignore", "lambda_function.py", "churn_events.py", "uv.lock"):
        assert (ctx / name).read_bytes() == (LAMBDA / name).read_bytes()


def test_build_without_a_model_says_how_to_train_it(tmp_path):
    proc = build(tmp_path, "--no-build", "--dest", str(tmp_path / "ctx"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "uv run zoomcamp reproduce 03" in proc.stderr
