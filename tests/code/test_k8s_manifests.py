"""05-deployment/k8s: the manifests validate offline and agree with each other and the image.

Schemas come from kubernetes-validate (installed with the dev group, no network): every
Kubernetes minor release it ships schemas for, in strict mode, so a misspelt or misplaced
field fails as it would in ``kubectl apply --validate=strict``. The schema cannot see that
a selector misses its pods, a probe hits the wrong port or the HPA scales another
Deployment: those are checked here. No cluster runs; the container test
(tests/services/test_k8s_container.py) runs the image with the Deployment's settings.
"""

from __future__ import annotations

import copy
import re

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions, resources_from_file

from zoomcamp import paths

MODULE = paths.module_dir("05-deployment")
K8S = MODULE / "k8s"
VERSIONS = sorted(
    {".".join(v.split(".")[:2]) for v in all_versions()},
    key=lambda v: tuple(map(int, v.split("."))),
)


def resources() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for res in resources_from_file(str(path)):
            assert res["kind"] not in found, f"two {res['kind']} objects"
            found[res["kind"]] = res
    return found


@pytest.fixture(scope="module")
def objs() -> dict[str, dict]:
    return resources()


@pytest.fixture(scope="module")
def container(objs) -> dict:
    (c,) = objs["Deployment"]["spec"]["template"]["spec"]["containers"]
    return c


def test_the_three_objects_are_there(objs):
    assert set(objs) == {"Deployment", "Service", "HorizontalPodAutoscaler"}


def test_schemas_of_several_releases_are_installed():
    # a parametrisation over no version would skip silently instead of validating
    assert len(VERSIONS) >= 5, VERSIONS


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_strictly(objs, version):
    for obj in objs.values():
        kubernetes_validate.validate(obj, version, strict=True)


def test_strict_validation_catches_a_misspelt_field(objs):
    bad = copy.deepcopy(objs["Deployment"])
    c = bad["spec"]["template"]["spec"]["containers"][0]
    c["readynessProbe"] = c.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readynessProbe"):
        kubernetes_validate.validate(bad, VERSIONS[-1], strict=True)


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
