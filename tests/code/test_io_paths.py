"""Atomic writes and repo-anchored paths."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from zoomcamp import fileio, paths, reports


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "metrics.json"
    fileio.write_json(target, {"rmse": 1.0})
    with pytest.raises(RuntimeError), fileio.atomic_open(target) as fh:
        fh.write('{"rmse": ')
        raise RuntimeError("crash half-way")
    assert json.loads(target.read_text()) == {"rmse": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_written_files_get_the_umask_mode_not_0600(tmp_path):
    mask = os.umask(0o022)
    try:
        path = fileio.write_json(tmp_path / "m.json", {})
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_write_json_handles_numpy(tmp_path):
    path = fileio.write_json(tmp_path / "a" / "m.json", {"x": np.float32(0.5), "v": np.arange(3)})
    assert json.loads(path.read_text()) == {"x": 0.5, "v": [0, 1, 2]}


def test_sha256_matches_hashlib(tmp_path):
    import hashlib

    data = os.urandom(3 << 20)  # spans several read chunks
    (tmp_path / "blob").write_bytes(data)
    assert fileio.sha256_file(tmp_path / "blob") == hashlib.sha256(data).hexdigest()


def test_paths_are_anchored_at_the_repo_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZOOMCAMP_DATA_DIR", raising=False)
    assert (paths.REPO_ROOT / "pyproject.toml").is_file()
    assert paths.data_dir() == paths.REPO_ROOT / "data"
    monkeypatch.setenv("ZOOMCAMP_REPORTS_DIR", str(tmp_path / "r"))
    assert paths.reports_dir() == tmp_path / "r"


def test_module_dir_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown module"):
        paths.module_dir("../etc")


def test_save_figure_writes_the_same_png_bytes_twice(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("ZOOMCAMP_REPORTS_DIR", str(tmp_path))

    def line():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        return fig

    path = reports.save_figure("00-test", "line", line())
    assert path == tmp_path / "00-test" / "line.png"
    first = path.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    # Committed figures must not change on a rerun: no timestamp in the PNG metadata.
    reports.save_figure("00-test", "line", line())
    assert path.read_bytes() == first


@pytest.mark.parametrize(
    ("value", "fast"), [(None, False), ("", False), ("0", False), ("1", True), ("true", True)]
)
def test_fast_mode_reads_the_environment(monkeypatch, value, fast):
    from zoomcamp import settings

    if value is None:
        monkeypatch.delenv(settings.FAST_ENV, raising=False)
    else:
        monkeypatch.setenv(settings.FAST_ENV, value)
    assert settings.fast_mode() is fast


def test_read_regular_reads_plain_files_only_and_within_a_cap(tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_bytes(b"[1, 2]")
    assert fileio.read_regular(plain, 6) == b"[1, 2]"
    with pytest.raises(fileio.UnsafeFileError, match="larger than 5 bytes"):
        fileio.read_regular(plain, 5)
    (tmp_path / "link").symlink_to(plain)  # a link to a regular file is that file
    assert fileio.read_regular(tmp_path / "link", 6) == b"[1, 2]"
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(fileio.UnsafeFileError, match="a character device"):
        fileio.read_regular(tmp_path / "zero", 1 << 20)
    os.mkfifo(tmp_path / "fifo")  # no writer: a blocking open would never return
    with pytest.raises(fileio.UnsafeFileError, match="a FIFO"):
        fileio.read_regular(tmp_path / "fifo", 1 << 20)
    with pytest.raises(fileio.UnsafeFileError, match="a folder"):
        fileio.read_regular(tmp_path, 1 << 20)
