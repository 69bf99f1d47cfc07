"""The real Kubernetes control plane for the cluster tests (scripts/k8s-cluster.sh).

One kwok cluster per test session (fixture `kube`): kube-apiserver, kube-controller-manager,
kube-scheduler and etcd built from Go modules, with three kwok fake nodes (zones a, b, c).
One real-node cluster per session (fixture `real`, `start --real`): the same control plane
plus a kubelet node that runs the images (see README.md). When the binaries are absent the
tests skip with the reason — unless CLUSTER_TESTS=required (set by .ci/run), where they
fail, so CI cannot silently skip them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: helper modules
sys.path.insert(0, str(Path(__file__).parents[1] / "k8s"))

from cluster_real_support import RealCluster, prometheus_built, real_missing, start_real, stop_real
from cluster_support import KWOK_BINARIES, SCRIPT, Kube, skip_or_fail
from k8s_support import find_tool


def _binaries_missing() -> str | None:
    bin_dir = Path(
        subprocess.run(
            [SCRIPT, "bin-dir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    names = [*KWOK_BINARIES, "rollouts-controller", "kubectl-argo-rollouts"]
    missing = [n for n in names if not (bin_dir / n).is_file()]
    return f"{', '.join(missing)} missing in {bin_dir}" if missing else None


@pytest.fixture(scope="session")
def kube() -> Iterator[Kube]:
    missing = _binaries_missing()
    if missing:
        skip_or_fail(
            f"no Kubernetes control plane built ({missing}): run `scripts/k8s-cluster.sh build`"
        )
    name = f"test-{uuid.uuid4().hex[:8]}"
    started = subprocess.run(
        [SCRIPT, "start", "--name", name], check=False, capture_output=True, text=True, timeout=180
    )
    if started.returncode != 0:
        pytest.fail(f"cluster did not start:\n{started.stderr[-3000:]}", pytrace=False)
    kubeconfig = started.stdout.strip().removeprefix("KUBECONFIG=")
    try:
        yield Kube(kubeconfig=kubeconfig, kubectl=find_tool("kubectl"), helm=find_tool("helm"))
    finally:
        subprocess.run(
            [SCRIPT, "stop", "--name", name], check=False, capture_output=True, timeout=120
        )


@pytest.fixture(scope="session")
def real() -> Iterator[RealCluster]:
    """A cluster with one real node (kubelet + containerd), its registry, for the session."""
    missing = real_missing()
    if missing:
        skip_or_fail(f"no real node built ({missing}): run `scripts/k8s-cluster.sh build --real` as root")
    # REAL_CLUSTER_PREFIX: a prefix of your own when several people share the machine's node slots.
    name = f"{os.environ.get('REAL_CLUSTER_PREFIX', 'real')}-{uuid.uuid4().hex[:6]}"
    # With the Prometheus Operator built (build --real --with-prometheus; CI builds it), the
    # cluster runs it and a Prometheus configured by the chart's ServiceMonitor/PrometheusRule.
    with_prometheus = prometheus_built() or os.environ.get("CLUSTER_TESTS") == "required"
    try:
        values = start_real(name, *(["--with-prometheus"] if with_prometheus else []))
    except AssertionError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield RealCluster(
            name=name,
            kube=Kube(kubeconfig=values["KUBECONFIG"], kubectl=find_tool("kubectl"), helm=find_tool("helm")),
            registry=values["REGISTRY"],
            docker_config=values["REGISTRY_DOCKER_CONFIG"],
            prometheus=with_prometheus,
        )
    finally:
        stop_real(name)
