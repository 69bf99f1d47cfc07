"""NetworkPolicy enforced on a real node (start --real --with-network-policy: kube-router's
firewall): a pod without the allowed labels cannot open a connection to the backend (measured:
timed out or refused), the frontend can, and default-deny egress holds for the backend.

A cluster of its own: with the enforcer on, new pods and new endpoints are reachable only once
kube-router has programmed them (see README.md: the rolling update and `helm test` race it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from cluster_support import Kube
from k8s_support import find_tool
from real_release import (
    BACKEND,
    CONNECT_SCRIPT,
    NAMESPACE,
    Release,
    build_images,
    connect_results,
    install_release,
    probe_pod,
)
from real_support import RealCluster, start_real, stop_real

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def enforced(real: RealCluster) -> Iterator[RealCluster]:
    """A second real cluster, with kube-router (`real` only ensures the node is built)."""
    name = f"np-{uuid.uuid4().hex[:6]}"
    values = start_real(name, "--with-network-policy")
    try:
        yield RealCluster(name, Kube(values["KUBECONFIG"], find_tool("kubectl"), find_tool("helm")),
                          values["REGISTRY"], values["REGISTRY_DOCKER_CONFIG"])
    finally:
        stop_real(name)


@pytest.fixture(scope="module")
def release(enforced: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Release:
    return install_release(enforced, build_images(enforced, tmp_path_factory.mktemp("source")))


def test_network_policies_are_enforced(release: Release) -> None:
    kube = release.kube
    (backend,) = release.pods("backend")[:1]
    backend_ip = backend["status"]["podIP"]
    frontend_ip = release.pods("frontend")[0]["status"]["podIP"]
    redis_ip = kube.get("pods", "-n", "data", "-l", "app.kubernetes.io/name=redis")["items"][0]["status"]["podIP"]
    # A pod without the allowed labels, in the release's namespace: no connection to the backend.
    intruder = connect_results(kube, "np-intruder", probe_pod(
        "np-intruder", release.refs["backend"], {"app.kubernetes.io/name": "intruder"},
        [f"{backend_ip}:8000", f"{BACKEND}:8000"]))
    blocked = {"TimeoutError", "ConnectionRefusedError"}
    assert set(intruder) == {f"{backend_ip}:8000", f"{BACKEND}:8000"} and set(intruder.values()) <= blocked, intruder
    # The frontend may open a connection to the backend (what its readiness does).
    frontend = release.pods("frontend")[0]["metadata"]["name"]
    out = kube.ok("kubectl", "-n", NAMESPACE, "exec", frontend, "--", "node", "-e",
                  f"fetch('http://{backend_ip}:8000/healthz').then(async r => console.log(r.status, await r.text()))")
    assert out.strip() == '200 {"status":"ok"}', out
    # Default-deny egress: the backend reaches Redis, but not the frontend (not in its egress rules).
    name = backend["metadata"]["name"]
    egress = kube.ok("kubectl", "-n", NAMESPACE, "exec", name, "--", "python", "-c", CONNECT_SCRIPT,
                     f"{redis_ip}:6379", f"{frontend_ip}:3000")
    results = {line.split()[0]: line.split()[1] for line in egress.splitlines() if line.strip()}
    assert results[f"{redis_ip}:6379"] == "connected" and results[f"{frontend_ip}:3000"] in blocked, results


