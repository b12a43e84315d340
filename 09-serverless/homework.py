"""uv run python 09-serverless/homework.py [--json] [--course-image]

Homework 09 (2025): the hair-type model in Lambda, six answers. The course's model, test
image and base image are used where they download; here they do not, so ``value`` holds
this repo's analogue and ``option`` is null with the reason in the note (README,
"Homework"). Q6 builds the image and needs a Docker engine; ``--course-image`` answers it
as asked: ``homework/Dockerfile`` on the course's image, its own model. ``--json`` keeps
stdout for the answers.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
from pathlib import Path

import build
import hair_lambda as hl
from preprocess import open_image

from zoomcamp import datasets, homework, script
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import course as hair_course
from zoomcamp.hair import model_torch as hair_torch
from zoomcamp.settings import fast_mode

MODULE = "09-serverless"
HOMEWORK_TAG = "hair-homework:v1"  # homework/Dockerfile on the course's image
TEST_IMAGE = "test/straight/01b8ef4743e2a5d1b3e888ef18acdfd0.jpg"  # stands in for the course's
NOT_AS_ASKED = "not reproducible as asked"

OPTIONS_Q1 = ["output", "sigmoid", "softmax", "prediction"]
OPTIONS_Q2 = ["64x64", "128x128", "200x200", "256x256"]
OPTIONS_Q3 = ["-10.73", "-1.073", "1.073", "10.73"]
OPTIONS_Q4 = ["0.09", "0.49", "0.69", "0.89"]
OPTIONS_Q5 = ["88 Mb", "208 Mb", "608 Mb", "1208 Mb"]
OPTIONS_Q6 = ["-1.0", "-0.10", "0.10", "1.0"]


def log(msg: str) -> None:
    print(f"[09 homework] {msg}", file=sys.stderr, flush=True)


def container_answer(context: Path, event: dict) -> dict | str:
    """Our image's answer through the Lambda emulator, or why there is none."""
    ok, why = build.docker_available()
    if not ok:
        return why
    tag = "hair-classifier:fast" if fast_mode() else build.TAG
    build.docker_build(context, tag, quiet=True)
    with build.running(tag) as (_, endpoint):
        return build.invoke_when_ready(endpoint, event)


def course_image_answer(event: dict, base: str = hair_course.BASE_IMAGE) -> dict:
    """``homework/Dockerfile`` built on the course's image (pulled already), through the
    emulator: the course's hair_classifier_empty.onnx with the homework's preprocessing."""
    dockerfile = build.HERE / "homework" / "Dockerfile"
    cmd = ["docker", "build", "-q", "-t", HOMEWORK_TAG, "-f", str(dockerfile)]
    if build.NETWORK:
        cmd += ["--network", build.NETWORK]
    cmd += ["--build-arg", f"BASE={base}"]
    build._run([*cmd, str(build.HERE)], stdout=sys.stderr)
    with build.running(HOMEWORK_TAG) as (_, endpoint):
        return build.invoke_when_ready(endpoint, event)


def course_base_image_bytes() -> int | str:
    """Size of the course's base image when it is here or can be pulled, else why not."""
    ok, why = build.docker_available()
    if not ok:
        return why
    tag = hair_course.BASE_IMAGE
    have = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    if have.returncode != 0:
        try:
            pull = subprocess.run(
                ["docker", "pull", tag], capture_output=True, text=True, timeout=300
            )
        except subprocess.TimeoutExpired:
            return f"docker pull {tag} timed out"
        if pull.returncode != 0:
            log(f"docker pull {tag}: {(pull.stderr or pull.stdout).strip()[-300:]}")
            return "docker pull failed: no registry access"
    return build.image_size(tag)


def _course(get, what: str):
    """(path, None) or (None, why): the details go to stderr, the answer's note says only
    what holds on any machine that cannot fetch it (committed notes name no local paths)."""
    try:
        return get(), None
    except hair_course.CourseAssetUnavailable as exc:
        log(f"{what}: {exc}")
        return None, f"{what} cannot be downloaded here"


def compute(course_image_q6: bool = False) -> dict:
    context = build.prepare_context()  # 08's PyTorch export, verified, in the build context
    model_path = context / "model" / hair_torch.ONNX_FILE
    clf = hl.HairClassifier(model_path)
    log(f"model {model_path} ({model_path.stat().st_size / 1e6:.1f} MB)")
    course_model, model_why = _course(hair_course.course_model, "hair_classifier_v1.onnx")
    course_image, image_why = _course(hair_course.course_image, "the habrastorage test image")

    # Q1, Q2: from the graph itself (the course's when it downloads, else our export, made
    # with the interface the homework states)
    graph = course_model or model_path
    import onnxruntime as ort

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    out_name = session.get_outputs()[0].name
    shape = session.get_inputs()[0].shape  # [N, 3, H, W]
    size = f"{shape[3]}x{shape[2]}"
    which = (
        "the course's hair_classifier_v1.onnx"
        if course_model
        else (
            "our export (the course's hair_classifier_v1.onnx cannot be downloaded here; ours has "
            "the interface the homework states)"
        )
    )

    image_path = course_image or datasets.unpack("hair-type") / "data" / TEST_IMAGE
    data = image_path.read_bytes()
    where = (
        "the course's test image"
        if course_image
        else f"the hair test set's {TEST_IMAGE} ({image_why})"
    )
    x_hw = hair_course.homework_preprocess(image_path)  # as the homework asks: NEAREST
    answers = {
        "q1": homework.answer(
            out_name,
            OPTIONS_Q1,
            option=out_name,
            note=f"read from {which} with onnxruntime (session.get_outputs()[0].name)",
        ),
        "q2": homework.answer(
            size, OPTIONS_Q2, option=size, note=f"the ONNX input shape {shape} (NCHW) of {which}"
        ),
    }
    q3 = float(x_hw[0, 0, 0, 0])
    q3_note = "first pixel, R channel, after the homework's preprocessing (RGB, NEAREST resize to 200x200, /255, ImageNet mean/std)"
    if course_image:
        answers["q3"] = homework.answer(q3, OPTIONS_Q3, note=f"{q3_note}, on the course's image")
    else:
        answers["q3"] = homework.answer(q3, note=f"{NOT_AS_ASKED}: {where}; {q3_note}")

    if course_model and course_image:
        q4 = hair_course.logit(course_model, x_hw)
        answers["q4"] = homework.answer(
            q4,
            OPTIONS_Q4,
            note=f"the course's model on its image, the homework's preprocessing; raw output "
            f"(sigmoid {hl.sigmoid(q4):.4f})",
        )
    else:
        q4 = float(clf.logits(clf.preprocess(open_image(data)))[0])
        why = "; ".join(w for w in (model_why, image_why) if w)
        answers["q4"] = homework.answer(
            q4,
            note=f"{NOT_AS_ASKED} ({why}): our PyTorch-trained model (models/hair-torch-onnx, "
            "its own preprocessing from its metadata: bilinear resize), not the course's, on "
            f"{where}; raw model output, a logit (sigmoid {hl.sigmoid(q4):.4f})",
        )

    base = course_base_image_bytes()
    if isinstance(base, str):
        answers["q5"] = homework.answer(
            None,
            note=f"{NOT_AS_ASKED}: the course's base image {hair_course.BASE_IMAGE} cannot be "
            f"pulled here ({base}); the size of our own image depends on the machine and is in "
            "reports/09-serverless/bench.json (bench.py)",
        )
    else:
        mb = base / 1e6
        answers["q5"] = homework.answer(
            mb, OPTIONS_Q5, note=f"docker image inspect {hair_course.BASE_IMAGE} (MB = 10^6 bytes)"
        )

    event = {"image_b64": base64.b64encode(data).decode()}
    if course_image_q6 and not isinstance(base, str):
        got = course_image_answer(event)
        if "logit" not in got:
            raise ZoomcampError(f"the container answered {json.dumps(got)[:300]}")
        note = (
            f"homework/Dockerfile on {hair_course.BASE_IMAGE}, its hair_classifier_empty.onnx "
            "with the homework's preprocessing (NEAREST 200x200, ImageNet mean/std), invoked "
            f"through the Lambda emulator on {where}; raw model output "
            f"(prediction {got['prediction']:.4f})"
        )
        if course_image:
            answers["q6"] = homework.answer(got["logit"], OPTIONS_Q6, note=note)
        else:
            answers["q6"] = homework.answer(got["logit"], note=f"{NOT_AS_ASKED}: {note}")
        return answers
    if course_image_q6:
        log(
            f"--course-image: {hair_course.BASE_IMAGE} is not available ({base}); our image instead"
        )
    got = container_answer(context, event)
    if isinstance(got, str):
        answers["q6"] = homework.answer(
            None, note=f"{NOT_AS_ASKED}; no container measurement: {got}"
        )
        return answers
    if "logit" not in got:
        raise ZoomcampError(f"the container answered {json.dumps(got)[:300]}")
    answers["q6"] = homework.answer(
        got["logit"],
        note=f"{NOT_AS_ASKED}: our model in our image on the local stand-in base "
        f"public.ecr.aws/lambda/python:3.13, not the course's {hair_course.BASE_IMAGE} with "
        f"its model; {where}; invoked through the Lambda emulator; raw model output, a logit "
        f"(prediction {got['prediction']:.4f})",
    )
    return answers


def main(argv: list[str] | None = None) -> dict:
    # --course-image is this module's own flag; the rest is the shared homework command line
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--course-image", action="store_true")
    known, rest = flags.parse_known_args(sys.argv[1:] if argv is None else argv)
    return homework.main(
        MODULE,
        lambda: compute(known.course_image),
        description=script.description(__doc__),
        argv=rest,
    )


if __name__ == "__main__":
    script.run(main)
