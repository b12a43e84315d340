"""Files without a published digest are pinned on first use in a committed file
(``src/zoomcamp/pins.json``), never in the data cache beside the file it vouches for."""

from __future__ import annotations

import hashlib
import json

import pytest

from zoomcamp import datasets, pins

BODY = b"first version of the file"
OTHER = b"someone else's bytes"


@pytest.fixture
def asset(tmp_path, monkeypatch):
    """A course asset without a digest served from a mirror, a scratch data folder, and a
    scratch pins file in which the asset is declared but not pinned yet."""
    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setattr(pins, "PINS_FILE", tmp_path / "repo" / "pins.json")
    pins.PINS_FILE.parent.mkdir()
    pins.PINS_FILE.write_text(json.dumps({"toy-asset": None}))
    ds = datasets.Dataset("toy-asset", "https://example.invalid/files/toy.bin", (), None, "")
    monkeypatch.setitem(datasets.COURSE_ASSETS, ds.name, ds)
    source = tmp_path / "mirror" / ds.mirror_relpath
    source.parent.mkdir(parents=True)
    source.write_bytes(BODY)
    return ds, source


def test_the_first_download_is_pinned_outside_the_cache(asset):
    ds, _ = asset
    path = datasets.fetch(ds.name)
    assert json.loads(pins.PINS_FILE.read_text()) == {
        "toy-asset": {"sha256": hashlib.sha256(BODY).hexdigest(), "size": len(BODY)}
    }
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # nothing beside it
    assert datasets.status(ds.name) == "ok"


def test_a_replaced_cached_file_is_refused(asset):
    ds, _ = asset
    path = datasets.fetch(ds.name)
    path.write_bytes(OTHER)
    # what the cache used to hold as the pin: written beside the file, it changes nothing
    path.with_name(path.name + ".first-seen.sha256").write_text(hashlib.sha256(OTHER).hexdigest())
    with pytest.raises(datasets.ChecksumError, match="first download") as err:
        datasets.fetch(ds.name)
    assert "fetch --force toy-asset" in str(err.value)
    assert datasets.status(ds.name).startswith("BAD")


def test_a_changed_upstream_is_refused_and_the_copy_kept(asset):
    ds, source = asset
    path = datasets.fetch(ds.name)
    source.write_bytes(OTHER)
    with pytest.raises(datasets.ChecksumError, match="first download"):
        datasets.fetch(ds.name, force=True)
    assert path.read_bytes() == BODY


def test_a_cached_file_whose_pin_was_removed_is_refused(asset):
    ds, _ = asset
    path = datasets.fetch(ds.name)
    pins.PINS_FILE.write_text(json.dumps({"toy-asset": None}))
    with pytest.raises(datasets.ChecksumError, match="no digest is pinned for toy-asset"):
        datasets.fetch(ds.name)
    pins.PINS_FILE.write_text("{}")
    with pytest.raises(datasets.ChecksumError, match="no entry in"):
        datasets.fetch(ds.name)
    assert path.read_bytes() == BODY


def test_an_undeclared_asset_is_not_pinned(asset):
    """Only assets listed in the pins file are trusted on first use, so a scratch entry
    (a test's toy) can never write itself into the committed file."""
    ds, _ = asset
    pins.PINS_FILE.write_text("{}")
    with pytest.raises(datasets.ChecksumError, match='add "toy-asset": null'):
        datasets.fetch(ds.name)
    assert pins.PINS_FILE.read_text() == "{}"
    assert not ds.local_path().exists()


def test_a_pinned_size_caps_the_download(asset):
    ds, source = asset
    datasets.fetch(ds.name)
    source.write_bytes(BODY * 1000)
    with pytest.raises(datasets.ChecksumError, match=f"more than the {len(BODY)} expected"):
        datasets.fetch(ds.name, force=True)


def test_the_committed_pins_cover_exactly_the_assets_without_a_digest():
    committed = json.loads(pins.PINS_FILE.read_text())
    unpublished = {
        n for n, d in {**datasets.REGISTRY, **datasets.COURSE_ASSETS}.items() if not d.sha256
    }
    assert set(committed) == unpublished
    for name, pin in committed.items():
        assert pin is None or (len(pin["sha256"]) == 64 and pin["size"] > 0), name
