"""Every image installs from its lock with --locked: a pyproject.toml changed without
``uv lock`` fails the build with uv's own message instead of building without the change."""

from __future__ import annotations

import shutil

import pytest

from zoomcamp import paths

# context folder -> the files its Dockerfile needs up to the dependency install
IMAGES = {
    "05-deployment": ["Dockerfile", "pyproject.toml", "uv.lock"],
    "05-deployment/hw-sklearn161": ["Dockerfile", "pyproject.toml", "uv.lock"],
    "05-deployment/lambda": ["Dockerfile", "pyproject.toml", "uv.lock"],
    "09-serverless": ["Dockerfile", "pyproject.toml", "uv.lock"],
}


# the homework image's base (the course's) cannot be pulled here; the lock check does not
# depend on it
BUILD_ARGS = {"05-deployment/hw-sklearn161": {"BASE": "python:3.13-slim"}}


@pytest.mark.docker
@pytest.mark.parametrize("folder", IMAGES, ids=list(IMAGES))
def test_a_stale_lock_fails_the_build(images, tmp_path, folder):
    source = paths.REPO_ROOT / folder
    for name in IMAGES[folder]:
        shutil.copy2(source / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    assert "dependencies = [\n" in text
    # a new dependency that uv.lock does not know about
    pyproject.write_text(
        text.replace("dependencies = [\n", 'dependencies = [\n    "six>=1.16",\n', 1)
    )
    proc = images.try_build(tmp_path, build_args=BUILD_ARGS.get(folder))
    assert proc.returncode != 0, "the image built from a stale lock"
    assert "needs to be updated" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
