"""The chart on a real node (scripts/k8s-cluster.sh start --real): the containers run.

What kwok cannot show and these tests do: the kubelet runs the probes (an image that is never
ready stays NotReady and the deploy fails), `helm test` runs its hook commands (a broken
dependency makes it fail), Services route and resolve by DNS, state is shared between the
backend replicas (Redis on a PersistentVolume, append-only file; the search index in a
single-node Elasticsearch on a PersistentVolume, image built here), a rolling update under
load loses no request, the PodDisruptionBudget refuses an eviction, and the pods run under
the restricted Pod Security profile (non-root, read-only root filesystem).

The images are the repository's own runtime images, built with Docker from dockerfiles/ (on
the local base images of scripts/build-base-images.sh), pushed to the cluster's registry and
deployed by digest. All traffic stays on loopback (kubectl port-forward) or inside the
cluster's network namespaces; every check reads the response body.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from cluster_real_release import (
    BACKEND,
    ELASTICSEARCH,
    FRONTEND,
    NAMESPACE,
    RELEASE,
    Release,
    build_images,
    install_release,
    load_pod,
    ready,
)
from cluster_real_support import RealCluster, http, pod_logs, port_forward, upload, wait_for_body
from cluster_support import Kube

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def images(real: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_images(real, tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="module")
def release(real: RealCluster, images: dict[str, str]) -> Release:
    return install_release(real, images)


def test_pods_run_and_are_ready_because_the_kubelet_probed_them(release: Release) -> None:
    for app in ("backend", "frontend"):
        pods = release.pods(app)
        assert pods and all(ready(p) for p in pods), [p["status"] for p in pods]
        for pod in pods:
            (status,) = pod["status"]["containerStatuses"]
            assert status["started"] and status["ready"] and "running" in status["state"]
            assert status["imageID"].endswith(release.refs[app].split("@")[1]), status["imageID"]
    backend = release.pods("backend")
    assert len(backend) == 2
    # Readiness came from the probe, after the container had started.
    for pod in backend:
        started = pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
        ready_at = next(c["lastTransitionTime"] for c in pod["status"]["conditions"] if c["type"] == "Ready")
        assert ready_at > started, (started, ready_at)


def test_services_route_and_resolve_by_name(release: Release) -> None:
    kube = release.kube
    with port_forward(kube, NAMESPACE, f"svc/{BACKEND}", 8000) as url:
        body = json.loads(wait_for_body(f"{url}/readyz", '"ready"'))
        # Metadata in Redis, the search index in Elasticsearch: both shared by the replicas.
        assert body == {"status": "ready", "checks": {"redis": "ok", "elasticsearch": "ok"}}, body
    with port_forward(kube, NAMESPACE, f"svc/{FRONTEND}", 3000) as url:
        page = wait_for_body(f"{url}/", "<html")
        assert "</html>" in page
        # The frontend's readiness asks the backend by its Service DNS name (API_URL).
        ready_body = json.loads(wait_for_body(f"{url}/api/ready", '"ready"'))
        assert ready_body == {"status": "ready", "checks": {"backend": "ok"}}, ready_body
    frontend = release.pods("frontend")[0]["metadata"]["name"]
    out = kube.ok("kubectl", "-n", NAMESPACE, "exec", frontend, "--", "node", "-e",
                  "fetch(process.env.API_URL + '/healthz').then(async r => console.log(r.status, await r.text()))")
    assert out.strip() == '200 {"status":"ok"}', out
    # An address of the Service range that nobody serves gets no answer (no route out).
    probe = kube.run("kubectl", "-n", NAMESPACE, "exec", frontend, "--", "node", "-e",
                     "const s=require('net').connect(80, process.argv[1]);"
                     "s.setTimeout(3000,()=>{console.log('timeout');process.exit(0)});"
                     "s.on('connect',()=>{console.log('connected');process.exit(0)});"
                     "s.on('error',e=>{console.log(e.code);process.exit(0)})",
                     unserved_service_ip(kube))
    assert probe.stdout.strip() in {"timeout", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"}, probe


def unserved_service_ip(kube: Kube) -> str:
    cluster_ip = kube.get("service", "kubernetes", "-n", "default")["spec"]["clusterIP"]
    return ".".join(cluster_ip.split(".")[:2] + ["255", "254"])


def test_backend_replicas_share_state_through_redis(release: Release) -> None:
    first, second = (p["metadata"]["name"] for p in release.pods("backend"))
    email = f"real-{uuid.uuid4().hex[:8]}@example.com"
    account = {"email": email, "password": "correct horse battery staple", "full_name": "Real Node"}
    with port_forward(release.kube, NAMESPACE, f"pod/{first}", 8000) as url:
        status, body = http(f"{url}/api/v1/auth/register", data=account, timeout=30)
        assert status == 201, body
        assert json.loads(body)["email"] == email
    with port_forward(release.kube, NAMESPACE, f"pod/{second}", 8000) as url:
        status, body = http(f"{url}/api/v1/auth/login", timeout=30,
                            data={"email": email, "password": account["password"]})
        assert status == 200, body
        assert json.loads(body)["access_token"]


def test_redis_keeps_its_data_on_the_persistent_volume(release: Release) -> None:
    kube = release.kube
    key = f"real-node-{uuid.uuid4().hex[:8]}"
    kube.ok("kubectl", "-n", "data", "exec", "deploy/redis-master", "--", "redis-cli", "set", key, "kept")
    old = kube.get("pods", "-n", "data", "-l", "app.kubernetes.io/name=redis")["items"][0]["metadata"]["name"]
    kube.ok("kubectl", "-n", "data", "delete", "pod", old, "--wait=true")
    kube.ok("kubectl", "-n", "data", "rollout", "status", "deployment/redis-master", "--timeout=120s")
    kube.wait_until(lambda: kube.run("kubectl", "-n", "data", "exec", "deploy/redis-master", "--",
                                     "redis-cli", "get", key).stdout.strip() == "kept",
                    timeout=60, what="the key to be read back from the append-only file")
    pvc = kube.get("pvc", "redis-data", "-n", "data")
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["volumeName"].startswith("hostpath-pv")
    # Both backend replicas reconnect to the new Redis pod and are ready again (each asked
    # directly: the Service would show only one of them).
    for pod in release.pods("backend"):
        with port_forward(kube, NAMESPACE, f"pod/{pod['metadata']['name']}", 8000) as url:
            wait_for_body(f"{url}/readyz", '"ready"', timeout=90)
        kube.wait_until(lambda name=pod["metadata"]["name"]: ready(kube.get("pod", name, "-n", NAMESPACE)),
                        timeout=60, what=f"backend pod {pod['metadata']['name']} to be Ready again")


PASSWORD = "correct horse battery staple"


def sign_in(url: str) -> dict[str, str]:
    """A new account through the backend at `url`; the Authorization header of its access token."""
    email = f"search-{uuid.uuid4().hex[:8]}@example.com"
    status, body = http(f"{url}/api/v1/auth/register", timeout=30,
                        data={"email": email, "password": PASSWORD, "full_name": "Search Test"})
    assert status == 201, body
    status, body = http(f"{url}/api/v1/auth/login", data={"email": email, "password": PASSWORD}, timeout=30)
    assert status == 200, body
    return {"Authorization": f"Bearer {json.loads(body)['access_token']}"}


def search(url: str, auth: dict[str, str], query: str) -> list[dict]:
    status, body = http(f"{url}/api/v1/documents/search", data={"query": query, "k": 5}, headers=auth, timeout=30)
    assert status == 200, body
    return json.loads(body)["results"]


def es_count(kube: Kube, word: str) -> int:
    """Chunks holding `word` in the backend's index, asked of Elasticsearch itself."""
    with port_forward(kube, "data", "svc/blog-es-es-http", 9200) as url:
        status, body = http(f"{url}/blog-chunks/_count?q=text:{word}")
    assert status == 200, body
    return json.loads(body)["count"]


@pytest.fixture(scope="module")
def indexed(release: Release) -> dict:
    """A document uploaded through backend replica 1 (its pod, not the Service)."""
    assert release.elasticsearch, "the release runs without Elasticsearch"
    first, second = sorted(p["metadata"]["name"] for p in release.pods("backend"))
    word = f"quokka{uuid.uuid4().hex[:8]}"
    try:
        with port_forward(release.kube, NAMESPACE, f"pod/{first}", 8000) as url:
            auth = sign_in(url)
            text = f"# Field notes\n\nThe {word} crossed the real node's pod network at noon.\n"
            status, body = upload(f"{url}/api/v1/documents", "field-notes.md", text.encode(), headers=auth)
            assert status == 201, body
    except (AssertionError, OSError) as error:
        logs = pod_logs(release.kube, NAMESPACE, first)[-3000:]
        raise AssertionError(f"upload through {first} failed: {error}\nits log ends:\n{logs}") from error
    return {"auth": auth, "word": word, "document": json.loads(body)["id"], "pods": (first, second)}


def test_backend_replicas_share_the_search_index_through_elasticsearch(release: Release, indexed: dict) -> None:
    _, second = indexed["pods"]
    with port_forward(release.kube, NAMESPACE, f"pod/{second}", 8000) as url:
        hits = search(url, indexed["auth"], indexed["word"])
        assert [h["document_id"] for h in hits] == [indexed["document"]], hits
        assert indexed["word"] in hits[0]["snippet"] and hits[0]["filename"] == "field-notes.md", hits
        # A word nobody uploaded finds nothing: the hit above is the query's, not any document.
        assert search(url, indexed["auth"], f"wombat{uuid.uuid4().hex[:8]}") == []
    # The chunk lives in Elasticsearch (not in a pod's SQLite file).
    assert es_count(release.kube, indexed["word"]) == 1


def test_elasticsearch_keeps_the_index_on_its_persistent_volume_across_a_restart(release: Release, indexed: dict) -> None:
    kube = release.kube
    pod = f"{ELASTICSEARCH}-0"
    uid_before = kube.get("pod", pod, "-n", "data")["metadata"]["uid"]
    kube.ok("kubectl", "-n", "data", "delete", "pod", pod, "--wait=true", timeout=120)
    kube.ok("kubectl", "-n", "data", "rollout", "status", f"statefulset/{ELASTICSEARCH}", "--timeout=240s", timeout=260)
    kube.wait_until(lambda: ready(kube.get("pod", pod, "-n", "data")), timeout=180, what="Elasticsearch to be ready again")
    assert kube.get("pod", pod, "-n", "data")["metadata"]["uid"] != uid_before
    pvc = kube.get("pvc", f"elasticsearch-data-{pod}", "-n", "data")
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["volumeName"].startswith("hostpath-pv")
    assert es_count(kube, indexed["word"]) == 1
    # Restricted profile of `data`: non-root, read-only root filesystem, data only on the volume.
    assert kube.ok("kubectl", "-n", "data", "exec", pod, "--", "id", "-u").strip() == "1000"
    write = kube.run("kubectl", "-n", "data", "exec", pod, "--", "touch", "/usr/share/elasticsearch/x")
    assert write.returncode != 0 and "Read-only file system" in write.stderr, write.stderr
    # Both backend replicas are ready again and search the index the new pod recovered.
    with port_forward(kube, NAMESPACE, f"svc/{BACKEND}", 8000) as url:
        body = json.loads(wait_for_body(f"{url}/readyz", '"ready"', timeout=120))
        assert body["checks"] == {"redis": "ok", "elasticsearch": "ok"}, body
    for name in indexed["pods"]:
        with port_forward(kube, NAMESPACE, f"pod/{name}", 8000) as url:
            hits = search(url, indexed["auth"], indexed["word"])
            assert [h["document_id"] for h in hits] == [indexed["document"]], (name, hits)


def test_restricted_pod_security_is_enforced_and_the_pods_still_run(release: Release) -> None:
    kube = release.kube
    labels = kube.get("namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    privileged = kube.run("kubectl", "-n", NAMESPACE, "run", "privileged", "--restart=Never",
                          f"--image={release.refs['backend']}",
                          "--overrides", json.dumps({"spec": {"containers": [{
                              "name": "privileged", "image": release.refs["backend"],
                              "securityContext": {"privileged": True}}]}}))
    assert privileged.returncode != 0 and "violates PodSecurity" in privileged.stderr, privileged.stderr
    backend = release.pods("backend")[0]["metadata"]["name"]
    uid = kube.ok("kubectl", "-n", NAMESPACE, "exec", backend, "--", "id", "-u").strip()
    assert uid == "10001"
    write = kube.run("kubectl", "-n", NAMESPACE, "exec", backend, "--", "python", "-c",
                     "open('/app-written-by-test', 'w')")
    assert write.returncode != 0 and "Read-only file system" in write.stderr, write.stderr
    tmp = kube.ok("kubectl", "-n", NAMESPACE, "exec", backend, "--", "python", "-c",
                  "open('/tmp/ok', 'w').write('x'); print('tmp writable')")
    assert tmp.strip() == "tmp writable"


def test_rolling_update_under_load_loses_no_request_and_the_pdb_refuses_an_eviction(release: Release) -> None:
    kube = release.kube
    before = {p["metadata"]["name"] for p in release.pods("backend")}
    url = f"http://{BACKEND}:8000/healthz"
    kube.ok("kubectl", "-n", NAMESPACE, "apply", "-f", "-",
            stdin=json.dumps(load_pod("load-rollout", release.refs["backend"], url, 75, 20000)))
    kube.wait_until(lambda: "load started" in kube.run("kubectl", "-n", NAMESPACE, "logs", "load-rollout").stdout,
                    timeout=60, what="the load pod to start")
    time.sleep(3)
    started = time.monotonic()
    kube.ok("helm", *release.helm_args("--set", f"backend.podAnnotations.rollout={uuid.uuid4().hex[:8]}",
                                       "--wait", "--timeout", "180s"), timeout=240)
    rollout_seconds = time.monotonic() - started
    after = {p["metadata"]["name"] for p in release.pods("backend")}
    assert before.isdisjoint(after) and len(after) == 2, (before, after)
    kube.wait_until(lambda: {p["metadata"]["name"] for p in release.pods("backend", terminating=True)} == after,
                    timeout=90, what="the old replicas to finish draining")
    kube.wait_until(lambda: kube.get("pod", "load-rollout", "-n", NAMESPACE)["status"]["phase"] == "Succeeded",
                    timeout=150, what="the load pod to finish")
    result = json.loads(kube.ok("kubectl", "-n", NAMESPACE, "logs", "load-rollout").strip().splitlines()[-1])
    print(f"rolling update took {rollout_seconds:.1f}s under load: {result}")
    assert result["failed"] == 0, result
    assert result["ok"] > 200, result
    assert rollout_seconds < 70, "the rollout must finish inside the load window"

    # PDB (maxUnavailable 1): the first eviction passes, the second would break the budget.
    first, second = sorted(after)
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"namespace": NAMESPACE}}
    path = f"/api/v1/namespaces/{NAMESPACE}/pods/{{}}/eviction"
    kube.ok("kubectl", "create", "--raw", path.format(first), "-f", "-",
            stdin=json.dumps({**eviction, "metadata": {**eviction["metadata"], "name": first}}))
    refused = kube.run("kubectl", "create", "--raw", path.format(second), "-f", "-",
                       stdin=json.dumps({**eviction, "metadata": {**eviction["metadata"], "name": second}}))
    assert refused.returncode != 0 and "disruption budget" in refused.stderr, refused.stderr
    kube.wait_until(lambda: len([p for p in release.pods("backend") if ready(p)]) == 2,
                    timeout=120, what="the evicted replica to be replaced")
    kube.ok("kubectl", "-n", NAMESPACE, "delete", "pod", "load-rollout", "--wait=false")


def test_helm_test_runs_the_hook_commands_and_a_broken_dependency_fails_it(release: Release) -> None:
    kube = release.kube
    passed = kube.run("helm", "test", RELEASE, "-n", NAMESPACE, "--logs", "--timeout", "180s", timeout=240)
    assert passed.returncode == 0, passed.stderr + passed.stdout
    assert f"http://{BACKEND}:8000/readyz 200" in passed.stdout, passed.stdout
    assert f"http://{FRONTEND}:3000/ 200" in passed.stdout, passed.stdout
    # Redis gone: the backend is not ready, its Service has no endpoint, the hook's request fails.
    kube.ok("kubectl", "-n", "data", "scale", "deployment/redis-master", "--replicas=0")
    try:
        kube.wait_until(lambda: not any(ready(p) for p in release.pods("backend")), timeout=90,
                        what="the backend to report not ready without Redis")
        failed = kube.run("helm", "test", RELEASE, "-n", NAMESPACE, "--logs", "--timeout", "120s", timeout=180)
        assert failed.returncode != 0, failed.stdout
        hook = kube.run("kubectl", "-n", NAMESPACE, "logs", f"{RELEASE}-test-backend-ready").stdout
        # The hook's own command ran (its log names the URL it asked) and failed: no endpoint.
        assert f"http://{BACKEND}:8000/readyz" in hook and any(
            reason in hook for reason in ("No route to host", "Connection refused", "503", "timed out")
        ), hook
    finally:
        kube.ok("kubectl", "-n", "data", "scale", "deployment/redis-master", "--replicas=1")
    kube.ok("kubectl", "-n", "data", "rollout", "status", "deployment/redis-master", "--timeout=120s")
    kube.wait_until(lambda: all(ready(p) for p in release.pods("backend")), timeout=120,
                    what="the backend to be ready again")


def test_an_image_that_never_gets_ready_fails_the_deploy_and_rollback_restores(release: Release) -> None:
    kube = release.kube
    revision = json.loads(kube.ok("helm", "status", RELEASE, "-n", NAMESPACE, "-o", "json"))["version"]
    failed = kube.run("helm", *release.helm_args("--wait", "--timeout", "60s", backend="never-ready"), timeout=120)
    assert failed.returncode != 0, failed.stdout
    new = [p for p in release.pods("backend") if p["spec"]["containers"][0]["image"] == release.refs["never-ready"]]
    assert new, "the never-ready pods were not created"
    for pod in new:
        (status,) = pod["status"]["containerStatuses"]
        assert "running" in status["state"] and not status["ready"], status
    events = kube.ok("kubectl", "-n", NAMESPACE, "get", "events", "--field-selector",
                     f"involvedObject.name={new[0]['metadata']['name']}", "-o", "json")
    messages = [e["message"] for e in json.loads(events)["items"]]
    assert any("Readiness probe failed" in m and "503" in m for m in messages), messages
    # maxUnavailable 0: the old replicas kept serving during the failed rollout.
    old = [p for p in release.pods("backend") if p["spec"]["containers"][0]["image"] == release.refs["backend"]]
    assert len(old) == 2 and all(ready(p) for p in old)
    kube.ok("helm", "rollback", RELEASE, str(revision), "-n", NAMESPACE, "--wait", "--timeout", "180s", timeout=240)
    kube.wait_until(lambda: {p["spec"]["containers"][0]["image"] for p in release.pods("backend")}
                    == {release.refs["backend"]} and all(ready(p) for p in release.pods("backend")),
                    timeout=120, what="only ready pods of the previous image after the rollback")


def test_hpa_scales_the_backend_out_under_load_and_back_in(release: Release) -> None:
    kube = release.kube
    kube.wait_until(lambda: kube.run("kubectl", "top", "pods", "-n", NAMESPACE).returncode == 0,
                    timeout=180, what="metrics-server to serve pod metrics")
    autoscaling = {"enabled": "true", "minReplicas": "2", "maxReplicas": "3", "targetCPUUtilizationPercentage": "50",
                   "targetMemoryUtilizationPercentage": "100", "scaleDownStabilizationSeconds": "15"}
    sets = [arg for key, value in autoscaling.items() for arg in ("--set", f"backend.autoscaling.{key}={value}")]
    kube.ok("helm", *release.helm_args(*sets, "--wait", "--timeout", "180s"), timeout=240)
    hpa = f"{BACKEND}"

    def hpa_status() -> dict:
        return kube.get("hpa", hpa, "-n", NAMESPACE)["status"]

    kube.wait_until(lambda: hpa_status().get("currentMetrics") and hpa_status().get("desiredReplicas") == 2,
                    timeout=120, what="the HPA to read CPU metrics at 2 replicas")
    # Bounded load through the Service: 4 threads, at most 100 s or 40000 requests.
    kube.ok("kubectl", "-n", NAMESPACE, "apply", "-f", "-", stdin=json.dumps(
        load_pod("load-hpa", release.refs["backend"], f"http://{BACKEND}:8000/readyz", 100, 40000, threads=4)))
    kube.wait_until(lambda: hpa_status().get("desiredReplicas", 0) >= 3, timeout=150,
                    what="the HPA to scale the backend above its minimum under load")
    kube.wait_until(lambda: len([p for p in release.pods("backend") if ready(p)]) == 3, timeout=120,
                    what="the third backend replica to become ready")
    kube.wait_until(lambda: kube.get("pod", "load-hpa", "-n", NAMESPACE)["status"]["phase"] in {"Succeeded", "Failed"},
                    timeout=180, what="the load pod to stop by itself")
    result = json.loads(kube.ok("kubectl", "-n", NAMESPACE, "logs", "load-hpa").strip().splitlines()[-1])
    assert result["ok"] > 500, result
    kube.wait_until(lambda: hpa_status().get("desiredReplicas") == 2
                    and len(release.pods("backend", terminating=True)) == 2,
                    timeout=240, what="the HPA to scale the backend back to its minimum after the load")
    kube.ok("kubectl", "-n", NAMESPACE, "delete", "pod", "load-hpa", "--wait=false")


def test_prometheus_operator_scrapes_the_backend_and_loads_the_chart_rules(release: Release, real: RealCluster) -> None:
    if not real.prometheus:
        pytest.skip("Prometheus Operator not built: scripts/k8s-cluster.sh build --real --with-prometheus")
    kube = release.kube
    rule_groups = {g["name"] for r in kube.get("prometheusrules", "-n", NAMESPACE)["items"] for g in r["spec"]["groups"]}
    assert rule_groups, "the chart rendered no PrometheusRule"
    with port_forward(kube, "monitoring", "svc/kube-prometheus-stack-prometheus", 9090) as url:
        def backend_targets_up() -> bool:
            status, body = http(f"{url}/api/v1/query?query=up%7Bjob%3D%22{BACKEND}%22%7D")
            results = json.loads(body)["data"]["result"] if status == 200 else []
            return len(results) == 2 and all(r["value"][1] == "1" for r in results)

        kube.wait_until(backend_targets_up, timeout=120,
                        what=f"Prometheus to scrape both backend pods as job={BACKEND} (ServiceMonitor)")
        status, body = http(f"{url}/api/v1/rules")
        loaded = {g["name"] for g in json.loads(body)["data"]["groups"]}
        assert status == 200 and rule_groups <= loaded, (rule_groups, loaded)
        status, body = http(f"{url}/api/v1/status/buildinfo")
        assert json.loads(body)["data"]["version"].startswith("3.7"), body
