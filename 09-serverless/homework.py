"""uv run python 09-serverless/homework.py [--json]

Homework 09 (2025): the hair-type model in Lambda, answered with this repo's own model.

The model is ``09-serverless/model/hair_classifier.onnx`` (exported by
``08-deep-learning/export.py``). When it is missing, the full Keras model of 08
(``<models>/hair/hair-model.keras``) is exported into that folder; under ZOOMCAMP_FAST=1
with no Keras model either, a quick one is trained with 08's ``train.py`` (fast setting)
and exported into ``<models>/serverless-quick/``. Without ZOOMCAMP_FAST it stops and says
to run 08 first (``uv run zoomcamp reproduce 08``).

The course's test image (habrastorage) and base image cannot be fetched here: Q3-Q6 use
the hair test set's ``test/straight/01b8ef4743e2a5d1b3e888ef18acdfd0.jpg`` and this
repo's image, and are marked "not reproducible as asked". Q5/Q6 need a Docker engine
(answered null with a note without one). Logs go to stderr; ``--json`` keeps stdout for
the answers.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import build
import hair_lambda as hl
from PIL import Image

from zoomcamp import datasets, homework, paths
from zoomcamp.errors import ZoomcampError
from zoomcamp.settings import fast_mode

MODULE = "09-serverless"
TEST_IMAGE = "test/straight/01b8ef4743e2a5d1b3e888ef18acdfd0.jpg"  # stands in for the course's
BASE_IMAGE = "public.ecr.aws/lambda/python:3.13"
NOT_AS_ASKED = "not reproducible as asked"

OPTIONS_Q1 = ["output", "sigmoid", "softmax", "prediction"]
OPTIONS_Q2 = ["64x64", "128x128", "200x200", "256x256"]
OPTIONS_Q3 = ["-10.73", "-1.073", "1.073", "10.73"]
OPTIONS_Q4 = ["0.09", "0.49", "0.69", "0.89"]
OPTIONS_Q5 = ["88 Mb", "208 Mb", "608 Mb", "1208 Mb"]
OPTIONS_Q6 = ["-1.0", "-0.10", "0.10", "1.0"]


def log(msg: str) -> None:
    print(f"[09 homework] {msg}", file=sys.stderr, flush=True)


def _script(path: Path, *args: str) -> None:
    log(f"running {path.name} {' '.join(args)}")
    proc = subprocess.run(
        [sys.executable, str(path), *args], cwd=paths.REPO_ROOT, stdout=sys.stderr
    )
    if proc.returncode != 0:
        raise ZoomcampError(f"{path.name} failed (exit {proc.returncode})")


def find_model() -> Path:
    """The exported ONNX model, exporting (and in fast mode training) when missing."""
    onnx_path = build.MODEL_DIR / "hair_classifier.onnx"
    if onnx_path.is_file():
        return onnx_path
    export = build.DL / "export.py"
    if build.keras_model_path().is_file() and export.is_file():
        _script(
            export, "--model", str(build.keras_model_path()), "--output-dir", str(build.MODEL_DIR)
        )
        return onnx_path
    if not fast_mode():
        raise ZoomcampError(
            f"no model at {onnx_path}: run `uv run zoomcamp reproduce 08` "
            "(trains and exports it) or `uv run python 09-serverless/build.py --no-build`"
        )
    quick = paths.models_dir() / "serverless-quick"
    if not (quick / "hair_classifier.onnx").is_file():
        keras_quick = paths.models_dir() / "hair-quick"
        if not (keras_quick / "hair-model.keras").is_file():
            _script(build.DL / "train.py", "--out-dir", str(keras_quick))
        _script(
            export, "--model", str(keras_quick / "hair-model.keras"), "--output-dir", str(quick)
        )
    return quick / "hair_classifier.onnx"


def container_answers(model: Path, event: dict) -> tuple[dict, int, int] | str:
    """(emulator answer, our image's bytes, base image bytes), or why not."""
    ok, why = build.docker_available()
    if not ok:
        return why
    real = model.parent == build.MODEL_DIR
    tag = "hair-classifier:v1" if real else "hair-classifier:homework-quick"
    with tempfile.TemporaryDirectory(prefix="hair-lambda-ctx-") as ctx:
        build.docker_build(build.scratch_context(model.parent, Path(ctx)), tag, quiet=True)
    with build.running(tag) as (_, endpoint):
        answer = build.invoke_when_ready(endpoint, event)
    return answer, build.image_size(tag), build.image_size(BASE_IMAGE)


def compute() -> dict:
    model_path = find_model()
    meta = build.verify_model(model_path)
    if meta.get("tiny_stand_in"):
        raise ZoomcampError(f"{model_path} is the tiny test stand-in, not the hair model")
    clf = hl.HairClassifier(model_path)
    log(f"model {model_path} ({model_path.stat().st_size / 1e6:.1f} MB)")
    # Q1, Q2: from the ONNX graph itself (not from the metadata)
    out_name = clf.session.get_outputs()[0].name
    shape = clf.session.get_inputs()[0].shape  # [N, 3, H, W]
    size = f"{shape[3]}x{shape[2]}"

    image_path = datasets.unpack("hair-type") / "data" / TEST_IMAGE
    data = image_path.read_bytes()
    x = hl.preprocess(hl.open_image(data))
    logit = float(clf.logits(x)[0])
    prob = hl.sigmoid(logit)
    with Image.open(image_path) as img:
        orig = f"{img.size[0]}x{img.size[1]}"
    where = f"the hair test set's {TEST_IMAGE} ({orig}) instead of the course's habrastorage image"

    got = container_answers(model_path, {"image_b64": base64.b64encode(data).decode()})
    answers = {
        "q1": homework.answer(
            out_name,
            OPTIONS_Q1,
            option=out_name,
            note="read from the ONNX graph with onnxruntime (session.get_outputs()[0].name)",
        ),
        "q2": homework.answer(
            size, OPTIONS_Q2, option=size, note=f"the ONNX input shape {shape} (NCHW)"
        ),
        "q3": homework.answer(
            float(x[0, 0, 0, 0]),
            OPTIONS_Q3,
            note=f"{NOT_AS_ASKED}: {where}; first pixel, R channel, after NEAREST resize and ImageNet normalisation",
        ),
        "q4": homework.answer(
            logit,
            OPTIONS_Q4,
            variants={
                "logit": {"value": logit, "option": homework.closest_option(logit, OPTIONS_Q4)},
                "sigmoid": {"value": prob, "option": homework.closest_option(prob, OPTIONS_Q4)},
            },
            note=f"{NOT_AS_ASKED}: our own model (not the course's PyTorch weights) on {where}; "
            "option follows the raw model output (a logit); sigmoid = P(straight)",
        ),
    }
    if isinstance(got, str):
        why = f"{NOT_AS_ASKED}; no container measurement: {got}"
        answers["q5"] = homework.answer(None, note=why)
        answers["q6"] = homework.answer(None, note=why)
        return answers
    answer, ours, base = got
    if "logit" not in answer:
        raise ZoomcampError(f"the container answered {json.dumps(answer)[:300]}")
    ours_mb, base_mb = ours / 1e6, base / 1e6
    answers["q5"] = homework.answer(
        ours_mb,
        OPTIONS_Q5,
        variants={
            "our_image": {"value": ours_mb, "option": homework.closest_option(ours_mb, OPTIONS_Q5)},
            "local_base_stand_in": {
                "value": base_mb,
                "option": homework.closest_option(base_mb, OPTIONS_Q5),
            },
        },
        note=f"{NOT_AS_ASKED}: the course's base image agrigorev/model-2025-hairstyle:v1 cannot be pulled; "
        f"option follows the measured size of our image (MB = 10^6 bytes); the local {BASE_IMAGE} "
        "stand-in (Debian, not Amazon Linux) is the other variant",
    )
    answers["q6"] = homework.answer(
        answer["logit"],
        OPTIONS_Q6,
        variants={
            "logit": {
                "value": answer["logit"],
                "option": homework.closest_option(answer["logit"], OPTIONS_Q6),
            },
            "prediction": {
                "value": answer["prediction"],
                "option": homework.closest_option(answer["prediction"], OPTIONS_Q6),
            },
        },
        note=f"{NOT_AS_ASKED}: our model in our image (not the course's empty model), {where}, "
        "invoked through the Lambda emulator; option follows the raw model output (logit)",
    )
    return answers


if __name__ == "__main__":
    homework.main(MODULE, compute, description=__doc__.splitlines()[0])
