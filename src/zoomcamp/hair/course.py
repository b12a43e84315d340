"""The course's own homework-09 assets: its PyTorch-trained hair model
``hair_classifier_v1.onnx`` (+ ``.onnx.data``, release ``hairstyle`` of
``alexeygrigorev/large-datasets``) and its test image, registered in
:data:`zoomcamp.datasets.COURSE_ASSETS` with their real URLs. Their digests are not
published, so they are trusted on first use (the digest of the first download is recorded
and checked later) and verified by what can be checked: the graph loads in ONNX Runtime with
the interface the homework states (``input`` [N, 3, 200, 200] -> ``output`` [N, 1]), and the
image decodes. Also the homework's own preprocessing (NEAREST resize), which Q3 asks about.

Where they cannot be fetched (no internet, not in the mirror), :func:`course_model` and
:func:`course_image` raise :class:`CourseAssetUnavailable` with the reason, and the homework
answers with its own analogues and no option.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from zoomcamp import datasets, paths
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair

MODEL, MODEL_DATA, IMAGE = "hair-classifier-v1", "hair-classifier-v1-data", "hair-test-image"
INPUT_NAME, OUTPUT_NAME = "input", "output"
INPUT_SHAPE = [3, 200, 200]  # after the batch axis
BASE_IMAGE = "agrigorev/model-2025-hairstyle:v1"


class CourseAssetUnavailable(ZoomcampError):
    pass


def _fetch(name: str) -> Path:
    try:
        return datasets.fetch(name, timeout=30.0)
    except datasets.DatasetUnavailable as exc:
        raise CourseAssetUnavailable(str(exc)) from None


def course_model() -> Path:
    """The course's model with its weights side by side (ONNX Runtime finds external data
    next to the graph), after checking it loads with the homework's interface."""
    graph, weights = _fetch(MODEL), _fetch(MODEL_DATA)
    folder = paths.data_dir() / MODEL
    folder.mkdir(parents=True, exist_ok=True)
    for src in (graph, weights):
        dest = folder / src.name
        if not dest.is_file() or dest.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dest)
    path = folder / graph.name
    check_interface(path)
    return path


def check_interface(path: Path) -> None:
    """Raise unless the graph loads in ONNX Runtime as ``input`` [N, 3, 200, 200] ->
    ``output`` [N, 1]."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types
        raise ZoomcampError(f"{path} does not load in ONNX Runtime: {exc}") from None
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    if inp.name != INPUT_NAME or list(inp.shape[1:]) != INPUT_SHAPE:
        raise ZoomcampError(
            f"{path}: input {inp.name} {inp.shape}, expected input [N, 3, 200, 200]"
        )
    if out.name != OUTPUT_NAME or list(out.shape[1:]) != [1]:
        raise ZoomcampError(f"{path}: output {out.name} {out.shape}, expected output [N, 1]")


def course_image() -> Path:
    """The course's test image, after checking it decodes."""
    path = _fetch(IMAGE)
    try:
        with Image.open(path) as img:
            img.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ZoomcampError(f"{path} is not a decodable image: {exc}") from None
    return path


def homework_preprocess(source: str | Path | Image.Image) -> np.ndarray:
    """The homework's preprocessing: RGB, resize to 200x200 with NEAREST, scale to [0, 1],
    ImageNet mean/std, channels first: float32 (1, 3, 200, 200)."""
    x = hair.normalise(hair.decode_pixels(source, "nearest"))
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def logit(model: Path, x: np.ndarray) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return float(session.run([OUTPUT_NAME], {INPUT_NAME: x})[0].reshape(-1)[0])
