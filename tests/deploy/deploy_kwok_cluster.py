"""A real Kubernetes API server for the deploy tests that need one (scripts/k8s-cluster.sh).

kube-apiserver, controller-manager, scheduler and etcd built from Go modules, kwok fake nodes
(containers never run). `start_cluster(prefix, *flags)` passes `flags` to `k8s-cluster.sh
start` (`--with-rollouts` also runs the Argo Rollouts controller) and yields
`(kubeconfig, tools)`; without the binaries or tools a start needs, the tests skip with the
reason, unless CLUSTER_TESTS=required (set by .ci/run). `kubectl` and `apply_shared_crds` are
what the tests do on the cluster before their deploys; `deploy_cli` runs the deploy runtime's
CLI (`python -m pipeline.deploy`) on it with the repository's chart.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_support import KWOK_BINARIES, skip_or_fail

from pipeline.deploy.__main__ import main as deploy_main
from pipeline.deploy.tools import ClusterTools, SubprocessClusterTools, Tool

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "k8s-cluster.sh"
TOOLS_BIN = (
    Path(os.environ.get("TOOLS_DIR", str(Path.home() / ".cache/blog-creator/tools"))) / "bin"
)
BINARIES = KWOK_BINARIES
# What a start flag needs on top: binaries in `k8s-cluster.sh bin-dir`, tools on PATH.
FLAG_BINARIES: dict[str, tuple[str, ...]] = {"--with-rollouts": ("rollouts-controller",)}
FLAG_TOOLS: dict[str, tuple[Tool, ...]] = {"--with-rollouts": ("rollouts",)}


def start_cluster(prefix: str, *flags: str) -> Iterator[tuple[str, SubprocessClusterTools]]:
    """Start a cluster named `<prefix>-<random>` with `k8s-cluster.sh start FLAGS`, stop it after."""
    bin_dir = Path(
        subprocess.run(
            [str(SCRIPT), "bin-dir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    binaries = [*BINARIES, *(b for flag in flags for b in FLAG_BINARIES.get(flag, ()))]
    missing = [b for b in binaries if not (bin_dir / b).is_file()]
    if missing:
        skip_or_fail(
            f"no Kubernetes control plane built ({', '.join(missing)}): run scripts/k8s-cluster.sh build"
        )
    env = dict(os.environ)
    env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    probe = SubprocessClusterTools(env=env)
    tools: list[Tool] = [
        "helm",
        "kubectl",
        *(t for flag in flags for t in FLAG_TOOLS.get(flag, ())),
    ]
    for tool in tools:
        if probe.executable(tool) is None:
            skip_or_fail(f"{tool} not found in {TOOLS_BIN}: run scripts/install-k8s-tools.sh")
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    started = subprocess.run(
        [str(SCRIPT), "start", "--name", name, *flags],
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


def kubectl(tools: SubprocessClusterTools, *args: str, timeout: float = 150) -> str:
    """Run kubectl on the test cluster; fail the test with its output unless it succeeds."""
    done = tools.run("kubectl", list(args), timeout)
    assert done.ok, done.reason(10)
    return done.stdout


def apply_shared_crds(tools: SubprocessClusterTools) -> None:
    """The CRDs the chart renders (Certificate, ServiceMonitor, PrometheusRule...), established."""
    crds = (ROOT.parent / "shared" / "crds").resolve()
    assert crds.is_dir(), f"CRDs not found at {crds} (the read-only ../shared/crds folder)"
    kubectl(tools, "apply", "--server-side", "-f", str(crds))
    kubectl(tools, "wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")


def deploy_cli(
    cluster: tuple[str, ClusterTools], target: Path, out: Path, action: str, *args: str
) -> tuple[int, dict[str, object]]:
    """`python -m pipeline.deploy ACTION --target TARGET ... ARGS` in-process on the cluster:
    the exit code and the action's JSON report from `out` ({} when it wrote none)."""
    kubeconfig, tools = cluster
    argv = [
        action,
        "--target", str(target), "--chart", str(ROOT / "k8s/chart"),
        "--values-root", str(ROOT), "--kubeconfig", kubeconfig, "--report-dir", str(out),
        *args,
    ]  # fmt: skip
    code = deploy_main(argv, tools_factory=lambda _k, _c: tools)
    reports = sorted(out.glob(f"{action}-*.json"))
    return code, json.loads(reports[0].read_text()) if reports else {}
