"""05-deployment/k8s: the churn image runs the way the Deployment runs it.

No cluster runs here. The closest check is Docker with the pod's settings read from
``deployment.yaml``: the uid and gid, a read-only root filesystem, no capabilities, no
privilege escalation, the memory and CPU limits, an empty writable ``/tmp`` in place of
the emptyDir, the container port published on 127.0.0.1. The probes' path must answer,
``/predict`` must give the pipeline's answer, the preStop command must exist in the image,
and ``/tmp`` must still be empty afterwards (the service writes no file).
"""

from __future__ import annotations

import json
import pickle
import urllib.request

import pytest
import service_files
import yaml
from docker_images import http_json

from zoomcamp import paths

pytestmark = pytest.mark.docker

MODULE = paths.module_dir("05-deployment")
client = service_files.load("05-deployment", "test")


@pytest.fixture(scope="module")
def pod() -> dict:
    text = (MODULE / "k8s" / "deployment.yaml").read_text(encoding="utf-8")
    (dep,) = yaml.safe_load_all(text)
    return dep["spec"]["template"]["spec"]


def docker_flags(pod: dict) -> list[str]:
    """``docker run`` flags equivalent to the pod spec's security, limits and volumes (the
    container port is published by the caller)."""
    (c,) = pod["containers"]
    psc, csc, limits = pod["securityContext"], c["securityContext"], c["resources"]["limits"]
    flags = ["--user", f"{psc['runAsUser']}:{psc['runAsGroup']}"]
    if csc["readOnlyRootFilesystem"]:
        flags.append("--read-only")
    if not csc["allowPrivilegeEscalation"]:
        flags += ["--security-opt", "no-new-privileges"]
    flags += [f"--cap-drop={cap}" for cap in csc["capabilities"]["drop"]]
    mem = limits["memory"]
    assert mem.endswith("Mi"), mem
    flags += ["--memory", f"{int(mem[:-2])}m", "--cpus", str(limits["cpu"])]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in c.get("volumeMounts", []):
        assert "emptyDir" in volumes[mount["name"]], mount
        flags += ["--tmpfs", mount["mountPath"]]
    return flags


@pytest.fixture(scope="module")
def service(images, churn_service_image, pod):
    (c,) = pod["containers"]
    (port,) = c["ports"]
    health = c["readinessProbe"]["httpGet"]["path"]
    with images.run(
        churn_service_image,
        publish=port["containerPort"],
        flags=docker_flags(pod),
        ready=http_json(health),
    ) as container:
        yield container


def test_probes_answer_under_the_pods_restrictions(service, pod):
    port = service.port
    (c,) = pod["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        path = c[probe]["httpGet"]["path"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            assert resp.status == 200 and json.loads(resp.read())["status"] == "ok"


def test_predicts_like_the_pipeline_and_writes_nothing(service, churn_model_dir):
    port = service.port
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict",
        data=json.dumps(client.CUSTOMER).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = json.loads(resp.read())
    with open(churn_model_dir / "model.bin", "rb") as fh:
        expected = pickle.load(fh).predict_proba([client.CUSTOMER])[0, 1]
    assert abs(answer["churn_probability"] - expected) <= 1e-9
    listing = service.exec("ls", "-A", "/tmp", timeout=30)
    assert listing.returncode == 0 and listing.stdout == "", listing.stdout


def test_the_pre_stop_command_exists_in_the_image(service, pod):
    command = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    proc = service.exec(command[0], "0", timeout=30)
    assert proc.returncode == 0, proc.stderr
