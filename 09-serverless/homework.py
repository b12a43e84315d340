"""uv run python 09-serverless/homework.py [--json]

Homework 09 (2025): the hair-type model in Lambda, answered with this repo's own model.

The model is 08's ONNX export (``models/hair-onnx/``), copied and verified into the build
context by ``build.prepare_context`` (``09-serverless/model/``; in fast mode the fast model
into ``.fast/09-serverless/``). Nothing of 08 is re-run: without the model it stops and
says to run ``uv run zoomcamp reproduce 08``.

The course's test image (habrastorage) and base image cannot be fetched here: Q3-Q6 use
the hair test set's ``test/straight/01b8ef4743e2a5d1b3e888ef18acdfd0.jpg`` and this
repo's image, and are marked "not reproducible as asked". Q5/Q6 need a Docker engine
(answered null with a note without one). Logs go to stderr; ``--json`` keeps stdout for
the answers.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import build
import hair_lambda as hl
from PIL import Image

from zoomcamp import datasets, hair_model, homework
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


def container_answers(context: Path, event: dict) -> tuple[dict, int, int] | str:
    """(emulator answer, our image's bytes, base image bytes), or why not."""
    ok, why = build.docker_available()
    if not ok:
        return why
    tag = "hair-classifier:fast" if fast_mode() else build.TAG
    build.docker_build(context, tag, quiet=True)
    with build.running(tag) as (_, endpoint):
        answer = build.invoke_when_ready(endpoint, event)
    return answer, build.image_size(tag), build.image_size(BASE_IMAGE)


def compute() -> dict:
    context = build.prepare_context()  # the model 08 exported, verified, in the build context
    model_path = context / "model" / hair_model.ONNX_FILE
    clf = hl.HairClassifier(model_path)
    log(f"model {model_path} ({model_path.stat().st_size / 1e6:.1f} MB)")
    # Q1, Q2: from the ONNX graph itself (not from the metadata)
    out_name = clf.session.get_outputs()[0].name
    shape = clf.session.get_inputs()[0].shape  # [N, 3, H, W]
    size = f"{shape[3]}x{shape[2]}"

    image_path = datasets.unpack("hair-type") / "data" / TEST_IMAGE
    data = image_path.read_bytes()
    x = clf.preprocess(hl.open_image(data))
    logit = float(clf.logits(x)[0])
    prob = hl.sigmoid(logit)
    with Image.open(image_path) as img:
        orig = f"{img.size[0]}x{img.size[1]}"
    where = f"the hair test set's {TEST_IMAGE} ({orig}) instead of the course's habrastorage image"

    got = container_answers(context, {"image_b64": base64.b64encode(data).decode()})
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
