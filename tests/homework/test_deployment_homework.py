"""05-deployment homework helpers: Q2's lock reading, checked against tomllib's view."""

from __future__ import annotations

import tomllib

import pytest
import service_files

from zoomcamp import paths
from zoomcamp.errors import ZoomcampError

hw = service_files.load("05-deployment", "homework")
LOCK = paths.module_dir("05-deployment") / "hw-sklearn161" / "uv.lock"


def test_q2_is_the_sdist_hash_of_scikit_learn_1_6_1():
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    (pkg,) = [p for p in lock["package"] if p["name"] == "scikit-learn"]
    assert pkg["version"] == "1.6.1"
    # uv writes the sdist before the wheels: the first hash recorded is the sdist's
    assert hw.first_sklearn_hash(LOCK) == pkg["sdist"]["hash"]
    assert pkg["sdist"]["url"].endswith("scikit_learn-1.6.1.tar.gz")


def test_q2_refuses_a_lock_without_scikit_learn_1_6_1(tmp_path):
    other = tmp_path / "uv.lock"
    other.write_text(
        'version = 1\n[[package]]\nname = "scikit-learn"\nversion = "1.9.1"\n'
        'sdist = { url = "x", hash = "sha256:' + "0" * 64 + '" }\n'
    )
    with pytest.raises(ZoomcampError, match="1.6.1"):
        hw.first_sklearn_hash(other)
    other.write_text('version = 1\n[[package]]\nname = "numpy"\nversion = "2.0"\n')
    with pytest.raises(ZoomcampError, match="no scikit-learn"):
        hw.first_sklearn_hash(other)
