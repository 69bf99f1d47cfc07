"""The chart installed on a real node: images built and pushed by digest, Redis and
Elasticsearch in `data`, the release, and the in-cluster load / connection probes the
real-node tests run (bounded, as pods).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cluster_real_support import DOCKER, RealCluster
from cluster_support import CHART, CRD_DIR, ENVIRONMENTS, REPO, Kube

HERE = Path(__file__).parent / "real"
RELEASE = "blog-creator"
NAMESPACE = "blog"
BACKEND = f"{RELEASE}-backend"
FRONTEND = f"{RELEASE}-frontend"
ELASTICSEARCH = "blog-es-es-default"  # StatefulSet in `data` (ECK's name for cluster blog-es)
BASE_IMAGES = {"PYTHON_IMAGE": "local/python:3.13-slim", "NODE_IMAGE": "local/node:22-slim"}
CA = "/etc/ssl/certs/ca-certificates.crt"


def docker_build(tag: str, dockerfile: Path, context: Path, *args: str) -> str:
    proc = subprocess.run(
        [DOCKER, "build", "-q", "-f", str(dockerfile), "-t", tag, *args, str(context)],
        capture_output=True, text=True, timeout=1800, check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert proc.returncode == 0, f"docker build {tag} failed:\n{proc.stderr[-3000:]}"
    return tag


def base_image(var: str) -> str:
    ref = os.environ.get(var) or BASE_IMAGES[var]
    if subprocess.run([DOCKER, "image", "inspect", ref], capture_output=True, check=False).returncode:
        raise AssertionError(f"base image {ref} missing: run scripts/build-base-images.sh")
    return ref


def source_tree(tmp: Path) -> Path:
    """The build context: the working tree, or with REAL_IMAGES_FROM=head the committed tree."""
    if os.environ.get("REAL_IMAGES_FROM", "worktree") != "head":
        return REPO
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return tmp


@cache
def elasticsearch_image() -> str:
    """The local Elasticsearch image (real/elasticsearch-image.sh): built once per content, so
    once per session at most; later calls (and sessions with the same inputs) reuse the tag."""
    started = time.monotonic()
    proc = subprocess.run([str(HERE / "elasticsearch-image.sh")], capture_output=True, text=True,
                          timeout=900, check=False)
    assert proc.returncode == 0, f"elasticsearch-image.sh failed:\n{proc.stderr[-3000:]}"
    tag = proc.stdout.strip().removeprefix("ELASTICSEARCH_IMAGE=")
    print(f"elasticsearch image {tag} ready in {time.monotonic() - started:.1f}s")
    return tag


def build_images(real: RealCluster, tmp: Path) -> dict[str, str]:
    """name -> registry/repo@sha256:... for backend, frontend, never-ready, redis, elasticsearch."""
    refs: dict[str, str] = {}
    tree = source_tree(tmp)
    for app, var in (("backend", "PYTHON_IMAGE"), ("frontend", "NODE_IMAGE")):
        tag = docker_build(
            f"blog-creator-real/{app}:runtime", tree / "dockerfiles" / f"{app}.Dockerfile", tree,
            "--target", "runtime", "--secret", f"id=ca,src={CA}", "--build-arg", f"{var}={base_image(var)}",
        )
        refs[app] = real.push(tag, f"blog-creator/{app}")
    never = docker_build("blog-creator-real/never-ready:test", HERE / "never-ready.Dockerfile", HERE,
                         "--build-arg", f"PYTHON_IMAGE={base_image('PYTHON_IMAGE')}")
    refs["never-ready"] = real.push(never, "blog-creator/never-ready")
    refs["redis"] = real.push(os.environ.get("REDIS_IMAGE", "local/redis:7"), "blog-creator/redis")
    refs["elasticsearch"] = real.push(elasticsearch_image(), "blog-creator/elasticsearch")
    return refs


def image_sets(refs: dict[str, str], backend: str = "backend") -> list[str]:
    sets = []
    for app, name in (("backend", backend), ("frontend", "frontend")):
        repository, digest = refs[name].split("@")
        sets += ["--set", f"image.{app}.repository={repository}", "--set", f"image.{app}.digest={digest}"]
    return sets


@dataclass(frozen=True)
class Release:
    kube: Kube
    refs: dict[str, str]
    # True: the search index is the in-cluster Elasticsearch (values-real-elasticsearch.yaml).
    elasticsearch: bool = False

    def helm_args(self, *extra: str, backend: str = "backend") -> list[str]:
        overlays = ["values-real.yaml", *(["values-real-elasticsearch.yaml"] if self.elasticsearch else [])]
        return [
            "upgrade", "--install", RELEASE, str(CHART), "-n", NAMESPACE,
            "-f", str(ENVIRONMENTS / "dev.yaml"), *(arg for o in overlays for arg in ("-f", str(HERE / o))),
            *image_sets(self.refs, backend), *extra,
        ]

    def pods(self, app: str, terminating: bool = False) -> list[dict]:
        items = self.kube.get("pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/component={app}")["items"]
        return [p for p in items if terminating or "deletionTimestamp" not in p["metadata"]]


def ready(pod: dict) -> bool:
    return pod["status"].get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
    )


def install_release(real: RealCluster, images: dict[str, str], elasticsearch: bool | None = None) -> Release:
    """Redis and (when `images` has it, or elasticsearch=True) Elasticsearch in `data`, then the
    chart (dev + values-real.yaml [+ values-real-elasticsearch.yaml]) by digest, helm --wait."""
    kube = real.kube
    with_es = "elasticsearch" in images if elasticsearch is None else elasticsearch
    kube.ok("kubectl", "apply", "--server-side", "-f", str(CRD_DIR), timeout=180)
    kube.ok("kubectl", "wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")
    for namespace in ("data", NAMESPACE):
        kube.restricted_namespace(namespace)
    redis = (HERE / "redis.yaml").read_text().replace("@REDIS_IMAGE@", images["redis"])
    kube.ok("kubectl", "apply", "-f", "-", stdin=redis)
    if with_es:  # starts while Redis does; the backend's readiness needs both
        es = (HERE / "elasticsearch.yaml").read_text().replace("@ELASTICSEARCH_IMAGE@", images["elasticsearch"])
        kube.ok("kubectl", "apply", "-f", "-", stdin=es)
    kube.ok("kubectl", "-n", "data", "rollout", "status", "deployment/redis-master", "--timeout=120s")
    if with_es:
        started = time.monotonic()
        kube.ok("kubectl", "-n", "data", "rollout", "status", f"statefulset/{ELASTICSEARCH}", "--timeout=240s",
                timeout=260)
        print(f"elasticsearch ready {time.monotonic() - started:.1f}s after Redis")
    kube.app_secret(NAMESPACE)
    rel = Release(kube, images, elasticsearch=with_es)
    started = time.monotonic()
    kube.ok("helm", *rel.helm_args("--wait", "--timeout", "300s"), timeout=360)
    print(f"first install (helm --wait) took {time.monotonic() - started:.1f}s")
    return rel


# The load client. With a warm-up (argv[5] > 0) it first waits, bounded, for its first good
# answer and reports how many requests were refused until then: a new pod's address reaches
# kube-router's NetworkPolicy ipsets ~0.3 s after the pod got it (measured), and until then
# the backend's ingress rule refuses it. Then it counts: the last line is
# {"ok", "failed", "failures" ([epoch, error], the first 20), "started", "ended"}.
LOAD_SCRIPT = r"""
import json, sys, threading, time, urllib.request
url, seconds, limit, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
warmup = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def get():
    try:
        with opener.open(url, timeout=5) as r:
            body = r.read()
        good = r.status == 200 and (b'"ok"' in body or b'"ready"' in body)
        return None if good else f"HTTP {r.status} {body[:80]!r}"
    except Exception as e:
        return repr(e)[:200]

born, refused = time.time(), []
while warmup > 0 and time.time() - born < warmup:
    error = get()
    if error is None:
        break
    refused.append([round(time.time() - born, 3), error])
    time.sleep(0.02)
else:
    if warmup > 0:
        print(json.dumps({"warmup_failed": refused[-5:]}), flush=True)
        sys.exit(1)
counts, failures, lock = {"ok": 0, "failed": 0}, [], threading.Lock()
started = time.time()
deadline = time.monotonic() + seconds

def worker():
    while time.monotonic() < deadline:
        with lock:
            if counts["ok"] + counts["failed"] >= limit:
                return
        at = time.time()
        error = get()
        with lock:
            counts["failed" if error else "ok"] += 1
            if error and len(failures) < 20:
                failures.append([round(at, 3), error])
        time.sleep(0.02)

print(json.dumps({"load started": started, "warmup_refused": len(refused), "warmup_seconds": round(started - born, 3)}), flush=True)
pool = [threading.Thread(target=worker) for _ in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
print(json.dumps({**counts, "failures": failures, "started": started, "ended": time.time()}), flush=True)
"""


def load_pod(name: str, image: str, url: str, seconds: int, limit: int, threads: int = 1,
             warmup_seconds: int = 0) -> dict:
    """A bounded load generator as a pod (restricted profile) running LOAD_SCRIPT: stops by itself."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        # The chart's NetworkPolicies let its test pods (component smoke-test) reach the apps.
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "blog-creator",
                                              "app.kubernetes.io/instance": RELEASE,
                                              "app.kubernetes.io/component": "smoke-test"}},
        "spec": {
            "restartPolicy": "Never", "automountServiceAccountToken": False,
            "activeDeadlineSeconds": warmup_seconds + seconds + 60,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "load", "image": image, "command": ["python", "-c", LOAD_SCRIPT, url, str(seconds), str(limit), str(threads), str(warmup_seconds)],
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }


CONNECT_SCRIPT = r"""
import socket, sys, time
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    started = time.monotonic()
    try:
        socket.create_connection((host, int(port)), timeout=4).close()
        outcome = "connected"
    except OSError as e:
        outcome = type(e).__name__
    print(f"{target} {outcome} {time.monotonic() - started:.1f}s", flush=True)
"""


def probe_pod(name: str, image: str, labels: dict[str, str], targets: list[str]) -> dict:
    """A pod (restricted profile) that tries a TCP connection to each target once and exits."""
    pod = load_pod(name, image, "", 0, 0)
    pod["metadata"]["labels"] = labels
    pod["spec"]["containers"][0]["command"] = ["python", "-c", CONNECT_SCRIPT, *targets]
    return pod


def connect_results(kube: Kube, name: str, pod: dict) -> dict[str, str]:
    kube.ok("kubectl", "-n", NAMESPACE, "apply", "-f", "-", stdin=json.dumps(pod))
    kube.wait_until(lambda: kube.get("pod", name, "-n", NAMESPACE)["status"]["phase"] in {"Succeeded", "Failed"},
                    timeout=90, what=f"{name} to finish")
    lines = kube.ok("kubectl", "-n", NAMESPACE, "logs", name).split("\n")
    kube.ok("kubectl", "-n", NAMESPACE, "delete", "pod", name, "--wait=false")
    return {line.split()[0]: line.split()[1] for line in lines if line.strip()}


