"""The real Kubernetes control plane for the cluster tests (scripts/k8s-cluster.sh).

One cluster per test session: kube-apiserver, kube-controller-manager, kube-scheduler and
etcd built from Go modules, with three kwok fake nodes (zones a, b, c). When the binaries
are absent the tests skip with the reason — unless CLUSTER_TESTS=required (set by .ci/run),
where they fail, so CI cannot silently skip them.
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

from cluster_support import SCRIPT, Kube
from k8s_support import find_tool


def _binaries_missing() -> str | None:
    bin_dir = Path(
        subprocess.run(
            [SCRIPT, "bin-dir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    names = [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "etcd",
        "kwok",
        "kwokctl",
        "rollouts-controller",
        "kubectl-argo-rollouts",
    ]
    missing = [n for n in names if not (bin_dir / n).is_file()]
    return f"{', '.join(missing)} missing in {bin_dir}" if missing else None


@pytest.fixture(scope="session")
def kube() -> Iterator[Kube]:
    missing = _binaries_missing()
    if missing:
        reason = (
            f"no Kubernetes control plane built ({missing}): run `scripts/k8s-cluster.sh build`"
        )
        if os.environ.get("CLUSTER_TESTS") == "required":
            pytest.fail(f"CLUSTER_TESTS=required but {reason}", pytrace=False)
        pytest.skip(reason)
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
