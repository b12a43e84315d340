"""05-deployment: a model folder whose digests are consistent but whose content is malformed
stops the start-up with the one-line ``ModelError``, never another exception; files are read
only when regular and small (issue 18 #9)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys

import pytest
from churn_hostile import predict


@pytest.fixture
def scoring_module():
    """churn_scoring as the service imports it."""
    return sys.modules[predict.load_model.__module__]


def _folder(tmp_path, source, edit_model=None, edit_meta=None):
    folder = tmp_path / "model"
    shutil.copytree(source, folder, dirs_exist_ok=True)
    model = json.loads((folder / "model.json").read_text())
    if edit_model:
        edit_model(model)
    data = json.dumps(model).encode()
    (folder / "model.json").write_bytes(data)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["files"]["model.json"] = hashlib.sha256(data).hexdigest()  # consistent
    if edit_meta:
        edit_meta(meta)
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


MALFORMED = {
    "vocabulary holds an object": lambda m: m["vocabulary"].append({"a": 1}),
    "numerical weights are a list": lambda m: m["weights"].update(numerical=[1.0]),
    "allowed values are a number": lambda m: m["allowed"].update(contract=5),
    "a weight table is a string": lambda m: m["weights"]["categorical"].update(contract="x"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_model_json_gives_the_one_line_reason(
    name, tmp_path, churn_model_dir, scoring_module
):
    folder = _folder(tmp_path, churn_model_dir, edit_model=MALFORMED[name])
    with pytest.raises(scoring_module.ModelError):
        scorer, meta = scoring_module.load_model(folder)
        scoring_module.check_model(scorer, meta)


def test_malformed_categories_in_the_metadata_give_the_one_line_reason(
    tmp_path, churn_model_dir, scoring_module
):
    folder = _folder(tmp_path, churn_model_dir, edit_meta=lambda m: m.update(categories=[1]))
    scorer, meta = scoring_module.load_model(folder)
    with pytest.raises(scoring_module.ModelError, match="categories are malformed"):
        scoring_module.check_model(scorer, meta)


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_model_file_that_is_not_a_regular_file_is_refused_unread(
    target, tmp_path, churn_model_dir, scoring_module
):
    folder = _folder(tmp_path, churn_model_dir)
    (folder / "model.json").unlink()
    if target == "fifo":
        os.mkfifo(folder / "model.json")
    else:
        (folder / "model.json").symlink_to(target)
    with pytest.raises(scoring_module.ModelError, match="not a regular file"):
        scoring_module.load_model(folder)


def test_an_oversized_metadata_file_is_refused_unread(tmp_path, churn_model_dir, scoring_module):
    folder = _folder(tmp_path, churn_model_dir)
    with open(folder / "metadata.json", "r+b") as fh:
        fh.truncate(1 << 30)  # sparse: 1 GiB that costs no disk
    with pytest.raises(scoring_module.ModelError, match="larger than"):
        scoring_module.load_model(folder)
