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
import subprocess
import time
import urllib.request
import uuid

import pytest
import service_files
from kubernetes_validate.utils import resources_from_file
from ports import free_port

from zoomcamp import paths

pytestmark = pytest.mark.docker

MODULE = paths.module_dir("05-deployment")
TAG = "churn-service:pytest"
client = service_files.load("05-deployment", "test")


@pytest.fixture(scope="module")
def pod() -> dict:
    (dep,) = resources_from_file(str(MODULE / "k8s" / "deployment.yaml"))
    return dep["spec"]["template"]["spec"]


def docker_flags(pod: dict, host_port: int) -> list[str]:
    """``docker run`` flags equivalent to the pod spec's security, limits and volumes."""
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
    (port,) = c["ports"]
    flags += ["-p", f"127.0.0.1:{host_port}:{port['containerPort']}"]
    return flags


@pytest.fixture(scope="module")
def service(docker, churn_service_dir, pod):
    build = subprocess.run(
        [docker, "build", "--network", "host", "-q", "-t", TAG, str(churn_service_dir)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    port, name = free_port(), f"churn-k8s-test-{uuid.uuid4().hex[:8]}"
    health = pod["containers"][0]["readinessProbe"]["httpGet"]["path"]
    try:
        subprocess.run(
            [docker, "run", "-d", "--name", name, *docker_flags(pod, port), TAG],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=2).close()
                break
            except OSError:
                logs = subprocess.run([docker, "logs", name], capture_output=True, text=True)
                state = subprocess.run(
                    [docker, "inspect", "-f", "{{.State.Running}}", name],
                    capture_output=True,
                    text=True,
                )
                assert state.stdout.strip() == "true", f"it stopped:\n{logs.stderr[-3000:]}"
                assert time.monotonic() < deadline, f"no {health} in 90 s:\n{logs.stderr[-3000:]}"
                time.sleep(0.5)
        yield name, port
    finally:
        subprocess.run([docker, "rm", "-f", name], capture_output=True, timeout=60)


def test_probes_answer_under_the_pods_restrictions(service, pod):
    _, port = service
    (c,) = pod["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        path = c[probe]["httpGet"]["path"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            assert resp.status == 200 and json.loads(resp.read())["status"] == "ok"


def test_predicts_like_the_pipeline_and_writes_nothing(docker, service, churn_model_dir):
    name, port = service
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
    listing = subprocess.run(
        [docker, "exec", name, "ls", "-A", "/tmp"], capture_output=True, text=True, timeout=30
    )
    assert listing.returncode == 0 and listing.stdout == "", listing.stdout


def test_the_pre_stop_command_exists_in_the_image(docker, service, pod):
    name, _ = service
    command = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    proc = subprocess.run(
        [docker, "exec", name, command[0], "0"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
