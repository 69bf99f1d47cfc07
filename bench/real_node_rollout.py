"""Deploy times on the real test node (scripts/k8s-cluster.sh start --real): a benchmark, not a test.

    sudo .venv/bin/python bench/real_node_rollout.py [--runs 5] [--json out.json]

Starts its own cluster with one real node, builds the backend/frontend runtime images from
dockerfiles/ (the committed tree, `git archive HEAD`) twice with different VERSION labels, so
the backend has two digests A and B, pushes them to the cluster's registry and measures,
`--runs` times each (min/median/max):
  1. first install: `helm upgrade --install --wait` of dev + tests/cluster/real/values-real.yaml
     into an empty namespace, until every pod is Ready (the namespace is deleted after each run);
  2. rolling update of one image, the platform's way (src/pipeline/deploy: `helm upgrade`, then
     `kubectl rollout status` of the Deployment): backend A -> B -> A ...;
  3. the same change with plain `helm upgrade --wait` (Helm 4's watcher).
Prints a table and the ratio (2)/(3); the seed's goal for (2) is < 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "cluster"), str(ROOT / "tests" / "k8s"), str(ROOT / "tests" / "images")]

from cluster_real_support import DOCKER, RealCluster, real_missing, start_real, stop_real
from cluster_support import CHART, CRD_DIR, ENVIRONMENTS, Kube
from k8s_support import find_tool

VALUES = ROOT / "tests" / "cluster" / "real" / "values-real.yaml"
REDIS = ROOT / "tests" / "cluster" / "real" / "redis.yaml"
BASES = {"backend": ("PYTHON_IMAGE", "local/python:3.13-slim"), "frontend": ("NODE_IMAGE", "local/node:22-slim")}


def build(tree: Path, app: str, version: str) -> str:
    var, default = BASES[app]
    tag = f"blog-creator-bench/{app}:{version}"
    subprocess.run(
        [DOCKER, "build", "-q", "-f", f"dockerfiles/{app}.Dockerfile", "--target", "runtime", "-t", tag,
         "--secret", "id=ca,src=/etc/ssl/certs/ca-certificates.crt",
         "--build-arg", f"{var}={os.environ.get(var, default)}", "--build-arg", f"VERSION={version}", "."],
        cwd=tree, check=True, capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}, timeout=1800,
    )
    return tag


def helm_args(namespace: str, backend: str, frontend: str) -> list[str]:
    sets = []
    for app, ref in (("backend", backend), ("frontend", frontend)):
        repository, digest = ref.split("@")
        sets += ["--set", f"image.{app}.repository={repository}", "--set", f"image.{app}.digest={digest}"]
    return ["upgrade", "--install", "blog-creator", str(CHART), "-n", namespace,
            "-f", str(ENVIRONMENTS / "dev.yaml"), "-f", str(VALUES), *sets]


def timed(fn, *args, **kwargs) -> float:
    started = time.monotonic()
    fn(*args, **kwargs)
    return time.monotonic() - started


def platform_rolling_update(kube: Kube, namespace: str, backend: str, frontend: str) -> None:
    """What src/pipeline/deploy does for `rolling`: helm upgrade, then kubectl rollout status."""
    kube.ok("helm", *helm_args(namespace, backend, frontend), timeout=120)
    kube.ok("kubectl", "-n", namespace, "rollout", "status", "deployment/blog-creator-backend",
            "--timeout=180s", timeout=200)


def prepare_namespace(kube: Kube, namespace: str) -> None:
    kube.restricted_namespace(namespace)
    kube.app_secret(namespace)


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def run(runs: int) -> dict[str, object]:
    missing = real_missing()
    if missing:
        sys.exit(f"real node not built ({missing}): run `scripts/k8s-cluster.sh build --real` as root")
    name = f"bench-{uuid.uuid4().hex[:6]}"
    values = start_real(name)
    try:
        cluster = RealCluster(name, Kube(values["KUBECONFIG"], find_tool("kubectl"), find_tool("helm")),
                              values["REGISTRY"], values["REGISTRY_DOCKER_CONFIG"])
        kube = cluster.kube
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
            backend = [cluster.push(build(Path(tmp), "backend", v), "blog-creator/backend") for v in ("bench-a", "bench-b")]
            frontend = cluster.push(build(Path(tmp), "frontend", "bench-a"), "blog-creator/frontend")
        redis = cluster.push(os.environ.get("REDIS_IMAGE", "local/redis:7"), "blog-creator/redis")
        kube.ok("kubectl", "apply", "--server-side", "-f", str(CRD_DIR), timeout=180)
        kube.ok("kubectl", "wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")
        kube.restricted_namespace("data")
        kube.ok("kubectl", "apply", "-f", "-", stdin=REDIS.read_text().replace("@REDIS_IMAGE@", redis))
        kube.ok("kubectl", "-n", "data", "rollout", "status", "deployment/redis-master", "--timeout=120s")

        first_install = []
        for i in range(runs):
            namespace = f"bench-install-{i}"
            prepare_namespace(kube, namespace)
            first_install.append(timed(
                kube.ok, "helm", *helm_args(namespace, backend[0], frontend), "--wait", "--timeout", "300s",
                timeout=360))
            kube.ok("kubectl", "delete", "namespace", namespace, "--wait=true", timeout=180)

        namespace = "bench"
        prepare_namespace(kube, namespace)
        kube.ok("helm", *helm_args(namespace, backend[0], frontend), "--wait", "--timeout", "300s", timeout=360)
        current = 0
        rolling, plain = [], []
        for _ in range(runs):
            current = 1 - current
            rolling.append(timed(platform_rolling_update, kube, namespace, backend[current], frontend))
            current = 1 - current
            plain.append(timed(
                kube.ok, "helm", *helm_args(namespace, backend[current], frontend), "--wait", "--timeout", "180s",
                timeout=240))
    finally:
        stop_real(name)
    result = {
        "machine": f"{os.cpu_count()} CPU, {platform.machine()}, kernel {platform.release()}",
        "runs": runs,
        "first_install_s": summary(first_install),
        "rolling_update_s": summary(rolling),
        "helm_upgrade_wait_s": summary(plain),
        "raw": {"first_install": first_install, "rolling_update": rolling, "helm_upgrade_wait": plain},
    }
    result["ratio_rolling_to_helm_wait_median"] = (
        result["rolling_update_s"]["median"] / result["helm_upgrade_wait_s"]["median"])  # type: ignore[index]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be between 1 and 20")
    result = run(args.runs)
    print(f"{'measure':34} {'min':>7} {'median':>7} {'max':>7}")
    for key, label in (("first_install_s", "first install (helm --wait)"),
                       ("rolling_update_s", "rolling update: upgrade + rollout status"),
                       ("helm_upgrade_wait_s", "same change: helm upgrade --wait")):
        s = result[key]
        print(f"{label:34} {s['min']:7.1f} {s['median']:7.1f} {s['max']:7.1f}")  # type: ignore[index]
    print(f"ratio (median rolling / median helm --wait): {result['ratio_rolling_to_helm_wait_median']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
