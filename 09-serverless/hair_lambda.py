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

from ort_session import Session
from PIL import Image
from preprocess import Preprocessing

SCHEMA = "zoomcamp-model/1"  # zoomcamp.artifacts' schema; this file reads it on its own
METADATA_FILE = "metadata.json"
CONFIG_ENV = "PREPROCESSING"  # JSON: the metadata's record, for a model folder without one
CONFIG_SCHEMA = f"env:{CONFIG_ENV}"
CONFIG_KEYS = ("size", "resample", "scale", "mean", "std", "mode", "layout")
CONFIG_ANSWER_KEYS = ("output", "classes", "positive_class")


DEFAULT_MODEL_FILE = "hair_classifier.onnx"


def default_model_path() -> Path:
    """``MODEL_PATH``, else the model in ``LAMBDA_TASK_ROOT`` (this file's folder outside
    Lambda), else in its ``model/``: the one ``.onnx`` file its ``metadata.json`` lists (the
    hair export's ``hair_classifier.onnx``, the clothing export's ``clothing-torch.onnx``),
    or ``hair_classifier.onnx`` in a folder without metadata (a plain model)."""
    if os.environ.get("MODEL_PATH"):
        return Path(os.environ["MODEL_PATH"])
    here = Path(os.environ.get("LAMBDA_TASK_ROOT") or Path(__file__).resolve().parent)
    for folder in (here, here / "model"):
        if (folder / METADATA_FILE).is_file():
            return folder / listed_onnx(folder / METADATA_FILE)
        if (folder / DEFAULT_MODEL_FILE).is_file():
            return folder / DEFAULT_MODEL_FILE
    return here / "model" / DEFAULT_MODEL_FILE


def listed_onnx(path: Path) -> str:
    """The one ``.onnx`` file name that the metadata file ``path`` lists (its digests are
    checked later, by ``read_metadata``)."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_METADATA_BYTES + 1)
    try:
        files = json.loads(data).get("files") if len(data) <= MAX_METADATA_BYTES else None
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        files = None
    names = [n for n in files if str(n).endswith(".onnx")] if isinstance(files, dict) else []
    if len(names) != 1:
        raise ValueError(f"{path} lists no single .onnx file: set MODEL_PATH to the model")
    return names[0]


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


OFFLINE_LEVELS = (None, "basic", "extended", "all")  # 08's optimization.ort_offline_level


def session_settings(meta: dict[str, Any]) -> dict[str, Any]:
    """ONNX Runtime's options for the function (``ort_session.Session``'s keywords), chosen by
    measurement (README, "Performance"): one intra-op thread (``ORT_THREADS``; 0: ORT's own
    choice) that never spins, and no graph optimisation at start-up when the file was saved
    fully optimised (level "all")."""
    optimization = meta.get("optimization") or {}
    offline = optimization.get("ort_offline_level") if isinstance(optimization, dict) else None
    if offline not in OFFLINE_LEVELS:
        raise ValueError(f"metadata optimization.ort_offline_level {offline!r} unknown")
    # optimising again re-reads every weight: it only costs session creation (the cold start)
    level = "ORT_DISABLE_ALL" if offline == "all" else "ORT_ENABLE_ALL"
    # one thread by default: Lambda gives < 1 vCPU below 1769 MB, and extra spinning threads
    # made a call 2-3x slower on a shared CPU (README); ORT_THREADS=0: ORT's own choice
    threads = int(os.environ.get("ORT_THREADS", "1") or 1)
    return {
        "graph_optimization_level": level,
        "intra_op_num_threads": max(threads, 0),
        "inter_op_num_threads": 1 if threads > 0 else 0,
        # a waiting worker thread sleeps instead of burning the CPU the caller's thread needs
        "config": {"session.intra_op.allow_spinning": "0"},
    }


def load_session(path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """(ONNX Runtime session, checked metadata) for the model file ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ONNX model at {path} (see 09-serverless/README.md)")
    meta = model_metadata(path)
    width, height = Preprocessing(meta).size
    session = Session(path, **session_settings(meta))
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
    check_answer(path, meta, out.shape)
    return session, meta


def check_answer(path: Path, meta: dict[str, Any], shape: list) -> None:
    """The metadata's ``output`` and ``classes`` fit the graph's output ``shape``: one
    ``logit`` for two classes (sigmoid: P(``positive_class``)), or ``logits``, one per class
    (softmax), e.g. 08's clothing model."""
    classes = tuple(meta.get("classes", ()))
    if meta.get("output") == "logit":
        if len(classes) != 2 or meta.get("positive_class") not in classes:
            raise ValueError(f"{path}: classes {classes}, positive {meta.get('positive_class')!r}")
    elif meta.get("output") == "logits":
        names_ok = all(isinstance(c, str) and c for c in classes)
        if len(classes) < 2 or len(set(classes)) != len(classes) or not names_ok:
            raise ValueError(f"{path}: classes {classes}, expected two or more distinct names")
        if list(shape[1:]) != [len(classes)]:
            raise ValueError(f"{path}: output shape {shape}, expected [N, {len(classes)}]")
    else:
        raise ValueError(f"{path}: output {meta.get('output')!r}, expected 'logit' or 'logits'")


def sigmoid(z: float) -> float:
    """P(positive class) from a logit, without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def softmax(logits: list[float]) -> list[float]:
    """Probabilities from logits; the largest logit is subtracted first, so no exp
    overflows (and at least one term is 1, so the sum is never 0)."""
    z = [float(v) for v in logits]
    if not z or not all(math.isfinite(v) for v in z):
        raise ValueError(f"softmax needs finite logits, got {z}")
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = math.fsum(e)
    return [v / total for v in e]


def flat(values: Any) -> list[float]:
    """The floats of a nested list (``Session.run``'s output) or array, in order."""
    try:
        items = iter(values)
    except TypeError:  # a number
        return [float(values)]
    return [v for item in items for v in flat(item)]


def answer(output: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """The function's answer to the model's output for one image: plain floats, as JSON
    needs. ``output`` "logits" (one per class): the top class, its probability and every
    class's probability and logit; else one logit, answered by ``answer_logit``."""
    values = flat(output)
    if meta.get("output") != "logits":
        if len(values) != 1:
            raise ValueError(f"one logit expected, got {len(values)} values")
        return answer_logit(values[0], meta)
    classes = list(meta["classes"])
    if len(values) != len(classes):
        raise ValueError(f"{len(classes)} logits expected, got {len(values)}")
    p = softmax(values)
    top = values.index(max(values))  # the first of equal logits, as torch.argmax
    return {
        "prediction": p[top],
        "logits": dict(zip(classes, values, strict=True)),
        "label": classes[top],
        "probabilities": dict(zip(classes, p, strict=True)),
    }


def answer_logit(logit: float, meta: dict[str, Any]) -> dict[str, Any]:
    """The answer to one logit (the hair model): P(positive class), the label, both classes."""
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

    def logits(self, x: Any) -> list[float]:
        """Raw logits, flattened, for a preprocessed float32 (N, 3, H, W) batch (a NumPy array
        or ``Preprocessing``'s memoryview)."""
        return flat(self.session.run([self.output_name], {self.input_name: x})[0])

    def predict(self, img: Image.Image) -> dict[str, Any]:
        """The answer for one image: one logit (hair) or one per class (clothing)."""
        x = self.preprocess(img)
        return answer(self.session.run([self.output_name], {self.input_name: x})[0][0], self.meta)
