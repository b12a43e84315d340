"""Load a service's own files by path, for tests only.

05-deployment and 09-serverless are self-contained build contexts that import nothing from
the ``zoomcamp`` package, so their files are not importable as a package. Their folder is
put on ``sys.path`` while the file loads, so its sibling imports (``predict`` importing
``churn_scoring``) resolve; each file gets a unique module name so two modules' ``test.py``
never shadow each other.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from zoomcamp import paths


def load(module: str, name: str) -> ModuleType:
    """Import ``<module>/<name>.py`` as ``m05_deployment.<name>`` (cached)."""
    folder = paths.module_dir(module)
    path = folder / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(path)
    unique = "m" + module.replace("-", "_") + "." + name
    if unique in sys.modules:
        return sys.modules[unique]
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(unique, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[unique] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[unique]
        raise
    return mod
