"""Bring one file from its public address, or from the mirror folder named by
``ZOOMCAMP_DATA_MIRROR``, into a temporary file: at most the bytes it should have, within
an overall deadline, retrying what is transient. Checking what arrived is
:mod:`zoomcamp.downloads`' job.
"""

from __future__ import annotations

import http.client
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm  # plain bars: notebooks here have no ipywidgets

from zoomcamp import fileio, settings
from zoomcamp.errors import ZoomcampError

if TYPE_CHECKING:
    from zoomcamp.datasets import Dataset

log = logging.getLogger("zoomcamp.datasets")  # the name these messages have always had
MIRROR_ENV = settings.DATA_MIRROR.name
MAX_UNDECLARED_BYTES = 512 << 20  # a file of unknown size; the largest course file is 107 MB
DEADLINE_S = 900.0  # one fetch, retries included: 107 MB at 120 kB/s


class ChecksumError(ZoomcampError):
    pass


class DatasetUnavailable(ZoomcampError):
    pass


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def error(self, ds: Dataset, how_far: str) -> DatasetUnavailable:
        return DatasetUnavailable(
            f"{ds.name}: {ds.url} did not arrive within {self.seconds:g} s ({how_far}); "
            f"try again later, or: {_offline_hint(ds)}"
        )


def _copy_with_progress(
    read: Callable[[int], bytes],
    total: int | None,
    out,
    ds: Dataset,
    limit: int,
    deadline: _Deadline,
) -> None:
    done = 0
    with tqdm(total=total, unit="B", unit_scale=True, desc=ds.filename, leave=False) as bar:
        while block := read(1 << 20):
            done += len(block)
            if done > limit:
                raise ChecksumError(
                    f"{ds.filename}: the source sent more than the {limit} bytes expected; "
                    f"stopped there ({ds.url})"
                )
            out.write(block)
            bar.update(len(block))
            if deadline.left() < 0:
                raise deadline.error(ds, f"{done} bytes received")
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


def _content_length(ds: Dataset, value: str | None, limit: int) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise DatasetUnavailable(
            f"{ds.name}: {ds.url} answered with an unparsable Content-Length {value[:40]!r}"
        )
    if int(value) > limit:
        raise ChecksumError(
            f"{ds.filename}: {ds.url} announces {int(value)} bytes, more than the {limit} "
            "expected; not downloaded"
        )
    return int(value)


def _download(ds: Dataset, dest: Path, timeout: float, limit: int, deadline: _Deadline) -> None:
    wait = min(timeout, max(deadline.left(), 0.1))  # for each socket operation
    with urllib.request.urlopen(ds.url, timeout=wait) as resp, open(dest, "wb") as out:
        total = _content_length(ds, resp.headers.get("Content-Length"), limit)
        # read1: what has arrived, so a trickle still reaches the deadline check
        _copy_with_progress(resp.read1, total, out, ds, limit, deadline)


def _copy_mirror(ds: Dataset, source: Path, dest: Path, limit: int, deadline: _Deadline) -> None:
    try:
        src = fileio.open_regular(source)
    except fileio.UnsafeFileError as exc:
        raise DatasetUnavailable(f"{ds.name}: {MIRROR_ENV}: {exc}") from None
    with src, open(dest, "wb") as out:
        size = os.fstat(src.fileno()).st_size
        if size > limit:
            raise ChecksumError(f"{source}: {size} bytes, more than the {limit} expected")
        _copy_with_progress(src.read, size, out, ds, limit, deadline)


def retrieve(ds: Dataset, dest: Path, timeout: float, limit: int, deadline_s: float) -> None:
    """Write the file of ``ds`` to ``dest``: at most ``limit`` bytes, within ``deadline_s``."""
    deadline = _Deadline(deadline_s)
    mirror = settings.DATA_MIRROR.value()
    if mirror is not None:
        source = mirror / ds.mirror_relpath
        if not source.exists():
            raise DatasetUnavailable(
                f"{ds.name}: {MIRROR_ENV}={mirror} is set but {source} does not exist"
            )
        _copy_mirror(ds, source, dest, limit, deadline)
        return
    for attempt, delay in enumerate((*RETRY_DELAYS, None), start=1):
        try:
            _download(ds, dest, timeout, limit, deadline)
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
        if delay > deadline.left():
            raise deadline.error(ds, f"{attempt} attempts, the last: {why}")
        log.warning("%s: attempt %d failed (%s); retrying in %.0f s", ds.name, attempt, why, delay)
        time.sleep(delay)
