"""The course's homework-09 assets (``zoomcamp.hair.course``): registered with their real
URLs, trusted on first use (the first digest is pinned in a scratch pins file, a later
different one refused),
checked by their interface; and the homework's NEAREST preprocessing by hand."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from zoomcamp import datasets, pins
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import course as hair_course
from zoomcamp.hair import model_keras

BODY = b"first version of the file"


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A course asset served from a local mirror folder, with a scratch data folder and a
    scratch pins file that declares it (never the committed one)."""
    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(pins, "PINS_FILE", tmp_path / "pins.json")
    pins.PINS_FILE.write_text(json.dumps({"toy-course": None}))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "mirror"))
    ds = datasets.Dataset("toy-course", "https://example.org/files/toy.bin", (), None, "toy")
    monkeypatch.setitem(datasets.COURSE_ASSETS, ds.name, ds)
    source = tmp_path / "mirror" / ds.mirror_relpath
    source.parent.mkdir(parents=True)
    source.write_bytes(BODY)
    return ds, source


def test_registered_with_their_real_urls():
    base = "https://github.com/alexeygrigorev/large-datasets/releases/download/hairstyle/"
    assert datasets.get(hair_course.MODEL).url == base + "hair_classifier_v1.onnx"
    assert datasets.get(hair_course.MODEL_DATA).url == base + "hair_classifier_v1.onnx.data"
    assert datasets.get(hair_course.IMAGE).url == (
        "https://habrastorage.org/webt/yf/_d/ok/yf_dokzqy3vcritme8ggnzqlvwa.jpeg"
    )
    for name in (hair_course.MODEL, hair_course.MODEL_DATA, hair_course.IMAGE):
        assert name not in datasets.REGISTRY  # not part of `datasets fetch --all`


def test_trust_on_first_use(mirror):
    ds, source = mirror
    path = datasets.fetch(ds.name)
    assert pins.get(ds.name)["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert datasets.status(ds.name) == "ok"
    source.write_bytes(b"changed upstream")
    with pytest.raises(datasets.ChecksumError, match="first download"):
        datasets.fetch(ds.name, force=True)
    assert path.read_bytes() == BODY  # the verified copy stays


def test_unavailable_asset_says_why(mirror, monkeypatch):
    ds, source = mirror
    source.unlink()
    with pytest.raises(hair_course.CourseAssetUnavailable, match="does not exist"):
        hair_course._fetch(ds.name)


def test_interface_check(tmp_path):
    path = model_keras.write_stand_in(tmp_path / "ok")  # input [N,3,200,200] -> output [N,1]
    hair_course.check_interface(path)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a graph")
    with pytest.raises(ZoomcampError, match="does not load"):
        hair_course.check_interface(bad)


def test_homework_preprocess_by_hand(tmp_path):
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (150, 333, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    x = hair_course.homework_preprocess(tmp_path / "x.png")
    assert x.shape == (1, 3, 200, 200) and x.dtype == np.float32
    # PIL's NEAREST picks source index floor((i + 0.5) * scale)
    rows = np.floor((np.arange(200) + 0.5) * 150 / 200).astype(int)
    cols = np.floor((np.arange(200) + 0.5) * 333 / 200).astype(int)
    mean = np.array([0.485, 0.456, 0.406])
    std = np.array([0.229, 0.224, 0.225])
    expected = (pixels[rows][:, cols] / 255.0 - mean) / std
    np.testing.assert_allclose(x[0], expected.transpose(2, 0, 1), atol=1e-5)
