"""Every notebook in every module executes top to bottom (fast settings via ZOOMCAMP_FAST),
and what it prints matches its committed outputs, so they cannot drift from the code."""

from __future__ import annotations

import copy

import nbformat
import outputs
import pytest
from nbclient import NotebookClient

from zoomcamp import paths

NOTEBOOKS = sorted(
    nb
    for d in paths.module_dirs()
    for nb in d.rglob("*.ipynb")
    if ".ipynb_checkpoints" not in nb.parts
)

# Notebooks whose committed outputs come from full runs (training, the C grid of 04's
# cross-validation): the suite executes them with tiny settings (ZOOMCAMP_FAST=1), so their
# numbers differ by design. Every other notebook is compared.
TRAINED_IN_FAST_MODE = {
    "04-evaluation/evaluation.ipynb",
    "05-deployment/service.ipynb",  # serves the suite's fast-trained churn model
    "08-deep-learning/homework.ipynb",  # the PyTorch track, as the 2025 homework sets it
    "08-deep-learning/homework-keras.ipynb",  # the same homework, the Keras variant
    "08-deep-learning/clothing-keras.ipynb",
    "08-deep-learning/clothing.ipynb",
    "09-serverless/lambda.ipynb",
}

# The Keras notebooks stay although the PyTorch ones cover the same lessons: they are the only
# run of zoomcamp.clothing.lesson_keras.tune, its imagenet_top refusal and
# zoomcamp.hair.train_keras.recorded_history. They are among the slowest (clothing-keras 67 s
# alone, with its smoke fits run eagerly; 129 s traced); like every notebook they are outside
# the quick lane (marker notebook).


@pytest.mark.notebook
@pytest.mark.parametrize(
    "notebook", NOTEBOOKS, ids=[str(nb.relative_to(paths.REPO_ROOT)) for nb in NOTEBOOKS]
)
def test_notebook_executes(notebook, request, monkeypatch):
    if notebook.parent.name == "05-deployment":
        # the service notebook serves the model the build step copied (git-ignored on a
        # fresh clone): point it at the suite's freshly built one
        monkeypatch.setenv("MODEL_DIR", str(request.getfixturevalue("churn_model_dir")))
    nb = nbformat.read(notebook, as_version=4)
    committed = copy.deepcopy(nb)
    # Cells run in the notebook's own folder, as in Jupyter, so relative paths (`homework.py`) resolve.
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    if str(notebook.relative_to(paths.REPO_ROOT)) not in TRAINED_IN_FAST_MODE:
        drift = outputs.differences(committed, nb)
        assert not drift, "committed outputs differ from a fresh run (re-execute it):\n" + (
            "\n".join(drift)
        )


def test_every_module_has_a_notebook():
    modules_with_code = [d for d in paths.module_dirs() if (d / "module.toml").is_file()]
    missing = [d.name for d in modules_with_code if not list(d.rglob("*.ipynb"))]
    assert not missing, f"modules without a notebook: {missing}"
