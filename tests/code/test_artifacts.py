"""The one model-metadata contract: save, verify, copy into a build context."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from zoomcamp import artifacts


@pytest.fixture
def model(tmp_path):
    folder = tmp_path / "models" / "toy"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00\x01weights")
    (folder / "vocab.json").write_text('["a", "b"]')
    meta = artifacts.save(
        folder,
        name="toy",
        files=["weights.bin", "vocab.json"],
        packages=("numpy",),
        data={"toy-data": "ab" * 32},
        metrics={"auc": 0.9},
        params={"C": 1.0},
    )
    return folder, meta


def _rewrite(folder, **changes):
    path = folder / artifacts.METADATA_FILE
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def test_saved_metadata_follows_the_schema(model):
    folder, meta = model
    on_disk = json.loads((folder / "metadata.json").read_text())
    assert on_disk == meta
    assert on_disk["schema"] == "zoomcamp-model/1" and on_disk["name"] == "toy"
    # digests are plain sha256 of the bytes, checked against hashlib directly
    assert on_disk["files"] == {
        "weights.bin": hashlib.sha256(b"\x00\x01weights").hexdigest(),
        "vocab.json": hashlib.sha256(b'["a", "b"]').hexdigest(),
    }
    assert on_disk["versions"]["numpy"] == np.__version__
    assert on_disk["metrics"] == {"auc": 0.9} and on_disk["params"] == {"C": 1.0}
    assert artifacts.verify(folder) == meta


def test_a_changed_file_is_refused(model):
    folder, _ = model
    (folder / "weights.bin").write_bytes(b"\x00\x01weightz")
    with pytest.raises(artifacts.ArtifactError, match="weights.bin does not match its metadata"):
        artifacts.verify(folder)


def test_a_missing_file_or_metadata_is_refused(model):
    folder, _ = model
    (folder / "vocab.json").unlink()
    with pytest.raises(artifacts.ArtifactError, match="vocab.json is missing"):
        artifacts.verify(folder)
    (folder / "metadata.json").unlink()
    with pytest.raises(artifacts.ArtifactError, match="has no metadata.json"):
        artifacts.verify(folder)
    with pytest.raises(artifacts.ArtifactError, match="no model at"):
        artifacts.verify(folder.parent / "absent")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schema": "zoomcamp-model/0"}, "schema 'zoomcamp-model/0'"),
        ({"versions": {"python": "3.11", "numpy": "0.0.1"}}, "saved with numpy 0.0.1"),
        ({"versions": {"python": "3.11", "no-such-dist": "1"}}, "this environment has none"),
        ({"files": {"../escape": "00"}}, "not a plain file name"),
        ({"files": {}}, "at least one file"),
    ],
)
def test_bad_metadata_is_refused(model, changes, message):
    folder, _ = model
    _rewrite(folder, **changes)
    with pytest.raises(artifacts.ArtifactError, match=message):
        artifacts.verify(folder)


def test_version_check_can_be_left_to_the_service(model):
    folder, _ = model
    _rewrite(folder, versions={"python": "3.11", "numpy": "0.0.1"})
    assert artifacts.verify(folder, check_versions=False)["name"] == "toy"


def test_save_refuses_files_it_cannot_find_and_writes_no_metadata(tmp_path):
    with pytest.raises(artifacts.ArtifactError, match="was not written"):
        artifacts.save(tmp_path, name="x", files=["absent.bin"])
    assert not (tmp_path / "metadata.json").exists()
    with pytest.raises(ValueError, match="set by artifacts.save"):
        artifacts.save(tmp_path, name="x", files=[], metrics={}, created="now")


def test_copy_into_a_build_context(model, tmp_path):
    folder, meta = model
    context = tmp_path / "context" / "model"
    assert artifacts.copy(folder, context) == meta
    assert sorted(p.name for p in context.iterdir()) == [
        "metadata.json",
        "vocab.json",
        "weights.bin",
    ]
    assert artifacts.verify(context) == meta
    mtime = (context / "weights.bin").stat().st_mtime_ns
    artifacts.copy(folder, context)  # unchanged files are left alone (Docker keeps its cache)
    assert (context / "weights.bin").stat().st_mtime_ns == mtime


def test_copy_refuses_a_tampered_model(model, tmp_path):
    folder, _ = model
    (folder / "vocab.json").write_text("[]")
    with pytest.raises(artifacts.ArtifactError):
        artifacts.copy(folder, tmp_path / "context")
    assert not (tmp_path / "context").exists()


# ---------------------------------------------------------------- hostile folders


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"versions": ["numpy"]}, "'versions' must be a dict"),
        ({"versions": {"numpy": 1}}, "'versions' must be a dict of str values"),
        ({"files": {"weights.bin": 5}}, "'files' must be a dict of str values"),
        ({"files": ["weights.bin"]}, "'files' must be a dict"),
        ({"data": "telco"}, "'data' must be a dict"),
        ({"metrics": [0.9]}, "'metrics' must be a dict"),
        ({"name": None}, "'name' must be a str"),
    ],
)
def test_malformed_but_consistent_metadata_is_one_reason(model, changes, message):
    """Valid JSON with the right keys but the wrong shapes: the reason, not an
    AttributeError or TypeError from deep inside the check."""
    folder, _ = model
    _rewrite(folder, **changes)
    with pytest.raises(artifacts.ArtifactError, match=message):
        artifacts.verify(folder)


def test_metadata_is_read_with_a_cap(model):
    folder, _ = model
    path = folder / artifacts.METADATA_FILE
    with open(path, "r+b") as fh:  # a sparse 64 MiB file: no disk, but 64 MiB to read
        fh.truncate(64 << 20)
    with pytest.raises(
        artifacts.ArtifactError, match=f"larger than {artifacts.MAX_METADATA_BYTES}"
    ):
        artifacts.verify(folder)


@pytest.mark.parametrize("name", ["metadata.json", "vocab.json"])
def test_links_to_devices_and_fifos_are_refused_unread(model, name):
    folder, _ = model
    path = folder / name
    path.unlink()
    path.symlink_to("/dev/zero")
    with pytest.raises(artifacts.ArtifactError, match="not a regular file .a character device"):
        artifacts.verify(folder)
    path.unlink()
    os.mkfifo(path)  # opening it for reading would wait for a writer forever
    with pytest.raises(artifacts.ArtifactError, match="not a regular file .a FIFO"):
        artifacts.verify(folder)


def test_load_json_maps_every_problem_to_the_reason(model):
    folder, _ = model
    assert artifacts.load_json(folder, "vocab.json") == ["a", "b"]
    with pytest.raises(artifacts.ArtifactError, match="no file 'model.json'"):
        artifacts.load_json(folder, "model.json")
    (folder / "weights.bin").write_bytes(b"{not json")
    artifacts.save(folder, name="toy", files=["weights.bin"], packages=("numpy",))
    with pytest.raises(artifacts.ArtifactError, match="weights.bin is not valid JSON"):
        artifacts.load_json(folder, "weights.bin")
    with pytest.raises(artifacts.ArtifactError, match="larger than 4 bytes"):
        artifacts.load_json(folder, "weights.bin", max_bytes=4)


def test_shape_errors_name_the_file(tmp_path):
    model = {"w": [1.0]}
    for broken in (lambda: model["w0"], lambda: model["w"][3], lambda: float("x")):
        with pytest.raises(artifacts.ArtifactError, match="model.json does not hold the model"):
            with artifacts.shape_errors(tmp_path / "model.json"):
                broken()
