"""The hair model's files: the metadata checked, the ONNX Runtime session, the answer.

Library file of ``lambda_function.py`` (copied next to it into the image). The model folder
holds ``hair_classifier.onnx`` and its ``metadata.json`` (schema ``zoomcamp-model/1``, written
by 08's exports): the sha256 of every file is checked before ONNX Runtime opens one, and the
graph's names and shape must be the ones the metadata states. A plain ONNX model (the
course's, in a folder without ``metadata.json``) is served when ``PREPROCESSING`` gives what
the metadata would (README, "A plain ONNX model"). ``HairClassifier`` is the same set-up as
an object, for the notebook, the homework and the tests.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from preprocess import Preprocessing

SCHEMA = "zoomcamp-model/1"  # zoomcamp.artifacts' schema; this file reads it on its own
METADATA_FILE = "metadata.json"
CONFIG_ENV = "PREPROCESSING"  # JSON: the metadata's record, for a model folder without one
CONFIG_SCHEMA = f"env:{CONFIG_ENV}"
CONFIG_KEYS = ("size", "resample", "scale", "mean", "std", "mode", "layout")
CONFIG_ANSWER_KEYS = ("output", "classes", "positive_class")


def default_model_path() -> Path:
    """``MODEL_PATH``, else ``hair_classifier.onnx`` in ``LAMBDA_TASK_ROOT``, else ``model/``."""
    if os.environ.get("MODEL_PATH"):
        return Path(os.environ["MODEL_PATH"])
    here = Path(os.environ.get("LAMBDA_TASK_ROOT") or Path(__file__).resolve().parent)
    candidate = here / "hair_classifier.onnx"
    return candidate if candidate.is_file() else here / "model" / "hair_classifier.onnx"


MAX_METADATA_BYTES = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_metadata(folder: str | os.PathLike) -> dict[str, Any]:
    """``folder/metadata.json`` once its schema and the sha256 of every file it lists are
    checked: a swapped or truncated model is refused before ONNX Runtime opens it."""
    folder = Path(folder)
    path = folder / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {path} (copy the model with 09-serverless/build.py)")
    with open(path, "rb") as fh:
        data = fh.read(MAX_METADATA_BYTES + 1)  # a metadata file is a few KB
    if len(data) > MAX_METADATA_BYTES:
        raise ValueError(f"{path} is larger than {MAX_METADATA_BYTES} bytes: not model metadata")
    try:
        meta = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a {SCHEMA} metadata file")
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        raise ValueError(f"{path}: 'files' must map each model file to its sha256")
    for name, expected in files.items():
        if not isinstance(name, str) or Path(name).name != name:
            raise ValueError(f"{path} names {name!r}, not a plain file name")
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing (listed in {METADATA_FILE})")
        if _sha256(folder / name) != expected:
            raise ValueError(f"{folder / name} does not match the sha256 in {METADATA_FILE}")
    return meta


def configured_metadata(text: str) -> dict[str, Any]:
    """The metadata a plain model lacks, from ``PREPROCESSING``'s JSON: every key is needed
    (a half-given configuration would silently differ from the training's preprocessing)."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{CONFIG_ENV} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{CONFIG_ENV} must be a JSON object")
    missing = [k for k in (*CONFIG_KEYS, *CONFIG_ANSWER_KEYS) if k not in config]
    unknown = sorted(set(config) - {*CONFIG_KEYS, *CONFIG_ANSWER_KEYS, "first_frame"})
    if missing or unknown:
        raise ValueError(f"{CONFIG_ENV}: missing {missing}, unknown {unknown}")
    pre = {k: v for k, v in config.items() if k not in CONFIG_ANSWER_KEYS}
    answer_keys = {k: config[k] for k in CONFIG_ANSWER_KEYS}
    return {"schema": CONFIG_SCHEMA, **answer_keys, "preprocessing": pre}


def model_metadata(path: Path) -> dict[str, Any]:
    """``metadata.json`` beside the model, checked; else the ``PREPROCESSING`` configuration.
    Both at once is refused: which one the function follows must not be a guess."""
    config = os.environ.get(CONFIG_ENV)
    if (path.parent / METADATA_FILE).is_file():
        if config:
            raise ValueError(f"{path.parent} has {METADATA_FILE}: unset {CONFIG_ENV}")
        meta = read_metadata(path.parent)
        if path.name not in meta["files"]:
            raise ValueError(f"{path.name} is not listed in {path.parent / METADATA_FILE}")
        return meta
    if not config:
        raise FileNotFoundError(
            f"no {path.parent / METADATA_FILE} and no {CONFIG_ENV} configuration "
            "(copy the model with 09-serverless/build.py, or see README, 'A plain ONNX model')"
        )
    return configured_metadata(config)


def load_session(path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """(ONNX Runtime session, checked metadata) for the model file ``path``."""
    import onnxruntime as ort  # here, so the preprocessing works without it

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ONNX model at {path} (see 09-serverless/README.md)")
    meta = model_metadata(path)
    width, height = Preprocessing(meta).size
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # one thread by default: Lambda gives < 1 vCPU below 1769 MB, and extra spinning threads
    # made a call 2-3x slower on a shared CPU (README); ORT_THREADS=0: ORT's own choice
    threads = int(os.environ.get("ORT_THREADS", "1") or 1)
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    if meta["schema"] == CONFIG_SCHEMA:  # a plain model: the names are the graph's own
        if len(session.get_inputs()) != 1 or list(out.shape[1:]) != [1]:
            raise ValueError(f"{path}: expected one input and an output [N, 1], got {out.shape}")
        meta = {**meta, "input_name": inp.name, "output_name": out.name}
    for key, actual in (("input_name", inp.name), ("output_name", out.name)):
        if meta.get(key) != actual:
            raise ValueError(f"{path}: metadata {key} {meta.get(key)!r} != {actual!r}")
    if list(inp.shape[1:]) != [3, height, width]:
        raise ValueError(f"{path}: input shape {inp.shape}, expected [N, 3, {height}, {width}]")
    if meta.get("output") != "logit":
        raise ValueError(f"{path}: output {meta.get('output')!r}, expected 'logit'")
    classes = tuple(meta.get("classes", ()))
    if len(classes) != 2 or meta.get("positive_class") not in classes:
        raise ValueError(f"{path}: classes {classes}, positive {meta.get('positive_class')!r}")
    return session, meta


def sigmoid(z: float) -> float:
    """P(positive class) from a logit, without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def answer(logit: float, meta: dict[str, Any]) -> dict[str, Any]:
    """The function's answer to one logit: plain floats, as JSON needs."""
    positive = meta["positive_class"]
    negative = next(c for c in meta["classes"] if c != positive)
    p = sigmoid(logit)
    return {
        "prediction": p,
        "logit": logit,
        "label": positive if p >= 0.5 else negative,
        "probabilities": {negative: 1.0 - p, positive: p},
    }


class HairClassifier:
    """What ``lambda_function.py`` sets up at import, as an object over one model file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.session, self.meta = load_session(path)
        self.preprocess = Preprocessing(self.meta)
        self.input_name, self.output_name = self.meta["input_name"], self.meta["output_name"]

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Raw logits, shape (N,), for a preprocessed float32 (N, 3, H, W) batch."""
        return self.session.run([self.output_name], {self.input_name: x})[0].reshape(-1)

    def predict(self, img: Image.Image) -> dict[str, Any]:
        return answer(float(self.logits(self.preprocess(img))[0]), self.meta)
