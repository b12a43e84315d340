"""Archives are pinned by digest (by layout alone only where the host rebuilds them, and
then loudly), unpack within a budget checked before anything is written, and an unpacked
tree is checked against the manifest written when it was unpacked."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import subprocess
import sys
import zipfile

import pytest

from zoomcamp import archives, datasets, downloads, paths

URL = "https://example.invalid/files/toy.zip"


def _zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A scratch data folder and a mirror folder that serves ``URL``."""
    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "mirror"))
    return tmp_path / "mirror" / "example.invalid" / "files" / "toy.zip"


def _register(monkeypatch, archive, layout, **kw) -> datasets.Dataset:
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    ds = datasets.Dataset("toyzip", URL, (digest,), None, "", layout=layout, **kw)
    monkeypatch.setitem(datasets.REGISTRY, ds.name, ds)
    return ds


def _files(folder):
    """Every file under ``folder`` but the unpack locks (``data/.locks/``, empty files that
    only serialise two unpacking processes)."""
    if not folder.exists():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and ".locks" not in p.parts]


def test_a_hair_type_lookalike_is_refused_by_the_command(tmp_path):
    """The right folders and image counts, other bytes: ``zoomcamp datasets fetch`` says
    so in one line and unpacks nothing."""
    ds = datasets.get("hair-type")
    counts = {"data/train/curly": 410, "data/train/straight": 389}
    counts |= {"data/test/curly": 103, "data/test/straight": 98}
    assert set(counts) == set(ds.layout)
    members = {
        f"{rel}/{i}.jpg": b"not the photo %d" % i for rel, n in counts.items() for i in range(n)
    }
    _zip(tmp_path / "mirror" / ds.mirror_relpath, members)
    env = {**os.environ, "ZOOMCAMP_DATA_DIR": str(tmp_path / "data")}
    env |= {datasets.MIRROR_ENV: str(tmp_path / "mirror"), "COLUMNS": "400"}
    proc = subprocess.run(
        [sys.executable, "-m", "zoomcamp.cli", "datasets", "fetch", "hair-type"],
        cwd=paths.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert lines[-1].startswith("error: data.zip: sha256 ")
    assert (
        "its members are not the published ones: unexpected member data/train/curly/0.jpg"
        in lines[-1]
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "data" / "hair-type").exists()
    assert not (tmp_path / "data" / "raw" / "hair-type" / "data.zip").exists()


def test_layout_only_acceptance_is_for_rebuilt_archives_and_loud(mirror, monkeypatch, caplog):
    archive = _zip(mirror, {"data/a/1.jpg": b"1"})
    ds = _register(monkeypatch, archive, {"data/a": (1, 1)})
    monkeypatch.setitem(datasets.REGISTRY, ds.name, dataclasses.replace(ds, sha256=("0" * 64,)))
    with pytest.raises(datasets.ChecksumError, match="sha256 mismatch"):
        datasets.unpack(ds.name)
    rebuilt = dataclasses.replace(ds, sha256=("0" * 64,), bytes_stable=False)
    monkeypatch.setitem(datasets.REGISTRY, ds.name, rebuilt)
    with caplog.at_level(logging.WARNING, logger="zoomcamp.datasets"):
        root = datasets.unpack(ds.name)
    assert (root / "data/a/1.jpg").read_bytes() == b"1"
    assert "ITS BYTES ARE NOT CHECKED" in caplog.text


def test_an_edited_unpacked_file_is_noticed(mirror, monkeypatch):
    archive = _zip(mirror, {"data/a/1.jpg": b"one", "data/a/2.jpg": b"two"})
    ds = _register(monkeypatch, archive, {"data/a": (2, 2)})
    root = datasets.unpack(ds.name)
    image = root / "data/a/1.jpg"
    stamp = image.stat()

    image.write_bytes(b"ONE")  # same size; a second later (mtimes can be coarse)
    os.utime(image, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    with pytest.raises(archives.TreeChangedError, match="1.jpg was modified") as err:
        datasets.unpack(ds.name)
    assert f"fetch --force {ds.name}" in str(err.value)

    os.utime(image, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # the edit hides its mtime
    assert datasets.unpack(ds.name) == root  # the cheap check cannot see it ...
    with pytest.raises(archives.TreeChangedError, match="other bytes than the archive's"):
        datasets.unpack(ds.name, deep=True)  # ... the full re-hash against the archive does

    image.write_bytes(b"one")
    os.utime(image, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert datasets.unpack(ds.name, deep=True) == root
    (root / "data/a/3.jpg").write_bytes(b"smuggled in")
    with pytest.raises(archives.TreeChangedError, match="3.jpg was added"):
        datasets.unpack(ds.name)


def test_the_manifest_is_bound_to_the_archive(mirror, monkeypatch):
    archive = _zip(mirror, {"data/a/1.jpg": b"one"})
    ds = _register(monkeypatch, archive, {"data/a": (1, 1)})
    root = datasets.unpack(ds.name)
    (root / "data/a/1.jpg").write_bytes(b"longer bytes")
    marker = root / downloads.MARKER
    manifest = json.loads(marker.read_text())
    st = (root / "data/a/1.jpg").stat()
    manifest["files"]["data/a/1.jpg"] |= {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    marker.write_text(json.dumps(manifest))  # the edit and the manifest agree
    with pytest.raises(archives.TreeChangedError, match="does not match"):
        datasets.unpack(ds.name)
    marker.unlink()  # no manifest: unpacked again from the verified archive
    assert (datasets.unpack(ds.name) / "data/a/1.jpg").read_bytes() == b"one"


def test_a_zip_bomb_is_refused_before_anything_is_written(mirror, monkeypatch):
    archive = _zip(
        mirror,
        {"data/a/1.jpg": b"1", "data/a/big.jpg": bytes(40 << 20)},
        compression=zipfile.ZIP_DEFLATED,
    )
    assert archive.stat().st_size < 100_000  # 40 MiB of zeros in about 40 kB
    ds = _register(monkeypatch, archive, {"data/a": (2, 2)})
    with pytest.raises(archives.UnsafeArchiveError, match="zip bomb"):
        datasets.unpack(ds.name)
    data = mirror.parents[3] / "data"
    assert _files(data) == [ds.local_path()]  # the verified archive, nothing unpacked


def test_too_many_members_are_refused_before_anything_is_written(mirror, monkeypatch):
    n = archives.DEFAULT_BUDGET.max_members + 1
    archive = _zip(mirror, {f"data/a/{i}.jpg": b"" for i in range(n)})
    ds = _register(monkeypatch, archive, {"data/a": (n, n)})
    with pytest.raises(archives.UnsafeArchiveError, match=f"has {n} members"):
        datasets.unpack(ds.name)
    assert _files(mirror.parents[3] / "data") == [ds.local_path()]


def test_the_budget_on_total_bytes(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"a/1.bin": os.urandom(600), "a/2.bin": os.urandom(600)})
    small = archives.Budget(max_bytes=1000)
    with pytest.raises(archives.UnsafeArchiveError, match="1200 bytes, more than 1000"):
        archives.safe_extract(archive, tmp_path / "out", small)
    assert _files(tmp_path / "out") == []
    assert (
        len(archives.safe_extract(archive, tmp_path / "out", archives.Budget(max_bytes=1200))) == 2
    )


def _published_like(tmp_path, extra: dict[str, bytes], drop: str | None = None):
    """The mirror's hair-type rebuild repacked (so another archive digest) with ``extra``
    members, as the published archive is: the same images plus the two the rebuild lacks."""
    ds = datasets.get("hair-type")
    rebuild = paths.REPO_ROOT.parent / "shared" / "datasets" / ds.mirror_relpath
    if not rebuild.is_file():
        pytest.fail(f"the hair-type mirror file is missing: {rebuild}")
    with zipfile.ZipFile(rebuild) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    members.pop(drop, None)
    out = tmp_path / "published.zip"
    _zip(out, members | extra)
    return ds, out


def test_the_published_hair_archive_is_accepted_by_its_members(tmp_path, caplog):
    extra = {"data/train/curly/Beauty202.png": b"png", "data/train/straight/StraightHair.png": b"p"}
    ds, archive = _published_like(tmp_path, extra)
    with caplog.at_level(logging.WARNING):
        digest = downloads.verify_file(ds, archive, first_use=True)
    assert digest not in ds.sha256
    assert "every member was checked" in caplog.text


def test_a_hair_archive_with_a_foreign_member_is_refused(tmp_path):
    ds, archive = _published_like(tmp_path, {"data/train/curly/evil.jpg": b"x"})
    with pytest.raises(datasets.ChecksumError, match="unexpected member data/train/curly/evil.jpg"):
        downloads.verify_file(ds, archive, first_use=True)


def test_a_hair_archive_with_a_swapped_image_is_refused(tmp_path):
    swapped = "data/test/curly/03312ac556a7d003f7570657f80392c34.jpg"
    ds, archive = _published_like(tmp_path, {swapped: b"other bytes"})
    with pytest.raises(datasets.ChecksumError, match=f"{swapped} has other bytes"):
        downloads.verify_file(ds, archive, first_use=True)


def test_a_hair_archive_missing_an_image_is_refused(tmp_path):
    gone = "data/train/straight/zzzzzz-0.jpg"
    ds, archive = _published_like(tmp_path, {}, drop=gone)
    with pytest.raises(datasets.ChecksumError, match=f"{gone} is missing"):
        downloads.verify_file(ds, archive, first_use=True)
