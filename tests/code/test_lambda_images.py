"""The two Lambda images (09-serverless/, 05-deployment/lambda/) are built the same way.

The wheels are installed in a builder stage FROM the Lambda base image itself, so uv
chooses them for the runtime's CPython and glibc (Amazon Linux 2023: glibc 2.34; a Debian
builder has 2.41 and may pick wheels the runtime cannot load), from the lock with hashes;
the final stage is the same base with the installed folder copied in, nothing installed
there, and a non-root user. The containers themselves run in tests/services/.
"""

from __future__ import annotations

import ast
import re

import pytest

from zoomcamp import paths

BASE = "public.ecr.aws/lambda/python:3.13"
FOLDERS = ["09-serverless", "05-deployment/lambda"]


def stages(folder: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped) by stage."""
    text = (paths.REPO_ROOT / folder / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found: list[list[str]] = []
    for line in joined.splitlines():
        if line.startswith("FROM "):
            found.append([])
        if line.strip() and found:  # an ARG before the first FROM belongs to no stage
            found[-1].append(" ".join(line.split()))
    return found


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_builder_is_the_lambda_base(folder):
    builder, final = stages(folder)
    assert builder[0] == f"FROM {BASE} AS builder"
    assert final[0] == f"FROM {BASE}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_builder_installs_a_pinned_uv_and_the_locked_wheels(folder):
    builder, _ = stages(folder)
    text = " ".join(builder)
    assert re.search(r"ARG UV_VERSION=\d+\.\d+\.\d+ ", text)
    assert 'pip install --no-cache-dir "uv==${UV_VERSION}"' in text
    assert "uv export --locked --no-dev" in text
    assert "--require-hashes" in text and "--target /deps" in text


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_final_stage_installs_nothing_and_keeps_the_base_user(folder):
    """No package manager in the final stage; no USER line, because `sam local` layers its
    emulator onto the image as the image's user (a non-root USER breaks sam local invoke),
    and on AWS Lambda runs the function as its own unprivileged user anyway."""
    _, final = stages(folder)
    for line in final:
        words = line.split()
        assert not {"pip", "uv", "dnf", "microdnf", "yum", "apt-get"} & set(words), line
    assert "COPY --from=builder /deps ${LAMBDA_TASK_ROOT}" in final
    assert not [line for line in final if line.startswith("USER ")]
    assert final[-1].startswith("CMD ")


def _copied_sources(folder: str) -> set[str]:
    _, final = stages(folder)
    names = set()
    for line in final:
        if line.startswith("COPY ") and "--from" not in line:
            names |= {w for w in line.split()[1:-1] if w.endswith(".py")}
    return names


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_local_module_the_handler_imports_is_copied(folder):
    """A module the handler imports but the Dockerfile leaves out fails only at run time."""
    root = paths.REPO_ROOT / folder
    copied = _copied_sources(folder)
    assert "lambda_function.py" in copied
    allowed = {
        line[1:]
        for line in (root / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    assert copied <= allowed, copied - allowed
    todo, seen = ["lambda_function.py"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        # the shared scorer is copied in by 05's build.py; its source lives one folder up
        source = root / name if (root / name).is_file() else root.parent / name
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            modules = []
            if isinstance(node, ast.Import):
                modules = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules = [node.module.split(".")[0]]
            for module in modules:
                if (root / f"{module}.py").is_file() or (root.parent / f"{module}.py").is_file():
                    todo.append(f"{module}.py")
    assert seen <= copied, seen - copied


def test_the_homework_image_has_the_main_images_builder():
    """``09-serverless/homework/Dockerfile`` repeats the main image's builder stage, so both
    share one layer cache and one set of deletions: a change to one must reach the other."""
    main_builder = stages("09-serverless")[0]
    homework_builder = stages("09-serverless/homework")[0]
    assert homework_builder == main_builder
