"""Download, verify and unpack one registered file (the registry is :mod:`zoomcamp.datasets`).

A file comes from the cache when its checksum still matches, otherwise from the public
address (or a copy from a mirror folder named by ``ZOOMCAMP_DATA_MIRROR``, laid out as
``HOST/PATH``), written to a temporary file and renamed into place only after it verifies.
A download stops at the size it should have and at an overall deadline. Archives are
verified by digest (by layout alone only where the host rebuilds them on every download),
unpacked once within a budget, and the unpacked tree is checked against the manifest
written when it was unpacked. Files without a published digest are pinned on first use
in :mod:`zoomcamp.pins`. Everything here takes a :class:`~zoomcamp.datasets.Dataset`,
never a name, so this module does not import the registry.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from zoomcamp import archives, fileio, paths, pins, transfer
from zoomcamp.errors import ZoomcampError

# re-exported: the registry and its callers know them from here
from zoomcamp.transfer import (  # noqa: F401
    DEADLINE_S,
    MAX_UNDECLARED_BYTES,
    MIRROR_ENV,
    RETRY_DELAYS,
    ChecksumError,
    DatasetUnavailable,
)

if TYPE_CHECKING:
    from zoomcamp.datasets import Dataset

log = logging.getLogger("zoomcamp.datasets")  # the name these messages have always had

MARKER = ".unpacked.json"
MANIFESTS = Path(__file__).with_name("manifests")
MAX_MARKER_BYTES = 16 << 20  # the clothing manifest is about 0.7 MB


def verify_file(ds: Dataset, path: Path, *, first_use: bool = False) -> str:
    """Check size and digest of a downloaded or cached file; return the digest.

    Known digests are the registry's, or for a file without one the pin of
    :mod:`zoomcamp.pins` (``first_use``: a fresh download may record a missing pin; a
    cached file without one is refused). Archives that are rebuilt on every download
    (``bytes_stable=False``) are accepted with another digest, loudly, and checked by
    layout when unpacked."""
    actual_size = path.stat().st_size
    digest = fileio.sha256_file(path)
    pin = pins.get(ds.name) if not ds.sha256 else None
    if pin is not None and (digest, actual_size) != (pin["sha256"], pin["size"]):
        raise ChecksumError(
            f"{ds.filename}: sha256 {digest} ({actual_size} bytes) differs from the one seen "
            f"on its first download ({pin['sha256']}, {pin['size']} bytes, pinned in "
            f"{pins.PINS_FILE}): the file changed upstream or is damaged"
        )
    known = ds.sha256 or ((pin["sha256"],) if pin else ())
    size = ds.size
    if size is not None and actual_size != size:
        raise ChecksumError(
            f"{ds.filename}: size {actual_size} bytes, expected {size} bytes "
            f"(sha256 expected {known[0]}, actual {digest})"
        )
    if digest in known:
        return digest
    if ds.is_archive and ds.members_manifest:
        return _verify_members(ds, path, digest)
    if ds.is_archive and not ds.bytes_stable:
        log.warning(
            "%s: archive sha256 %s is not a known one. ITS BYTES ARE NOT CHECKED, ONLY ITS "
            "LAYOUT AND IMAGE COUNTS: the host rebuilds this archive on every download",
            ds.name,
            digest,
        )
        return digest
    if not ds.sha256:
        return _first_use(ds, path, digest, actual_size, first_use)
    hint = (
        "; if the upstream archive really changed, check it and add its digest to the "
        "registry (src/zoomcamp/datasets.py)"
        if ds.is_archive
        else ""
    )
    raise ChecksumError(
        f"{ds.filename}: sha256 mismatch: expected {ds.sha256[0]}, actual {digest}{hint}"
    )


def _verify_members(ds: Dataset, path: Path, digest: str) -> str:
    manifest_path = MANIFESTS / ds.members_manifest
    manifest = json.loads(fileio.read_regular(manifest_path, 1 << 20))
    problems = archives.member_problems(path, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ChecksumError(
            f"{ds.filename}: sha256 {digest} is not a known one, and its members are not the "
            f"published ones: {problems[0]}{more}"
        )
    log.warning(
        "%s: archive sha256 %s is not a known one; every member was checked against %s and matches",
        ds.name,
        digest,
        manifest_path,
    )
    return digest


def _first_use(ds: Dataset, path: Path, digest: str, size: int, first_use: bool) -> str:
    if not pins.declared(ds.name):
        raise ChecksumError(
            f"{ds.name} has no published digest and no entry in {pins.PINS_FILE} "
            f'(add "{ds.name}": null there to pin its first download)'
        )
    if not first_use:
        raise ChecksumError(
            f"no digest is pinned for {ds.name} in {pins.PINS_FILE}, so {path} cannot be "
            "checked (the pin was removed, or the file was put there by hand)"
        )
    log.warning(
        "%s: no published digest; pinning this first download (sha256 %s, %d bytes) in %s: "
        "review and commit that file",
        ds.name,
        digest,
        size,
        pins.PINS_FILE,
    )
    pins.record(ds.name, digest, size)
    return digest


def expected_size(ds: Dataset) -> int:
    """The most bytes a download of ``ds`` may bring: its declared or pinned size, else
    :data:`MAX_UNDECLARED_BYTES`."""
    if ds.size is not None:
        return ds.size
    pin = pins.get(ds.name) if not ds.sha256 else None
    return pin["size"] if pin else MAX_UNDECLARED_BYTES


def fetch_file(
    ds: Dataset, timeout: float = 60.0, force: bool = False, deadline_s: float | None = None
) -> tuple[Path, str]:
    """The verified local file of ``ds`` and its sha256 (archives are large: hash once),
    downloading it if needed (``force``: download again even when a copy is cached) within
    ``deadline_s`` seconds in all (default :data:`DEADLINE_S`)."""
    path = ds.local_path()
    if path.is_file() and not force:
        # a damaged cache is an error to look at, not to hide
        try:
            return path, verify_file(ds, path)
        except ChecksumError as exc:
            raise ChecksumError(
                f"cached {path} is damaged or unverifiable: {exc}. Fetch it again with: "
                f"uv run zoomcamp datasets fetch --force {ds.name}"
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_path(path) as tmp:
        deadline = transfer.DEADLINE_S if deadline_s is None else deadline_s
        transfer.retrieve(ds, tmp, timeout, expected_size(ds), deadline)
        digest = verify_file(ds, tmp, first_use=True)
    log.info("%s: saved %s", ds.name, path)
    return path, digest


def _read_marker(marker: Path) -> dict[str, Any] | None:
    """The manifest written at unpack time, or None when there is no usable one (the tree
    is then unpacked again from the verified archive)."""
    try:
        recorded = json.loads(fileio.read_regular(marker, MAX_MARKER_BYTES))
    except (OSError, ValueError):
        return None
    files = recorded.get("files") if isinstance(recorded, dict) else None
    ok = isinstance(files, dict) and all(
        isinstance(v, dict)
        and isinstance(v.get("size"), int)
        and isinstance(v.get("mtime_ns"), int)
        for v in files.values()
    )
    return recorded if ok else None


def unpack_archive(ds: Dataset, force: bool = False, deep: bool = False) -> Path:
    """Fetch archive ``ds``, unpack it once under ``data/<name>/`` and verify its layout.

    Later calls check the unpacked tree against the manifest written at unpack time (file
    set, sizes, mtimes; ``deep``: every file's sha256 against the archive's own members)
    and raise :class:`~zoomcamp.archives.TreeChangedError` when it changed. The tree is
    rebuilt when the archive's digest changes or the manifest is missing."""
    if not ds.is_archive:
        raise ZoomcampError(f"{ds.name} is not an archive")
    archive, digest = fetch_file(ds, force=force)
    target = paths.data_dir() / ds.name
    locks = target.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    # two processes unpacking at once (two notebooks, test workers) would delete each
    # other's tree: the second waits, then finds the first one's tree and checks it
    with FileLock(locks / f"{ds.name}.unpack.lock"):
        return _unpack(ds, archive, digest, target, force, deep)


def _unpack(ds: Dataset, archive: Path, digest: str, target: Path, force: bool, deep: bool) -> Path:
    recorded = _read_marker(target / MARKER)
    if recorded is not None and recorded.get("archive_sha256") == digest and not force:
        files = recorded["files"]
        try:
            if {k: v["size"] for k, v in files.items()} != archives.listing(archive):
                raise archives.TreeChangedError(f"{target / MARKER} does not match {archive}")
            expected = archives.member_digests(archive) if deep else files
            archives.check_tree(target, expected, deep=deep, skip=MARKER)
        except archives.TreeChangedError as exc:
            raise archives.TreeChangedError(
                f"{exc}. Unpack it again with: uv run zoomcamp datasets fetch --force {ds.name}"
            ) from None
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{ds.name}.", dir=target.parent))
    try:
        archives.safe_extract(archive, tmp)
        counts = archives.verify_layout(tmp, ds.layout)
        files = archives.manifest(tmp)
        fileio.write_json(
            tmp / MARKER, {"archive_sha256": digest, "counts": counts, "files": files}
        )
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def cache_status(ds: Dataset) -> str:
    """Human-readable state of the cached copy: missing, ok, or what is wrong."""
    path = ds.local_path()
    if not path.is_file():
        return "missing"
    try:
        verify_file(ds, path)
    except ChecksumError as exc:
        return f"BAD: {exc}"
    return "ok"
