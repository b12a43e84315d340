"""The root project resolves where learners are (the README's platform table): Linux x86_64
and aarch64, macOS 14+ on Apple silicon, Windows x86_64. ``uv lock --check`` in CI also
holds the lock to ``tool.uv.required-environments``; this resolves each platform afresh
from PyPI, as a learner's ``uv sync --all-groups`` there would (the ``dl`` group included).
It needs the package index, so it is marked ``network``: the default run deselects it and
CI runs it in a second call (``uv run --group dev pytest -m network``)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from zoomcamp import paths

pytestmark = pytest.mark.network

# target triple -> the TensorFlow distribution that platform gets
PLATFORMS = {
    "x86_64-unknown-linux-gnu": "tensorflow-cpu",
    "aarch64-unknown-linux-gnu": "tensorflow",
    "aarch64-apple-darwin": "tensorflow",
    "x86_64-pc-windows-msvc": "tensorflow-cpu",
}


def _compile(platform: str, out, macos: str = "14.0") -> tuple[subprocess.CompletedProcess, set]:
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH"
    proc = subprocess.run(
        [uv, "pip", "compile", "pyproject.toml", "--python-platform", platform]
        + ["--group", "jupyter", "--group", "dev"]
        + ["--python-version", "3.11", "--quiet", "--no-header", "--output-file", str(out)],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MACOSX_DEPLOYMENT_TARGET": macos},
    )
    lines = out.read_text().splitlines() if out.is_file() else []
    return proc, {line.split("==")[0] for line in lines if "==" in line}


@pytest.mark.parametrize(("platform", "tensorflow"), PLATFORMS.items())
def test_root_project_resolves(platform, tensorflow, tmp_path):
    proc, pinned = _compile(platform, tmp_path / "requirements.txt")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {tensorflow, "torch", "torchvision", "onnxruntime", "keras"} <= pinned
    other = "tensorflow" if tensorflow == "tensorflow-cpu" else "tensorflow-cpu"
    assert other not in pinned


def test_macos_13_is_not_supported(tmp_path):
    """The README says macOS < 14 does not run: torch's and onnxruntime's wheels need 14."""
    proc, _ = _compile("aarch64-apple-darwin", tmp_path / "requirements.txt", macos="13.0")
    assert proc.returncode != 0 and "macosx_14_0_arm64" in proc.stderr
