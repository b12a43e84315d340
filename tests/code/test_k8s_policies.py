"""05-deployment/k8s: who may reach the pods, how many may go at once, where they run, and
what the ingress bounds (issue 18, #3). Schema validation of these objects is
test_k8s_manifests.py's; this file checks what they mean for this service.
"""

from __future__ import annotations

import ast
import operator

import pytest
import yaml
from test_k8s_manifests import K8S, quantity, resources, validate

from zoomcamp import paths

LIMITS = (paths.module_dir("05-deployment") / "limits.py").read_text(encoding="utf-8")
NGINX = "nginx.ingress.kubernetes.io/"


@pytest.fixture(scope="module")
def objs() -> dict[str, dict]:
    return resources()


def constant(source: str, name: str) -> int:
    """The value of ``NAME = a * b`` (integers and products only) in a module's source."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [name]:
            return _product(node.value)
    raise AssertionError(f"no {name} in the source")


def _product(node: ast.expr) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    assert isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult), ast.dump(node)
    return operator.mul(_product(node.left), _product(node.right))


def pod_labels(objs) -> dict:
    return objs["Deployment"]["spec"]["template"]["metadata"]["labels"]


def test_network_policy_admits_only_the_ingress_namespace_on_the_http_port(objs):
    spec = objs["NetworkPolicy"]["spec"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels(objs).items()
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    (rule,) = spec["ingress"]
    (source,) = rule["from"]
    # a namespace picked by the label Kubernetes sets itself, not by a pod label
    assert source == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    }
    (container,) = objs["Deployment"]["spec"]["template"]["spec"]["containers"]
    (port,) = container["ports"]
    assert rule["ports"] == [{"protocol": "TCP", "port": port["name"]}]
    # the service calls nothing: Egress listed with no rule denies every egress
    assert spec["egress"] == []


def test_disruption_budget_keeps_one_of_the_replicas(objs):
    spec = objs["PodDisruptionBudget"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels(objs).items()
    # fewer than the replicas, or no drain could ever evict a pod
    assert 1 <= spec["minAvailable"] < objs["Deployment"]["spec"]["replicas"]


def test_pods_spread_over_nodes_and_zones_without_blocking_a_one_node_cluster(objs):
    spread = objs["Deployment"]["spec"]["template"]["spec"]["topologySpreadConstraints"]
    keys = {c["topologyKey"] for c in spread}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for c in spread:
        assert c["whenUnsatisfiable"] == "ScheduleAnyway" and c["maxSkew"] == 1
        assert c["labelSelector"]["matchLabels"].items() <= pod_labels(objs).items()


def test_ingress_routes_to_the_service_through_nginx(objs):
    spec = objs["Ingress"]["spec"]
    assert spec["ingressClassName"] == "nginx"
    (rule,) = spec["rules"]
    (path,) = rule["http"]["paths"]
    svc = objs["Service"]
    (svc_port,) = svc["spec"]["ports"]
    assert path["backend"]["service"] == {
        "name": svc["metadata"]["name"],
        "port": {"name": svc_port["name"]},
    }


def test_ingress_body_limit_matches_the_service_largest_body(objs):
    notes = objs["Ingress"]["metadata"]["annotations"]
    largest = constant(LIMITS, "MAX_BATCH_BYTES")  # the app's largest body: a batch
    body = quantity(notes[NGINX + "proxy-body-size"].replace("m", "Mi").replace("k", "Ki"))
    assert body == largest
    for key in ("proxy-connect-timeout", "proxy-send-timeout", "proxy-read-timeout"):
        assert 1 <= int(notes[NGINX + key]) <= 30, key
    assert int(notes[NGINX + "limit-connections"]) >= 1
    assert int(notes[NGINX + "limit-rps"]) >= 1


def test_controller_configmap_bounds_request_heads():
    path = K8S / "ingress-nginx" / "configmap.yaml"
    (cm,) = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert validate(path)["errors"] == []
    data = cm["data"]
    assert all(isinstance(v, str) for v in data.values())  # a ConfigMap holds strings only
    assert quantity(data["client-header-buffer-size"].replace("k", "Ki")) <= 8 * 1024
    count, size = data["large-client-header-buffers"].split()
    assert int(count) * quantity(size.replace("k", "Ki")) <= 64 * 1024
    assert int(data["client-header-timeout"]) <= 30
    assert int(data["client-body-timeout"]) <= 30
