"""The dataset registry: every file the course uses, with its address and digests.

``fetch(name)`` returns the local path of a registered file, verified; ``unpack(name)``
unpacks an archive and checks it by layout, image counts and a manifest of its files; ``status(name)`` says what the
cache holds. How a file is downloaded, mirrored, verified and unpacked is
:mod:`zoomcamp.downloads`; its errors are re-exported here, next to the functions that
raise them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from zoomcamp import downloads, paths
from zoomcamp.downloads import MIRROR_ENV, ChecksumError, DatasetUnavailable  # noqa: F401
from zoomcamp.errors import ZoomcampError

_RAW = "https://raw.githubusercontent.com"
_GH = "https://github.com"
_HW05 = f"{_GH}/DataTalksClub/machine-learning-zoomcamp/raw/refs/heads/main/cohorts/2025/05-deployment/homework"


@dataclass(frozen=True)
class Dataset:
    name: str
    url: str
    sha256: tuple[str, ...]  # known good digests; archives built on the fly may have others
    size: int | None
    description: str
    # Archives: folder (relative to the unpacked root) -> (min, max) image count.
    layout: dict[str, tuple[int, int]] = field(default_factory=dict)
    # False only for archives a host builds on the fly (other bytes each download): those
    # are accepted with an unknown digest, loudly, and checked by layout and counts alone.
    bytes_stable: bool = True
    # Archives whose published digest is unknown: a committed list of member digests
    # (src/zoomcamp/manifests/) against which another archive's every member is checked.
    members_manifest: str | None = None

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
            # A release asset (stable bytes). The published archive's digest is unknown
            # here; this is the mirror's rebuild, and the published one is accepted by its
            # members (the rebuild's 1,000 images are byte-identical to the published ones).
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
            members_manifest="hair-type.json",
        ),
        Dataset(
            "clothing-small",
            f"{_GH}/alexeygrigorev/clothing-dataset-small/archive/refs/heads/master.zip",
            ("ab71ba26adc3faac019baa2cacb230e44cc2d737a213fcf69ac0fd95a1230920",),
            None,
            "clothing-dataset-small, 10 classes, CC0 (lesson 08)",
            # The repository's own counts: the archive is rebuilt by the host on every
            # download, so another digest is accepted (with a warning) by what it holds.
            layout={
                f"clothing-dataset-small-master/{k}": (v, v) for k, v in _CLOTHING_COUNTS.items()
            },
            bytes_stable=False,
        ),
    ]
}

# Files the course provides whose digests it does not publish and the mirror does not hold:
# kept out of REGISTRY (``datasets fetch --all`` and the mirror checks cover what can be
# verified by digest), fetched by name like any dataset, and trusted on first use: the
# digest seen on the first download is pinned in src/zoomcamp/pins.json (committed, out of
# the data cache) and checked from then on (:mod:`zoomcamp.pins`); what else can be checked (the graph's I/O,
# the image decodes) is checked by the code that uses them (``zoomcamp.hair.course``).
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


def fetch(name: str, timeout: float = 60.0, force: bool = False) -> Path:
    """Return the verified local file of dataset ``name``, downloading it if needed
    (``force``: download again even when a copy is cached)."""
    return downloads.fetch_file(get(name), timeout, force)[0]


def unpack(name: str, force: bool = False, deep: bool = False) -> Path:
    """Fetch archive ``name``, unpack it once under ``data/<name>/`` and verify its layout.

    Later calls check the tree against the manifest written at unpack time (``deep``: every
    file's sha256 against the archive). It is rebuilt when the archive's digest changes.
    """
    return downloads.unpack_archive(get(name), force, deep)


def status(name: str) -> str:
    """Human-readable state of the cached copy: missing, ok, or what is wrong."""
    return downloads.cache_status(get(name))
