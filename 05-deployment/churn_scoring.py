"""The served churn model: its request schema, a checked loader and the scorer (no web
framework here). One source shared by the FastAPI service (``predict.py``) and the Lambda
function (``lambda/``, whose build step copies this file into its build context).

The model is ``model.json``: the logistic regression that ``03-classification/train.py``
fits, exported as plain data by ``zoomcamp.churn.model.portable`` (intercept, per-field weights,
DictVectorizer's vocabulary, the allowed values, the threshold) next to the pickled
pipeline ``model.bin`` under ``models/churn/``; the build steps copy the folder into the
images. Reading JSON executes nothing, so the images carry neither scikit-learn nor
pickle. ``metadata.json`` is the project's one model schema (``zoomcamp-model/1``, written
by ``zoomcamp.artifacts``); the images import nothing from the ``zoomcamp`` package, so
``load_model`` carries a small reader of it: schema, required keys, and the sha256 of the
file it loads, before parsing it (tests/code/test_deployment_artifacts.py checks it against
``zoomcamp.artifacts.verify``). The folder comes from ``$MODEL_DIR``, else ``model/`` next
to this file.

``FastScorer`` computes what ``pipeline.predict_proba`` does, a logistic regression on
DictVectorizer's one-hot columns:

    z = intercept + sum over fields of  w[field][value]   (string field: its one column)
                                     or w[field] * value  (numeric field)
    p = 1 / (1 + exp(-z))

A string value the vectorizer never saw adds nothing, as in DictVectorizer. The tests
prove it equal to the pipeline to 1e-9 on every real customer and on random valid ones.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = HERE / "model"
SCHEMA = "zoomcamp-model/1"  # zoomcamp.artifacts.SCHEMA
FORMAT = "zoomcamp-logreg/1"  # zoomcamp.churn.model.PORTABLE_FORMAT
METADATA_FILE = "metadata.json"
MODEL_FILE = "model.json"  # zoomcamp.churn.model.PORTABLE_FILE
REQUIRED = ("schema", "name", "created", "files", "versions", "data", "metrics")
THRESHOLD = 0.5
BUILD = "uv run zoomcamp reproduce 03 && uv run python 05-deployment/build_model.py"


class ModelError(RuntimeError):
    """The model cannot be served (missing, tampered, another schema or format)."""


# --------------------------------------------------------------------------- request schema


def _whole_number(value: Any) -> Any:
    """JSON has one number type and JSON Schema counts 12.0 as an integer: accept integral
    floats for the integer fields, reject fractions, booleans and strings."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a whole number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("Input should be a finite number, not NaN or Infinity")
        if not value.is_integer():
            raise ValueError("Input should be a whole number, not a fraction")
        return int(value)
    return value


WHOLE = BeforeValidator(
    _whole_number
)  # after Field(...) in Annotated, or the JSON schema loses the bounds
YesNo = Literal["no", "yes"]
NoPhone = Literal["no", "no_phone_service", "yes"]
NoInternet = Literal["no", "no_internet_service", "yes"]


class Customer(BaseModel):
    """One Telco customer, in the dataset's normalised values (lowercase, ``_``)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra={
        "examples": [{
            "gender": "female", "seniorcitizen": 0, "partner": "yes", "dependents": "no",
            "phoneservice": "no", "multiplelines": "no_phone_service", "internetservice": "dsl",
            "onlinesecurity": "no", "onlinebackup": "yes", "deviceprotection": "no",
            "techsupport": "no", "streamingtv": "no", "streamingmovies": "no",
            "contract": "month-to-month", "paperlessbilling": "yes",
            "paymentmethod": "electronic_check", "tenure": 1, "monthlycharges": 29.85,
            "totalcharges": 29.85}]})  # fmt: skip

    gender: Literal["female", "male"]
    seniorcitizen: Annotated[
        int, Field(ge=0, le=1, description="0 or 1 (the dataset's integer)"), WHOLE
    ]
    partner: YesNo
    dependents: YesNo
    phoneservice: YesNo
    multiplelines: NoPhone
    internetservice: Literal["dsl", "fiber_optic", "no"]
    onlinesecurity: NoInternet
    onlinebackup: NoInternet
    deviceprotection: NoInternet
    techsupport: NoInternet
    streamingtv: NoInternet
    streamingmovies: NoInternet
    contract: Literal["month-to-month", "one_year", "two_year"]
    paperlessbilling: YesNo
    paymentmethod: Literal[
        "bank_transfer_(automatic)", "credit_card_(automatic)", "electronic_check", "mailed_check"
    ]
    tenure: Annotated[int, Field(ge=0, le=1200, description="months with the company"), WHOLE]
    monthlycharges: Annotated[float, Field(ge=0, le=10_000)]
    totalcharges: Annotated[float, Field(ge=0, le=10_000_000)]


def schema_features() -> dict[str, Any]:
    """The categorical values and numeric fields that ``Customer`` lets through, in the
    form ``FastScorer.features()`` reports for a model (``seniorcitizen`` is numeric)."""
    categorical, numerical = {}, []
    for name, field in Customer.model_fields.items():
        values = getattr(field.annotation, "__args__", ())
        if values and all(isinstance(v, str) for v in values):
            categorical[name] = sorted(values)
        else:
            numerical.append(name)
    return {"categorical": categorical, "numerical": sorted(numerical)}


# --------------------------------------------------------------------------- the model


def model_path() -> Path:
    """The model folder: ``$MODEL_DIR``, else ``model/`` next to this file."""
    return Path(os.environ.get("MODEL_DIR") or DEFAULT_MODEL_DIR)


MAX_METADATA_BYTES = 1 << 20
MAX_MODEL_BYTES = 16 << 20  # model.json is ~4 KB; nothing a start-up should read is larger
MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError)


def read_regular(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file: a link to a device, a FIFO or a folder is
    refused on the opened descriptor (O_NONBLOCK: a FIFO cannot stall the start-up)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc} ({BUILD})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ModelError(f"{path} is not a regular file ({BUILD})")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ModelError(f"{path} is larger than {limit} bytes: not a model of this service")
    return data


def read_metadata(folder: Path) -> dict[str, Any]:
    """``folder/metadata.json``, checked for the schema, its required keys and ``model.json``."""
    path = folder / METADATA_FILE
    if not folder.is_dir():
        kind = "a file, not a folder" if folder.exists() else "missing"
        raise ModelError(f"no model at {folder} ({kind}; set MODEL_DIR, or build it: {BUILD})")
    if not path.is_file():
        raise ModelError(f"no {METADATA_FILE} in {folder}: the model is incomplete ({BUILD})")
    try:
        meta = json.loads(read_regular(path, MAX_METADATA_BYTES))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from None
    found = meta.get("schema") if isinstance(meta, dict) else type(meta).__name__
    if found != SCHEMA:
        raise ModelError(f"{path}: schema {found!r}, expected {SCHEMA!r} ({BUILD})")
    missing = [key for key in REQUIRED if key not in meta]
    if missing:
        raise ModelError(f"{path} lacks {', '.join(missing)} ({BUILD})")
    if not isinstance(meta["files"], dict) or MODEL_FILE not in meta["files"]:
        raise ModelError(f"{path}: 'files' does not name {MODEL_FILE} (train it again: {BUILD})")
    return meta


def load_model(path: Path | str | None = None) -> tuple[FastScorer, dict[str, Any]]:
    """The scorer and the metadata of a model folder (default :func:`model_path`).

    Raises ``ModelError`` saying what to do when the folder or its metadata is missing,
    the schema is another, ``model.json``'s sha256 differs from ``files`` or its content is
    not a model of this format. Only ``model.json`` is read (the image has no ``model.bin``);
    the bytes parsed are the bytes whose digest was checked."""
    folder = Path(path) if path is not None else model_path()
    meta = read_metadata(folder)
    file = folder / MODEL_FILE
    data = read_regular(file, MAX_MODEL_BYTES)
    digest, expected = hashlib.sha256(data).hexdigest(), meta["files"][MODEL_FILE]
    if digest != expected:
        raise ModelError(
            f"{file} does not match its metadata: sha256 {digest} != {expected} "
            "(restore the file or build the model again)"
        )
    try:
        model = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{file} is not valid JSON: {exc}") from None
    try:
        return FastScorer(model), meta
    except MALFORMED as exc:  # consistent digests, malformed content: the one-line reason
        raise ModelError(f"{file} is malformed ({exc!r}; {BUILD})") from None


def _weight(value: Any, where: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise ModelError(f"{MODEL_FILE}: {where} must be a finite number, got {value!r}")
    return float(value)


class FastScorer:
    """``pipeline.predict_proba(customers)[:, 1]`` from ``model.json``'s weight tables."""

    def __init__(self, model: Any):
        if not isinstance(model, dict) or model.get("format") != FORMAT:
            found = model.get("format") if isinstance(model, dict) else type(model).__name__
            raise ModelError(f"{MODEL_FILE}: format {found!r}, expected {FORMAT!r} ({BUILD})")
        try:
            weights, vocabulary, sep = model["weights"], model["vocabulary"], model["separator"]
            self.intercept = _weight(model["intercept"], "intercept")
            self.threshold = _weight(model["threshold"], "threshold")
            self.tables: dict[str, dict[str, float]] = {  # string field -> value -> weight
                str(f): {str(v): _weight(w, f"{f}={v}") for v, w in t.items()}
                for f, t in weights["categorical"].items()
            }
            self.numeric = {str(f): _weight(w, f) for f, w in weights["numerical"].items()}
            self.allowed = {str(f): list(v) for f, v in model["allowed"].items()}
            columns = {
                *(f"{f}{sep}{v}" for f, t in self.tables.items() for v in t),
                *self.numeric,
            }
        except (KeyError, TypeError, AttributeError) as exc:
            raise ModelError(
                f"{MODEL_FILE} is incomplete or malformed ({exc!r}; {BUILD})"
            ) from None
        if not isinstance(vocabulary, list) or sorted(vocabulary) != sorted(columns):
            raise ModelError(f"{MODEL_FILE}: the weights do not cover the vocabulary one to one")
        if set(self.tables) & set(self.numeric):
            raise ModelError(f"{MODEL_FILE}: fields both one-hot and numeric")

    def features(self) -> dict[str, Any]:
        """What the model uses: categorical fields with their values, numeric fields."""
        return {
            "categorical": {f: sorted(t) for f, t in self.tables.items()},
            "numerical": sorted(self.numeric),
        }

    def logit(self, customer: Mapping[str, Any]) -> float:
        z = self.intercept
        tables, numeric = self.tables, self.numeric
        for field, value in customer.items():
            table = tables.get(field)
            if table is not None:
                z += table.get(value, 0.0)
            else:
                weight = numeric.get(field)
                if weight is not None:
                    z += weight * value
        return z

    def proba(self, customer: Mapping[str, Any]) -> float:
        return sigmoid(self.logit(customer))

    def proba_many(self, customers: Iterable[Mapping[str, Any]]) -> list[float]:
        return [sigmoid(self.logit(c)) for c in customers]


def check_model(scorer: FastScorer, meta: dict[str, Any]) -> None:
    """Refuse a model whose fields, category values or threshold differ from what the API
    accepts and promises."""
    model, api = scorer.features(), schema_features()
    if model != api:
        raise ModelError(
            f"the model's features do not match the request schema: model {model}, "
            f"schema {api} (retrain with 03-classification/train.py or update the schema)"
        )
    try:
        categories = [*meta.get("categories", {}).items(), *scorer.allowed.items()]
        for field, values in categories:
            if field in api["categorical"] and sorted(values) != api["categorical"][field]:
                raise ModelError(
                    f"the model's categories of {field!r} {values} differ from the schema"
                )
    except MALFORMED as exc:
        raise ModelError(f"the model's categories are malformed ({exc!r}; {BUILD})") from None
    if scorer.threshold != THRESHOLD:
        raise ModelError(f"the model's threshold {scorer.threshold} is not the API's {THRESHOLD}")


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z) without overflow for any finite z."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
