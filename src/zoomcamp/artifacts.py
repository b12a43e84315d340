"""One contract for every saved model: ``models/<name>/`` holds the model's files and a
``metadata.json`` that describes them.

    {
      "schema": "zoomcamp-model/1",
      "name": "churn",
      "created": "2026-12-02T16:00:00Z",
      "files": {"model.bin": "<sha256>"},          # the one digest key: file -> sha256
      "versions": {"python": "3.11.7", "scikit-learn": "1.9.1"},
      "data": {"telco-churn": "<sha256>"},         # digests of the data it was trained on
      "metrics": {"val_auc": 0.84},
      ...                                           # model-specific fields (params, preprocessing)
    }

:func:`save` writes the metadata last, after the files it names, so a folder whose
metadata exists is complete. :func:`verify` checks the schema and every digest before a
loader touches a file (a swapped pickle is refused before it is unpickled). The services
in 05 and 09 carry a small reader of the same schema (they import nothing from here).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import platform
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zoomcamp import fileio
from zoomcamp.errors import ZoomcampError

SCHEMA = "zoomcamp-model/1"
METADATA_FILE = "metadata.json"
REQUIRED = ("schema", "name", "created", "files", "versions", "data", "metrics")
MAX_METADATA_BYTES = 4 << 20  # real ones are under 10 kB
MAX_JSON_BYTES = 16 << 20  # a model stored as JSON (car-price weights, churn's portable form)
# key -> (type, type of each value, or None): the shape :func:`read` insists on
SHAPE = {
    "name": (str, None),
    "created": (str, None),
    "files": (dict, str),
    "versions": (dict, str),
    "data": (dict, str),
    "metrics": (dict, None),
}


class ArtifactError(ZoomcampError):
    """A model folder is missing, incomplete or does not match its metadata."""


def versions(*packages: str) -> dict[str, str]:
    """Python's version and each installed distribution's, e.g. ``versions("scikit-learn")``."""
    found = {"python": platform.python_version()}
    for name in packages:
        found[name] = importlib.metadata.version(name)
    return found


def save(
    folder: Path | str,
    *,
    name: str,
    files: list[str],
    packages: tuple[str, ...] = (),
    data: dict[str, str] | None = None,
    metrics: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write ``folder/metadata.json`` for ``files`` (already written inside ``folder``).

    ``packages`` are the distributions whose versions the loader must match; ``data`` maps
    each dataset to its sha256; ``extra`` carries model-specific fields."""
    folder = Path(folder)
    for key in extra:
        if key in REQUIRED:
            raise ValueError(f"{key!r} is set by artifacts.save itself")
    digests = {}
    for file in files:
        path = folder / file
        if Path(file).name != file or not path.is_file():
            raise ArtifactError(f"{path} was not written (files are plain names inside {folder})")
        digests[file] = fileio.sha256_file(path)
    meta = {
        "schema": SCHEMA,
        "name": name,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": digests,
        "versions": versions(*packages),
        "data": dict(data or {}),
        "metrics": dict(metrics or {}),
        **extra,
    }
    fileio.write_json(folder / METADATA_FILE, meta)
    return meta


def read(folder: Path | str) -> dict[str, Any]:
    """The metadata of ``folder``, schema-checked but without hashing the files."""
    folder = Path(folder)
    path = folder / METADATA_FILE
    if not folder.is_dir():
        raise ArtifactError(f"no model at {folder}: train it first (uv run zoomcamp reproduce)")
    if not path.exists():
        raise ArtifactError(f"{folder} has no {METADATA_FILE}: it is incomplete, train it again")
    meta = _parse_json(path, _read(path, MAX_METADATA_BYTES))
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        found = meta.get("schema") if isinstance(meta, dict) else type(meta).__name__
        raise ArtifactError(f"{path}: schema {found!r}, expected {SCHEMA!r}; train it again")
    missing = [key for key in REQUIRED if key not in meta]
    if missing:
        raise ArtifactError(f"{path} lacks {', '.join(missing)}; train it again")
    for key, (kind, item) in SHAPE.items():
        value = meta[key]
        if not isinstance(value, kind) or (
            item is not None and not all(isinstance(v, item) for v in value.values())
        ):
            what = f"a {kind.__name__}" + (f" of {item.__name__} values" if item else "")
            raise ArtifactError(f"{path}: {key!r} must be {what}; train it again")
    if not meta["files"]:
        raise ArtifactError(f"{path}: 'files' must map at least one file to its sha256")
    return meta


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        return fileio.read_regular(path, max_bytes)
    except (fileio.UnsafeFileError, OSError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from None


def _parse_json(path: Path, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from None


def _sha256(path: Path) -> str:
    """The digest of a regular file; a FIFO, device or folder is refused, not read."""
    try:
        with fileio.open_regular(path) as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except (fileio.UnsafeFileError, OSError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from None


def verify(folder: Path | str, *, check_versions: bool = True) -> dict[str, Any]:
    """Check the schema, every file's sha256 and (by default) that the recorded library
    versions are the installed ones; return the metadata. Raises :class:`ArtifactError`."""
    folder = Path(folder)
    meta = read(folder)
    for file, expected in meta["files"].items():
        path = folder / file
        if not file or file == ".." or Path(file).name != file:
            raise ArtifactError(f"{folder / METADATA_FILE} names {file!r}, not a plain file name")
        if not path.exists():
            raise ArtifactError(f"{path} is missing; train the model again")
        actual = _sha256(path)
        if actual != expected:
            raise ArtifactError(
                f"{path} does not match its metadata (sha256 {actual[:12]}… != {expected[:12]}…): "
                "train it again or restore the file"
            )
    if check_versions:
        for package, recorded in meta["versions"].items():
            if package == "python":
                continue
            try:
                installed = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                installed = None
            if installed != recorded:
                raise ArtifactError(
                    f"{folder} was saved with {package} {recorded}, this environment has "
                    f"{installed or 'none'}: train it again here"
                )
    return meta


def file(folder: Path | str, name: str) -> Path:
    """The path of one verified file of a model folder (verifies the whole folder)."""
    meta = verify(folder)
    if name not in meta["files"]:
        raise ArtifactError(f"{folder} has no file {name!r} (it has {', '.join(meta['files'])})")
    return Path(folder) / name


def copy(folder: Path | str, dest: Path | str, *, check_versions: bool = False) -> dict[str, Any]:
    """Copy a verified model folder into ``dest`` (a build context): its files, then its
    metadata last, each atomically. Files already identical are left alone, so an image
    rebuild keeps its cache. The library versions are not checked by default: a service
    image pins its own (its reader checks them at start-up)."""
    folder, dest = Path(folder), Path(dest)
    meta = verify(folder, check_versions=check_versions)
    for name in [*meta["files"], METADATA_FILE]:
        target = dest / name
        source = folder / name
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        with fileio.atomic_path(target) as tmp:
            tmp.write_bytes(source.read_bytes())
    return meta


def load_json(folder: Path | str, name: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The parsed JSON file ``name`` of a verified model folder: read once (at most
    ``max_bytes``, a regular file), checked against the digest in the metadata, then parsed.
    Every problem is an :class:`ArtifactError`."""
    folder = Path(folder)
    meta = verify(folder)
    if name not in meta["files"]:
        raise ArtifactError(f"{folder} has no file {name!r} (it has {', '.join(meta['files'])})")
    path = folder / name
    data = _read(path, max_bytes)
    if hashlib.sha256(data).hexdigest() != meta["files"][name]:
        raise ArtifactError(f"{path} changed while it was verified")
    return _parse_json(path, data)


@contextlib.contextmanager
def shape_errors(path: Path | str) -> Iterator[None]:
    """Turn what a loader meets in a well-formed but wrong model file (a missing key, a
    value of the wrong type or length) into an :class:`ArtifactError` naming ``path``."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        raise ArtifactError(
            f"{path} does not hold the model it should ({type(exc).__name__}: {what}); "
            "train it again"
        ) from None
