"""A real Kubernetes API server for the delivery-metrics and preview tests (scripts/k8s-cluster.sh).

kube-apiserver, controller-manager, scheduler and etcd built from Go modules, kwok fake nodes
(containers never run). `start_cluster` yields `(kubeconfig, tools)`; without the binaries
the tests skip with the reason, unless CLUSTER_TESTS=required (set by .ci/run).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.deploy.tools import SubprocessClusterTools

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "k8s-cluster.sh"
TOOLS_BIN = (
    Path(os.environ.get("TOOLS_DIR", str(Path.home() / ".cache/blog-creator/tools"))) / "bin"
)
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwok")


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CLUSTER_TESTS") == "required":
        pytest.fail(f"CLUSTER_TESTS=required but {reason}", pytrace=False)
    pytest.skip(reason)


def start_cluster(prefix: str) -> Iterator[tuple[str, SubprocessClusterTools]]:
    bin_dir = Path(
        subprocess.run(
            [str(SCRIPT), "bin-dir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    missing = [b for b in BINARIES if not (bin_dir / b).is_file()]
    if missing:
        _skip_or_fail(f"no Kubernetes control plane built ({', '.join(missing)})")
    env = dict(os.environ)
    env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    probe = SubprocessClusterTools(env=env)
    for tool in ("helm", "kubectl"):
        if probe.executable(tool) is None:
            _skip_or_fail(f"{tool} not found in {TOOLS_BIN}: run scripts/install-k8s-tools.sh")
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    started = subprocess.run(
        [str(SCRIPT), "start", "--name", name],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if started.returncode != 0:
        pytest.fail(f"cluster did not start:\n{started.stderr[-3000:]}", pytrace=False)
    kubeconfig = started.stdout.strip().removeprefix("KUBECONFIG=")
    try:
        yield kubeconfig, SubprocessClusterTools(kubeconfig=kubeconfig, env=env)
    finally:
        subprocess.run(
            [str(SCRIPT), "stop", "--name", name], capture_output=True, timeout=120, check=False
        )
