"""09-serverless, HW9 Q6 as asked: ``homework/Dockerfile`` (the course's image extended with
this module's handler, serving its plain ``hair_classifier_empty.onnx`` with the homework's
preprocessing from ``PREPROCESSING``), built on a local stand-in for the course's base
(``homework/base.Dockerfile``: the Lambda base and a tiny plain model with the course's
interface at the course's path) and called through the Lambda emulator; the answer must be
the NumPy reference computed from the pixels.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import urllib.request

import plain_onnx
import pytest
import service_files
from docker_images import http_any
from PIL import Image
from ports import free_port

from zoomcamp import datasets, paths
from zoomcamp.hair import course as hair_course

pytestmark = pytest.mark.docker

MODULE = paths.module_dir("09-serverless")
INVOCATIONS = "/2015-03-31/functions/function/invocations"
build = service_files.load("09-serverless", "build")


@pytest.fixture(scope="module")
def course_base(images, tmp_path_factory):
    """The stand-in base, from a model file checked to have the course's interface."""
    context = tmp_path_factory.mktemp("course-base")
    model = plain_onnx.write_model(
        context / "hair_classifier_empty.onnx", names=("input", "output")
    )
    hair_course.check_interface(model)  # input [N, 3, 200, 200] -> output [N, 1]
    shutil.copyfile(MODULE / "homework" / "base.Dockerfile", context / "base.Dockerfile")
    return images.build(context, name="hair-course-base", dockerfile="base.Dockerfile")


@pytest.fixture(scope="module")
def homework_image(images, course_base, tmp_path_factory):
    """homework/Dockerfile in a context holding only this module's handler files."""
    context = tmp_path_factory.mktemp("hair-homework")
    for name in build.context_files():
        if (MODULE / name).is_file():
            shutil.copyfile(MODULE / name, context / name)
    (context / "homework").mkdir()
    shutil.copyfile(MODULE / "homework" / "Dockerfile", context / "homework" / "Dockerfile")
    return images.build(
        context,
        name="hair-homework",
        dockerfile="homework/Dockerfile",
        build_args={"BASE": course_base.tag},
    )


def emulator_env(port: int) -> dict[str, str]:
    return {
        "AWS_LAMBDA_RIE_ADDRESS": f"127.0.0.1:{port}",
        "AWS_LAMBDA_RIE_API_ADDRESS": f"127.0.0.1:{free_port()}",
    }


def invoke(url: str, event: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def test_homework_image_answers_like_numpy(images, homework_image):
    root = datasets.unpack("hair-type") / "data" / "test"
    paths_ = [sorted((root / c).glob("*.jpg"))[0] for c in ("curly", "straight")]
    cfg = plain_onnx.config()  # the homework's: NEAREST 200x200, /255, ImageNet mean/std
    with images.run(
        homework_image,
        port_env=emulator_env,
        flags=["--user", "993:990"],
        ready=http_any(),
        timeout=60,
    ) as container:
        for path in paths_:
            event = {"image_b64": base64.b64encode(path.read_bytes()).decode()}
            got = invoke(container.url + INVOCATIONS, event)
            logit, prob = plain_onnx.reference(Image.open(path), cfg)
            assert got["logit"] == pytest.approx(logit, abs=1e-5), got
            assert got["prediction"] == pytest.approx(prob, abs=1e-6)
            assert got["label"] == ("straight" if prob >= 0.5 else "curly")
        # the course's model file is served as it is: no metadata.json beside it
        proc = container.exec("ls", "/var/task")
        assert "hair_classifier_empty.onnx" in proc.stdout
        assert "metadata.json" not in proc.stdout


def test_homework_py_course_image_path(monkeypatch, course_base):
    """``homework.py --course-image``'s Q6 step, on the stand-in base: it builds
    homework/Dockerfile from this module's folder and answers through the emulator."""
    hw = service_files.load("09-serverless", "homework")
    tag = f"{course_base.tag.rsplit(':', 1)[0]}-homework-py:pytest"
    monkeypatch.setattr(hw, "HOMEWORK_TAG", tag)
    monkeypatch.setattr(hw.build, "NETWORK", "host")
    image = sorted((datasets.unpack("hair-type") / "data" / "test" / "curly").glob("*.jpg"))[0]
    try:
        got = hw.course_image_answer(
            {"image_b64": base64.b64encode(image.read_bytes()).decode()}, base=course_base.tag
        )
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)
    assert got["logit"] == pytest.approx(
        plain_onnx.reference(Image.open(image), plain_onnx.config())[0], abs=1e-5
    )
