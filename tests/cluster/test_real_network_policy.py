"""NetworkPolicy enforced on a real node (start --real --with-network-policy: kube-router's
firewall): a pod without the allowed labels cannot open a connection to the backend (measured:
timed out or refused), the frontend can, default-deny egress holds for the backend, and a
rolling update under continuous load through the Service loses no request.

A cluster of its own: with the enforcer on, a new pod is reachable, and may reach others, only
once kube-router has put its address into the policies' ipsets (a full sync after the pod got
its IP). Measured here: a client pod's first requests, in the ~0.3 s before that sync, are
refused by the backend's ingress rule (README.md); the rollout itself loses nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
from cluster_real_release import (
    BACKEND,
    CONNECT_SCRIPT,
    NAMESPACE,
    Release,
    build_images,
    connect_results,
    install_release,
    load_pod,
    probe_pod,
    ready,
)
from cluster_real_support import RealCluster, real_missing, start_real, stop_real
from cluster_support import Kube, skip_or_fail
from k8s_support import find_tool

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def enforced() -> Iterator[RealCluster]:
    """A real cluster of its own, with kube-router (not the session's `real`: no second cluster)."""
    missing = real_missing()
    if missing:
        skip_or_fail(f"no real node built ({missing}): run `scripts/k8s-cluster.sh build --real` as root")
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




# The load client is itself a new pod, refused until kube-router has programmed it: it warms up
# first (cluster_real_release.LOAD_SCRIPT), bounded by WARMUP_SECONDS.
WARMUP_SECONDS = 30


def test_rolling_update_under_load_with_enforcement_loses_no_request(release: Release) -> None:
    kube = release.kube
    before = {p["metadata"]["name"] for p in release.pods("backend")}
    pod = load_pod("np-load", release.refs["backend"], f"http://{BACKEND}:8000/healthz", 90, 30000, threads=2,
                   warmup_seconds=WARMUP_SECONDS)
    kube.ok("kubectl", "-n", NAMESPACE, "apply", "-f", "-", stdin=json.dumps(pod))

    def log() -> str:
        return kube.run("kubectl", "-n", NAMESPACE, "logs", "np-load").stdout

    kube.wait_until(lambda: "load started" in log() or "warmup_failed" in log(), timeout=90,
                    what="the load pod to get its first answer")
    warm = json.loads(log().splitlines()[0])
    assert "warmup_failed" not in warm, f"the load pod never reached the backend: {warm}"
    print(f"load pod: {warm['warmup_refused']} requests refused in its first {warm['warmup_seconds']}s "
          "(before kube-router's sync programmed it), then counting")
    time.sleep(3)
    rollout_started = time.time()
    kube.ok("helm", *release.helm_args("--set", f"backend.podAnnotations.rollout={uuid.uuid4().hex[:8]}",
                                       "--wait", "--timeout", "180s"), timeout=240)
    rollout_seconds = time.time() - rollout_started
    after = {p["metadata"]["name"] for p in release.pods("backend")}
    assert before.isdisjoint(after) and len(after) == 2 and all(ready(p) for p in release.pods("backend"))
    kube.wait_until(lambda: {p["metadata"]["name"] for p in release.pods("backend", terminating=True)} == after,
                    timeout=90, what="the old replicas to finish draining and go")
    drained = time.time()
    kube.wait_until(lambda: kube.get("pod", "np-load", "-n", NAMESPACE)["status"]["phase"] in {"Succeeded", "Failed"},
                    timeout=150, what="the load pod to finish")
    result = json.loads(log().strip().splitlines()[-1])
    kube.ok("kubectl", "-n", NAMESPACE, "delete", "pod", "np-load", "--wait=false")
    print(f"rolling update took {rollout_seconds:.1f}s under load with enforcement: "
          f"{result['ok']} ok, {result['failed']} failed")
    # The counted load covered the whole rollout, from the first new pod to the old ones' removal.
    assert result["started"] < rollout_started and result["ended"] > drained, (result, rollout_started, drained)
    failures = [[round(at - rollout_started, 2), error] for at, error in result["failures"]]
    assert result["failed"] == 0, f"failed requests (seconds after the rollout started, error): {failures}"
    assert result["ok"] > 500, result
