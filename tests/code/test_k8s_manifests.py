"""05-deployment/k8s: the manifests validate offline and agree with each other and the image.

Schemas come from kubernetes-validate, run pinned in its own environment (``uv tool run``,
not in the project's: the tool's dependencies never constrain the project's): every
Kubernetes minor release it ships schemas for, in strict mode, so a misspelt or misplaced
field fails as it would in ``kubectl apply --validate=strict``. The schema cannot see that
a selector misses its pods, a probe hits the wrong port or the HPA scales another
Deployment: those are checked here. No cluster runs; the container test
(tests/services/test_k8s_container.py) runs the image with the Deployment's settings.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess

import pytest
import yaml

from zoomcamp import paths

MODULE = paths.module_dir("05-deployment")
K8S = MODULE / "k8s"
# the same pin a learner uses: uvx kubernetes-validate==1.37.0 --strict 05-deployment/k8s/*.yaml
KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"

# Runs inside the tool's environment: every object of every file against every minor release
# the tool ships schemas for, strictly, in one process (one CLI call per release is ~2 s each).
VALIDATE_ALL = """
import json, sys
import kubernetes_validate as kv
from kubernetes_validate.utils import all_versions, resources_from_file
minors = {".".join(v.split(".")[:2]) for v in all_versions()}
versions = sorted(minors, key=lambda v: tuple(map(int, v.split("."))))
errors = []
for path in sys.argv[1:]:
    for res in resources_from_file(path):
        for version in versions:
            try:
                kv.validate(res, version, strict=True)
            except kv.ValidationError as exc:
                errors.append(f"{path}: {res['kind']} against {version}: {exc}")
print(json.dumps({"versions": versions, "errors": errors}))
"""


def validate(*files) -> dict:
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH"
    proc = subprocess.run(
        [uv, "tool", "run", "--from", KUBERNETES_VALIDATE, "python", "-c", VALIDATE_ALL]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def resources() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for res in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if res is None:
                continue
            assert res["kind"] not in found, f"two {res['kind']} objects"
            found[res["kind"]] = res
    return found


@pytest.fixture(scope="module")
def objs() -> dict[str, dict]:
    return resources()


@pytest.fixture(scope="module")
def validated() -> dict:
    return validate(*sorted(K8S.glob("*.yaml")))


@pytest.fixture(scope="module")
def container(objs) -> dict:
    (c,) = objs["Deployment"]["spec"]["template"]["spec"]["containers"]
    return c


def test_the_objects_are_there(objs):
    assert set(objs) == {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Ingress",
    }


def test_schemas_of_several_releases_are_installed(validated):
    # validating against no release would pass silently
    assert len(validated["versions"]) >= 5, validated["versions"]


def test_every_object_validates_strictly(validated):
    assert validated["errors"] == []


def test_strict_validation_catches_a_misspelt_field(objs, validated, tmp_path):
    bad = copy.deepcopy(objs["Deployment"])
    c = bad["spec"]["template"]["spec"]["containers"][0]
    c["readynessProbe"] = c.pop("readinessProbe")
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    errors = validate(path)["errors"]
    # every release rejects it, and says which field
    assert len(errors) == len(validated["versions"]), errors
    assert all("readynessProbe" in e for e in errors), errors


def test_selectors_reach_the_pods(objs):
    dep = objs["Deployment"]["spec"]
    pod_labels = dep["template"]["metadata"]["labels"]
    assert dep["selector"]["matchLabels"].items() <= pod_labels.items()
    assert objs["Service"]["spec"]["selector"].items() <= pod_labels.items()


def test_service_and_probes_use_the_port_the_image_listens_on(objs, container):
    dockerfile = (MODULE / "Dockerfile").read_text(encoding="utf-8")
    exposed = {int(p) for p in re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.M)}
    (port,) = container["ports"]
    assert {port["containerPort"]} == exposed
    named = {port["name"], port["containerPort"]}
    (svc_port,) = objs["Service"]["spec"]["ports"]
    assert svc_port["targetPort"] in named
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/health" and get["port"] in named, probe


def test_image_tag_is_fixed_and_not_pulled_when_present(container):
    name, _, tag = container["image"].rpartition(":")
    assert name == "churn-service" and tag and tag != "latest"
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_requests_and_limits_are_set_and_consistent(container):
    res = container["resources"]
    for kind in ("cpu", "memory"):
        assert kind in res["requests"] and kind in res["limits"], kind
    assert quantity(res["requests"]["cpu"]) <= quantity(res["limits"]["cpu"])
    assert quantity(res["requests"]["memory"]) <= quantity(res["limits"]["memory"])


def test_runs_non_root_read_only_without_privileges(objs, container):
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    uid = pod["securityContext"]["runAsUser"]
    assert uid != 0
    # the uid the image creates for its user, so files and the manifest agree
    dockerfile = (MODULE / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(rf"(--uid\s+{uid}\b|^USER\s+{uid}\b)", dockerfile, re.M), uid
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False


def test_the_only_writable_path_is_an_empty_dir(objs, container):
    volumes = {v["name"]: v for v in objs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    for mount in container.get("volumeMounts", []):
        assert "emptyDir" in volumes[mount["name"]], mount


def test_autoscaler_scales_this_deployment_on_cpu(objs, container):
    hpa = objs["HorizontalPodAutoscaler"]["spec"]
    dep = objs["Deployment"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": dep["apiVersion"],
        "kind": "Deployment",
        "name": dep["metadata"]["name"],
    }
    assert 1 <= hpa["minReplicas"] <= dep["spec"]["replicas"] <= hpa["maxReplicas"]
    (metric,) = hpa["metrics"]
    # a utilisation target is a share of the CPU request: without one the HPA cannot act
    assert metric["resource"]["name"] == "cpu" and "cpu" in container["resources"]["requests"]


def test_rollout_keeps_capacity_and_shuts_down_in_time(objs, container):
    spec = objs["Deployment"]["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    grace = spec["template"]["spec"]["terminationGracePeriodSeconds"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    dockerfile = (MODULE / "Dockerfile").read_text(encoding="utf-8")
    shutdown = int(re.search(r"--timeout-graceful-shutdown (\d+)", dockerfile).group(1))
    assert int(pre_stop[1]) + shutdown < grace


def quantity(text: str) -> float:
    """A Kubernetes quantity (``250m``, ``1``, ``96Mi``, ``1G``) as a number."""
    units = {"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]*)", str(text))
    assert m and m.group(2) in units, text
    return float(m.group(1)) * units[m.group(2)]


def test_quantity_parses_what_kubernetes_means():
    assert quantity("250m") == 0.25
    assert quantity("1") == 1
    assert quantity("96Mi") == 96 * 1024 * 1024
    assert quantity("1G") == 1e9
