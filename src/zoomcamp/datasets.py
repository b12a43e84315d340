"""The dataset registry and its downloader.

``fetch(name)`` returns the local path of a registered file: taken from the cache when
its checksum still matches, otherwise downloaded from the public address (or copied
from a mirror folder named by ``ZOOMCAMP_DATA_MIRROR``, laid out as ``HOST/PATH``),
written to a temporary file and renamed into place only after it verifies.
Archives are unpacked by ``unpack(name)`` and checked by layout and image counts.
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from tqdm import tqdm  # plain bars: notebooks here have no ipywidgets

from zoomcamp import archives, io, paths, settings
from zoomcamp.errors import ZoomcampError

log = logging.getLogger(__name__)
MIRROR_ENV = settings.DATA_MIRROR.name
_RAW = "https://raw.githubusercontent.com"
_GH = "https://github.com"
_HW05 = f"{_GH}/DataTalksClub/machine-learning-zoomcamp/raw/refs/heads/main/cohorts/2025/05-deployment/homework"


class ChecksumError(ZoomcampError):
    pass


class DatasetUnavailable(ZoomcampError):
    pass


@dataclass(frozen=True)
class Dataset:
    name: str
    url: str
    sha256: tuple[str, ...]  # known good digests; archives built on the fly may have others
    size: int | None
    description: str
    # Archives: folder (relative to the unpacked root) -> (min, max) image count.
    layout: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return Path(urlparse(self.url).path).name

    @property
    def is_archive(self) -> bool:
        return bool(self.layout)

    @property
    def mirror_relpath(self) -> Path:
        parsed = urlparse(self.url)
        return Path(parsed.netloc) / parsed.path.lstrip("/")

    def local_path(self) -> Path:
        return paths.data_dir() / "raw" / self.name / self.filename


def _counts(train: dict[str, int], spread: int) -> dict[str, tuple[int, int]]:
    return {k: (max(0, v - spread), v + spread) for k, v in train.items()}


_CLOTHING_COUNTS = {  # split/class -> images; train 3068, validation 341, test 372
    "train/dress": 241,
    "train/hat": 123,
    "train/longsleeve": 455,
    "train/outwear": 184,
    "train/pants": 468,
    "train/shirt": 290,
    "train/shoes": 198,
    "train/shorts": 202,
    "train/skirt": 112,
    "train/t-shirt": 795,
    "validation/dress": 32,
    "validation/hat": 14,
    "validation/longsleeve": 49,
    "validation/outwear": 24,
    "validation/pants": 49,
    "validation/shirt": 29,
    "validation/shoes": 26,
    "validation/shorts": 25,
    "validation/skirt": 12,
    "validation/t-shirt": 81,
    "test/dress": 15,
    "test/hat": 12,
    "test/longsleeve": 72,
    "test/outwear": 38,
    "test/pants": 42,
    "test/shirt": 26,
    "test/shoes": 73,
    "test/shorts": 30,
    "test/skirt": 12,
    "test/t-shirt": 52,
}

REGISTRY: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "car-fuel-efficiency",
            f"{_RAW}/alexeygrigorev/datasets/master/car_fuel_efficiency.csv",
            ("89fb42d0b81d82a3e6d89c0069c1c876cc97cc516e627846e600ba4438829d86",),
            874188,
            "Car fuel efficiency (homework 01, 02)",
        ),
        Dataset(
            "car-price",
            f"{_RAW}/alexeygrigorev/mlbookcamp-code/master/chapter-02-car-price/data.csv",
            ("26e39d3e902246d01a93ae390f51129a288079aefad2cb3292751a262ffd62d8",),
            1475504,
            "Kaggle car prices (lesson 02)",
        ),
        Dataset(
            "telco-churn",
            f"{_RAW}/alexeygrigorev/mlbookcamp-code/master/chapter-03-churn-prediction/WA_Fn-UseC_-Telco-Customer-Churn.csv",
            ("88be4b93fbe0cc83421af1c503794c97c342eca914c1576db7c276e61d61358a",),
            977501,
            "Telco customer churn (lessons 03, 04, 05)",
        ),
        Dataset(
            "lead-scoring",
            f"{_RAW}/alexeygrigorev/datasets/master/course_lead_scoring.csv",
            ("03bd91b6c43f784d4d31aa0c9c81744eb752c2f929e5bf74676f11433c95d756",),
            80876,
            "Course lead scoring (homework 03, 04)",
        ),
        Dataset(
            "pipeline-v1",
            f"{_HW05}/pipeline_v1.bin",
            ("c85a57297c7b23f1afee8fce787d1a1a64633484ffb98e62fc8fb35406b891aa",),
            1300,
            "Provided lead-scoring pipeline, scikit-learn 1.6.1 (homework 05)",
        ),
        Dataset(
            "pipeline-v2",
            f"{_HW05}/pipeline_v2.bin",
            ("eec81387796d575bf8df58c14c3991d1a732c8c8a923d9f624495cf901cbe604",),
            1296,
            "Provided lead-scoring pipeline of the course's base image (homework 05)",
        ),
        Dataset(
            "hair-type",
            f"{_GH}/SVizor42/ML_Zoomcamp/releases/download/straight-curly-data/data.zip",
            # The published archive's digest is unknown; this is the known rebuild.
            ("1d3af123cc46418d621dd02f38ec31da2c50c620b66eabb4f91921ec82912ff8",),
            None,
            "Hair type images, curly vs straight (homework 08, 09)",
            layout=_counts(
                {
                    "data/train/curly": 411,
                    "data/train/straight": 390,
                    "data/test/curly": 103,
                    "data/test/straight": 98,
                },
                spread=5,
            ),
        ),
        Dataset(
            "clothing-small",
            f"{_GH}/alexeygrigorev/clothing-dataset-small/archive/refs/heads/master.zip",
            ("ab71ba26adc3faac019baa2cacb230e44cc2d737a213fcf69ac0fd95a1230920",),
            None,
            "clothing-dataset-small, 10 classes, CC0 (lesson 08)",
            # The repository's own counts: the archive is rebuilt by the host on every
            # download, so it is pinned by what it holds rather than by its bytes.
            layout={
                f"clothing-dataset-small-master/{k}": (v, v) for k, v in _CLOTHING_COUNTS.items()
            },
        ),
    ]
}

# Files the course provides whose digests it does not publish and the mirror does not hold:
# kept out of REGISTRY (``datasets fetch --all`` and the mirror checks cover what can be
# verified by digest), fetched by name like any dataset, and trusted on first use: the
# digest seen on the first download is recorded next to the file and checked from then on
# (:func:`verify_file`); what else can be checked (the graph's I/O, the image decodes) is
# checked by the code that uses them (``zoomcamp.hair_course``).
_HAIRSTYLE = f"{_GH}/alexeygrigorev/large-datasets/releases/download/hairstyle"
COURSE_ASSETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "hair-classifier-v1",
            f"{_HAIRSTYLE}/hair_classifier_v1.onnx",
            (),
            None,
            "The course's HW08 model in ONNX, graph only (homework 09; weights in the .data file)",
        ),
        Dataset(
            "hair-classifier-v1-data",
            f"{_HAIRSTYLE}/hair_classifier_v1.onnx.data",
            (),
            None,
            "External weights of hair_classifier_v1.onnx (homework 09)",
        ),
        Dataset(
            "hair-test-image",
            "https://habrastorage.org/webt/yf/_d/ok/yf_dokzqy3vcritme8ggnzqlvwa.jpeg",
            (),
            None,
            "The course's test image for homework 09 Q3, Q4, Q6",
        ),
    ]
}


def get(name: str) -> Dataset:
    try:
        return REGISTRY[name] if name in REGISTRY else COURSE_ASSETS[name]
    except KeyError:
        raise ZoomcampError(
            f"unknown dataset {name!r}; registered: {', '.join(REGISTRY)}"
        ) from None


def verify_file(ds: Dataset, path: Path) -> str:
    """Check size and digest of a plain file; return the digest. Archives skip the digest
    check (they are verified by layout) but the digest is still returned."""
    actual_size = path.stat().st_size
    digest = io.sha256_file(path)
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
    with io.atomic_open(pin) as fh:
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


def fetch(name: str, timeout: float = 60.0, force: bool = False) -> Path:
    """Return the verified local file of dataset ``name``, downloading it if needed
    (``force``: download again even when a copy is cached)."""
    return _fetch(name, timeout, force)[0]


def _fetch(name: str, timeout: float = 60.0, force: bool = False) -> tuple[Path, str]:
    """``fetch`` that also returns the sha256 it verified (archives are large: hash once)."""
    ds = get(name)
    path = ds.local_path()
    if path.is_file() and not force:
        # a damaged cache is an error to look at, not to hide
        try:
            return path, verify_file(ds, path)
        except ChecksumError as exc:
            raise ChecksumError(
                f"cached {path} is damaged: {exc}. Fetch it again with: "
                f"uv run zoomcamp datasets fetch --force {name}"
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_path(path) as tmp:
        _retrieve(ds, tmp, timeout)
        digest = verify_file(ds, tmp)
    log.info("%s: saved %s", ds.name, path)
    return path, digest


def unpack(name: str, force: bool = False) -> Path:
    """Fetch archive ``name``, unpack it once under ``data/<name>/`` and verify its layout.

    The unpacked folder is rebuilt when the archive's digest changes.
    """
    ds = get(name)
    if not ds.is_archive:
        raise ZoomcampError(f"{name} is not an archive")
    archive, digest = _fetch(name, force=force)
    target = paths.data_dir() / name
    marker = target / ".unpacked.json"
    if marker.is_file() and json.loads(marker.read_text()).get("archive_sha256") == digest:
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        archives.safe_extract(archive, tmp)
        counts = archives.verify_layout(tmp, ds.layout)
        io.write_json(tmp / ".unpacked.json", {"archive_sha256": digest, "counts": counts})
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def status(name: str) -> str:
    """Human-readable state of the cached copy: missing, ok, or what is wrong."""
    ds = get(name)
    path = ds.local_path()
    if not path.is_file():
        return "missing"
    try:
        verify_file(ds, path)
    except ChecksumError as exc:
        return f"BAD: {exc}"
    return "ok"
