"""The root environment stays light and agrees with the services (root pyproject.toml, uv.lock).

What a learner installs by default (the dependencies plus the default groups) holds no
deep-learning stack: torch, TensorFlow and the CUDA libraries come with the ``dl`` group,
which modules 08 and 09 declare and ``zoomcamp reproduce`` installs. The suite's ``dev``
group includes ``dl``. The tests run the pydantic the service images lock.
"""

from __future__ import annotations

import re
import tomllib

import pytest

from zoomcamp import modules, paths

ROOT = paths.REPO_ROOT
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCK = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
PACKAGES = {p["name"]: p for p in LOCK["package"]}
DEEP = {"torch", "torchvision", "tensorflow", "tensorflow-cpu", "keras", "onnxruntime", "triton"}


def _closure(names: set[str]) -> set[str]:
    """Every locked package these pull in, whatever the platform (markers ignored)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        pkg = PACKAGES[name]
        for dep in pkg.get("dependencies", []):
            todo.append(dep["name"])
            for extra in dep.get("extra", []):
                todo.extend(
                    d["name"] for d in PACKAGES[dep["name"]]["optional-dependencies"][extra]
                )
    return seen


def _group(name: str) -> set[str]:
    return {d["name"] for d in PACKAGES["ml-zoomcamp"]["dev-dependencies"][name]}


def test_the_default_environment_has_no_deep_learning_stack():
    defaults = PROJECT["tool"]["uv"]["default-groups"]
    assert "dev" not in defaults and "dl" not in defaults
    roots = {d["name"] for d in PACKAGES["ml-zoomcamp"]["dependencies"]}
    for group in defaults:
        roots |= _group(group)
    installed = _closure(roots)
    assert {"jupyterlab", "ipykernel", "scikit-learn", "pandas"} <= installed
    assert not installed & DEEP, installed & DEEP
    assert not [n for n in installed if n.startswith("nvidia-")]


def test_the_dev_group_includes_the_deep_learning_group():
    assert {"torch", "keras", "onnxruntime"} <= _group("dl")
    assert _group("dl") <= _group("dev") and "pytest" in _group("dev")


def test_deploy_tools_are_not_in_the_environment():
    """sam, cfn-lint and kubernetes-validate run pinned through uvx: in the environment,
    aws-sam-cli held click and pydantic back (pydantic 2.13 against the services' 2.14)."""
    assert not {"aws-sam-cli", "aws-sam-translator", "cfn-lint", "kubernetes-validate"} & set(
        PACKAGES
    )


def test_module_groups_exist_in_the_project():
    declared = set(PROJECT["dependency-groups"])
    used = {g for m in modules.discover() for g in m.groups}
    assert "dl" in used and used <= declared, used - declared


def _locked(folder, name: str) -> list[str]:
    lock = tomllib.loads((folder / "uv.lock").read_text(encoding="utf-8"))
    return [p["version"] for p in lock["package"] if p["name"] == name]


@pytest.mark.parametrize("folder", ["05-deployment", "05-deployment/lambda"])
def test_the_tests_run_the_services_pydantic(folder):
    (root,) = _locked(ROOT, "pydantic")
    assert _locked(ROOT / folder, "pydantic") == [root]
    assert root.startswith("2.14.")


@pytest.mark.parametrize(
    "folder",
    [".", "05-deployment", "05-deployment/hw-sklearn161", "05-deployment/lambda", "09-serverless"],
)
def test_any_recent_uv_reads_the_projects(folder):
    """required-version is a floor: an exact pin would turn every other uv away."""
    text = (ROOT / folder / "pyproject.toml").read_text(encoding="utf-8")
    required = tomllib.loads(text)["tool"]["uv"]["required-version"]
    assert re.fullmatch(r">=\d+\.\d+\.\d+", required), required
