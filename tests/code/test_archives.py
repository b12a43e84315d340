"""Archives unpack safely and are verified by layout and counts."""

from __future__ import annotations

import hashlib
import stat
import zipfile

import pytest

from zoomcamp import archives, datasets


def _zip(path, members: dict[str, bytes], symlink: str | None = None):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize("bad", ["../evil.txt", "a/../../evil.txt", "/abs/evil.txt", "C:/evil.txt"])
def test_unsafe_member_is_rejected_before_anything_is_written(tmp_path, bad):
    archive = _zip(tmp_path / "a.zip", {"ok/first.jpg": b"x", bad: b"evil"})
    dest = tmp_path / "out"
    with pytest.raises(archives.UnsafeArchiveError, match="escape"):
        archives.safe_extract(archive, dest)
    assert not (tmp_path / "evil.txt").exists()
    assert not (dest / "ok/first.jpg").exists()  # checked up front, not half-unpacked


def test_symlink_member_is_rejected(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"ok.jpg": b"x"}, symlink="link")
    with pytest.raises(archives.UnsafeArchiveError, match="link"):
        archives.safe_extract(archive, tmp_path / "out")


def test_safe_member_unpacks(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"data/train/a/1.jpg": b"1", "data/train/a/2.png": b"2"})
    written = archives.safe_extract(archive, tmp_path / "out")
    assert sorted(p.name for p in written) == ["1.jpg", "2.png"]


def test_verify_layout_counts_and_reports_every_problem(tmp_path):
    (tmp_path / "a").mkdir()
    for i in range(3):
        (tmp_path / "a" / f"{i}.jpg").write_bytes(b"x")
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    assert archives.verify_layout(tmp_path, {"a": (3, 3)}) == {"a": 3}
    with pytest.raises(archives.LayoutError) as err:
        archives.verify_layout(tmp_path, {"a": (4, 9), "b": (1, 2)})
    assert "holds 3 images" in str(err.value) and "missing folder b/" in str(err.value)


def test_unpack_verifies_layout_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    mirror = tmp_path / "mirror"
    archive = _zip(
        tmp_path / "toy.zip", {"data/train/cat/1.jpg": b"1", "data/train/cat/2.jpg": b"2"}
    )
    (mirror / "example.invalid").mkdir(parents=True)
    (mirror / "example.invalid/toy.zip").write_bytes(archive.read_bytes())
    monkeypatch.setenv(datasets.MIRROR_ENV, str(mirror))
    good = datasets.Dataset(
        "toyzip",
        "https://example.invalid/toy.zip",
        (hashlib.sha256(archive.read_bytes()).hexdigest(),),
        None,
        "",
        layout={"data/train/cat": (2, 2)},
    )
    monkeypatch.setitem(datasets.REGISTRY, "toyzip", good)
    root = datasets.unpack("toyzip")
    assert sorted(p.name for p in (root / "data/train/cat").iterdir()) == ["1.jpg", "2.jpg"]
    assert datasets.unpack("toyzip") == root  # second call reuses the verified folder

    bad = datasets.Dataset(
        "toyzip2", good.url, good.sha256, None, "", layout={"data/train/dog": (1, 5)}
    )
    monkeypatch.setitem(datasets.REGISTRY, "toyzip2", bad)
    with pytest.raises(archives.LayoutError, match="missing folder data/train/dog"):
        datasets.unpack("toyzip2")
    assert not (tmp_path / "data" / "toyzip2").exists()
    assert not [p for p in (tmp_path / "data").iterdir() if p.name.startswith(".toyzip2")]


def test_a_second_unpack_waits_for_the_first(tmp_path, monkeypatch):
    """Two processes unpacking one archive at once (two notebooks, two test workers): the
    second waits on the lock under ``data/.locks/`` instead of deleting the first one's
    tree, then finds it unpacked."""
    import threading

    from filelock import FileLock

    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    archive = _zip(tmp_path / "toy.zip", {"data/train/cat/1.jpg": b"1"})
    (tmp_path / "mirror/example.invalid").mkdir(parents=True)
    (tmp_path / "mirror/example.invalid/toy.zip").write_bytes(archive.read_bytes())
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "mirror"))
    ds = datasets.Dataset(
        "toylock",
        "https://example.invalid/toy.zip",
        (hashlib.sha256(archive.read_bytes()).hexdigest(),),
        None,
        "",
        layout={"data/train/cat": (1, 1)},
    )
    monkeypatch.setitem(datasets.REGISTRY, "toylock", ds)
    (tmp_path / "data/.locks").mkdir(parents=True)
    held = FileLock(tmp_path / "data/.locks/toylock.unpack.lock")  # the first process
    results: list = []
    with held:
        second = threading.Thread(target=lambda: results.append(datasets.unpack("toylock")))
        second.start()
        second.join(timeout=1.0)
        assert second.is_alive() and not (tmp_path / "data/toylock").exists()
    second.join(timeout=60)
    assert results == [tmp_path / "data/toylock"]
    assert (tmp_path / "data/toylock/data/train/cat/1.jpg").read_bytes() == b"1"


def test_unpack_hashes_the_archive_once_per_call(tmp_path, monkeypatch):
    from zoomcamp import fileio

    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    archive = _zip(tmp_path / "toy.zip", {"data/a/1.jpg": b"1"})
    (tmp_path / "mirror/example.invalid").mkdir(parents=True)
    (tmp_path / "mirror/example.invalid/toy.zip").write_bytes(archive.read_bytes())
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setitem(
        datasets.REGISTRY,
        "toyzip",
        datasets.Dataset(
            "toyzip",
            "https://example.invalid/toy.zip",
            (hashlib.sha256(archive.read_bytes()).hexdigest(),),
            None,
            "",
            layout={"data/a": (1, 1)},
        ),
    )
    calls = []
    real = fileio.sha256_file
    monkeypatch.setattr(fileio, "sha256_file", lambda p, *a: calls.append(p) or real(p, *a))
    datasets.unpack("toyzip")
    datasets.unpack("toyzip")
    assert len(calls) == 2  # hundreds of MB for the real archives: once per call, not twice
