"""Download, verify and unpack one registered file (the registry is :mod:`zoomcamp.datasets`).

A file comes from the cache when its checksum still matches, otherwise from the public
address (or a copy from a mirror folder named by ``ZOOMCAMP_DATA_MIRROR``, laid out as
``HOST/PATH``), written to a temporary file and renamed into place only after it verifies.
Archives are unpacked once and checked by layout and image counts. Everything here takes a
:class:`~zoomcamp.datasets.Dataset`, never a name, so this module does not import the
registry (which imports it for ``fetch(name)`` and friends).
"""

from __future__ import annotations

import http.client
import json
import logging
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm  # plain bars: notebooks here have no ipywidgets

from zoomcamp import archives, fileio, paths, settings
from zoomcamp.errors import ZoomcampError

if TYPE_CHECKING:
    from zoomcamp.datasets import Dataset

log = logging.getLogger("zoomcamp.datasets")  # the name these messages have always had
MIRROR_ENV = settings.DATA_MIRROR.name


class ChecksumError(ZoomcampError):
    pass


class DatasetUnavailable(ZoomcampError):
    pass


def verify_file(ds: Dataset, path: Path) -> str:
    """Check size and digest of a plain file; return the digest. Archives skip the digest
    check (they are verified by layout) but the digest is still returned."""
    actual_size = path.stat().st_size
    digest = fileio.sha256_file(path)
    if ds.is_archive:
        if digest not in ds.sha256:
            log.warning(
                "%s: archive digest %s is not a known one; verifying by layout", ds.name, digest
            )
        return digest
    if not ds.sha256:
        return _trust_on_first_use(ds, digest)
    if ds.size is not None and actual_size != ds.size:
        raise ChecksumError(
            f"{ds.filename}: size {actual_size} bytes, expected {ds.size} bytes "
            f"(sha256 expected {ds.sha256[0]}, actual {digest})"
        )
    if digest not in ds.sha256:
        raise ChecksumError(
            f"{ds.filename}: sha256 mismatch: expected {ds.sha256[0]}, actual {digest}"
        )
    return digest


def first_seen_path(ds: Dataset) -> Path:
    """Where the digest of the first download of a file without a published digest lives."""
    return ds.local_path().with_name(ds.filename + ".first-seen.sha256")


def _trust_on_first_use(ds: Dataset, digest: str) -> str:
    pin = first_seen_path(ds)
    if pin.is_file():
        seen = pin.read_text(encoding="utf-8").strip()
        if digest != seen:
            raise ChecksumError(
                f"{ds.filename}: sha256 {digest} differs from the one seen on its first "
                f"download ({seen}, recorded in {pin}): the file changed upstream or is damaged"
            )
        return digest
    log.warning("%s: no published digest; recording the first one seen, %s", ds.name, digest)
    pin.parent.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_open(pin) as fh:
        fh.write(digest + "\n")
    return digest


def _copy_with_progress(read: Callable[[int], bytes], total: int | None, out, desc: str) -> None:
    done = 0
    with tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False) as bar:
        while block := read(1 << 20):
            out.write(block)
            done += len(block)
            bar.update(len(block))
    if total is not None and done != total:
        # A dropped connection can look like a clean end of stream.
        raise ConnectionError(f"connection closed after {done} of {total} bytes")


# Statuses worth asking again: the server is busy or briefly broken, not the URL wrong.
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
RETRY_DELAYS = (1.0, 3.0, 9.0)  # seconds before the 2nd, 3rd and 4th attempt


def _status_meaning(code: int) -> str:
    if code in (404, 410):
        return "the file was moved or removed upstream"
    if code in (401, 403):
        return "the server refuses access to it"
    if code in TRANSIENT_STATUS:
        return "the server is busy or failing; try again later"
    return "the server answered with an error"


def _offline_hint(ds: Dataset) -> str:
    return (
        f"Point {MIRROR_ENV} at a folder laid out as HOST/PATH that holds "
        f"{ds.mirror_relpath}, or put the file at {ds.local_path()}."
    )


def _download(ds: Dataset, dest: Path, timeout: float) -> None:
    with urllib.request.urlopen(ds.url, timeout=timeout) as resp, open(dest, "wb") as out:
        total = resp.headers.get("Content-Length")
        _copy_with_progress(resp.read, int(total) if total else None, out, ds.filename)


def _retrieve(ds: Dataset, dest: Path, timeout: float) -> None:
    mirror = settings.DATA_MIRROR.value()
    if mirror is not None:
        source = mirror / ds.mirror_relpath
        if not source.is_file():
            raise DatasetUnavailable(
                f"{ds.name}: {MIRROR_ENV}={mirror} is set but {source} does not exist"
            )
        with open(source, "rb") as src, open(dest, "wb") as out:
            _copy_with_progress(src.read, source.stat().st_size, out, ds.filename)
        return
    for attempt, delay in enumerate((*RETRY_DELAYS, None), start=1):
        try:
            _download(ds, dest, timeout)
            return
        except urllib.error.HTTPError as exc:
            if exc.code not in TRANSIENT_STATUS or delay is None:
                raise DatasetUnavailable(
                    f"{ds.name}: HTTP {exc.code} {exc.reason} for {ds.url}: "
                    f"{_status_meaning(exc.code)}. {_offline_hint(ds)}"
                ) from None
            why = f"HTTP {exc.code}"
        except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            why = str(getattr(exc, "reason", exc))
            if delay is None:
                raise DatasetUnavailable(
                    f"{ds.name}: cannot download {ds.url} ({why}) after {attempt} attempts. "
                    f"Check the internet connection, or: {_offline_hint(ds)}"
                ) from None
        log.warning("%s: attempt %d failed (%s); retrying in %.0f s", ds.name, attempt, why, delay)
        time.sleep(delay)


def fetch_file(ds: Dataset, timeout: float = 60.0, force: bool = False) -> tuple[Path, str]:
    """The verified local file of ``ds`` and its sha256 (archives are large: hash once),
    downloading it if needed (``force``: download again even when a copy is cached)."""
    path = ds.local_path()
    if path.is_file() and not force:
        # a damaged cache is an error to look at, not to hide
        try:
            return path, verify_file(ds, path)
        except ChecksumError as exc:
            raise ChecksumError(
                f"cached {path} is damaged: {exc}. Fetch it again with: "
                f"uv run zoomcamp datasets fetch --force {ds.name}"
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_path(path) as tmp:
        _retrieve(ds, tmp, timeout)
        digest = verify_file(ds, tmp)
    log.info("%s: saved %s", ds.name, path)
    return path, digest


def unpack_archive(ds: Dataset, force: bool = False) -> Path:
    """Fetch archive ``ds``, unpack it once under ``data/<name>/`` and verify its layout.

    The unpacked folder is rebuilt when the archive's digest changes.
    """
    if not ds.is_archive:
        raise ZoomcampError(f"{ds.name} is not an archive")
    archive, digest = fetch_file(ds, force=force)
    target = paths.data_dir() / ds.name
    marker = target / ".unpacked.json"
    if marker.is_file() and json.loads(marker.read_text()).get("archive_sha256") == digest:
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{ds.name}.", dir=target.parent))
    try:
        archives.safe_extract(archive, tmp)
        counts = archives.verify_layout(tmp, ds.layout)
        fileio.write_json(tmp / ".unpacked.json", {"archive_sha256": digest, "counts": counts})
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
