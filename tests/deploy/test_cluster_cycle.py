"""The orchestrator against a REAL Kubernetes API server (scripts/k8s-cluster.sh).

kube-apiserver, controller-manager, scheduler and etcd built from Go modules, with kwok fake
nodes: the Deployment controller really rolls out, Helm really records revisions, hook pods
of `helm test` complete, and an image whose reference contains "unpullable" never becomes
Ready; the Argo Rollouts controller runs as a host process (--with-rollouts). Containers never
run and there is no pod networking, so the HTTP smoke checks are left out here (they are tested
against a real HTTP server in test_real_tools.py), and there is no Prometheus for a canary
analysis (covered by test_orchestrator.py only).

Rolling: deploy → unpullable image (verification fails) → automatic rollback, verified →
status → diff → deploy again → operator rollback. blueGreen: deploy → awaiting promotion →
promote --full → unpullable image → Rollouts abort + helm rollback, verified. Without the control-plane
binaries the tests skip with the reason, unless CLUSTER_TESTS=required (set by .ci/run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.deploy.__main__ import main
from pipeline.deploy.report import EXIT_OK, EXIT_REFUSED, EXIT_ROLLED_BACK
from pipeline.deploy.tools import ClusterTools, SubprocessClusterTools

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
# Overridable only to try another build of the control plane script.
SCRIPT = Path(os.environ.get("DEPLOY_CLUSTER_SCRIPT", str(ROOT / "scripts" / "k8s-cluster.sh")))
TOOLS_BIN = (
    Path(os.environ.get("TOOLS_DIR", str(Path.home() / ".cache/blog-creator/tools"))) / "bin"
)
NAMESPACE = "deploy-cycle"
BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "kwok",
    "kwokctl",
)


def digest(char: str) -> str:
    return "sha256:" + char * 64


@pytest.fixture(scope="module")
def kubeconfig() -> Iterator[str]:
    bin_dir = Path(
        subprocess.run(
            [str(SCRIPT), "bin-dir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    missing = [b for b in BINARIES if not (bin_dir / b).is_file()]
    if missing:
        reason = f"no Kubernetes control plane built ({', '.join(missing)}): run scripts/k8s-cluster.sh build"
        if os.environ.get("CLUSTER_TESTS") == "required":
            pytest.fail(f"CLUSTER_TESTS=required but {reason}", pytrace=False)
        pytest.skip(reason)
    name = f"deploy-{uuid.uuid4().hex[:8]}"
    started = subprocess.run(
        [str(SCRIPT), "start", "--name", name, "--with-rollouts"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if started.returncode != 0:
        pytest.fail(f"cluster did not start:\n{started.stderr[-3000:]}", pytrace=False)
    try:
        yield started.stdout.strip().removeprefix("KUBECONFIG=")
    finally:
        subprocess.run(
            [str(SCRIPT), "stop", "--name", name], capture_output=True, timeout=120, check=False
        )


@pytest.fixture(scope="module")
def tools(kubeconfig: str) -> SubprocessClusterTools:
    env = dict(os.environ)
    plugin_dir = subprocess.run(
        [str(SCRIPT), "bin-dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{plugin_dir}{os.pathsep}{env.get('PATH', '')}"
    found = SubprocessClusterTools(env=env)
    for tool in ("helm", "kubectl", "rollouts"):
        if found.executable(tool) is None:
            pytest.fail(
                f"{tool} not found on PATH or in {TOOLS_BIN}: run scripts/install-k8s-tools.sh"
            )
    kubectl = [shutil.which("kubectl", path=env["PATH"]) or "kubectl", "--kubeconfig", kubeconfig]
    # The CRDs the dev values render (Certificate, ServiceMonitor, PrometheusRule...).
    crds = (ROOT.parent / "shared" / "crds").resolve()
    assert crds.is_dir(), f"CRDs not found at {crds} (the read-only ../shared/crds folder)"
    subprocess.run(
        [*kubectl, "apply", "--server-side", "-f", str(crds)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    subprocess.run(
        [*kubectl, "wait", "--for", "condition=established", "crd", "--all", "--timeout=120s"],
        check=True,
        capture_output=True,
        timeout=180,
    )
    subprocess.run([*kubectl, "create", "namespace", NAMESPACE], check=True, capture_output=True)
    subprocess.run(
        [
            *kubectl,
            "label",
            "namespace",
            NAMESPACE,
            "pod-security.kubernetes.io/enforce=restricted",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *kubectl,
            "-n",
            NAMESPACE,
            "create",
            "secret",
            "generic",
            "blog-creator-secrets",
            "--from-literal=jwt-secret=deploy-cycle-test-only",
        ],
        check=True,
        capture_output=True,
    )
    return SubprocessClusterTools(kubeconfig=kubeconfig, env=env)


@pytest.fixture(scope="module")
def target_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = {
        "env": "dev",
        "namespace": NAMESPACE,
        "values_file": "k8s/environments/dev.yaml",
        "strategy": "rolling",
        "url": "http://no-ingress.invalid",
        "release": "blog",
        "require_digest": True,
        "timeout_seconds": 20,
        "smoke_checks": [],
    }
    path = tmp_path_factory.mktemp("cycle") / "target.json"
    path.write_text(json.dumps(target))
    return path


def orchestrate(
    tools: ClusterTools, kubeconfig: str, target: Path, out: Path, *args: str
) -> tuple[int, dict[str, object]]:
    argv = [
        args[0],
        "--target",
        str(target),
        "--chart",
        str(ROOT / "k8s/chart"),
        "--values-root",
        str(ROOT),
        "--kubeconfig",
        kubeconfig,
        "--report-dir",
        str(out),
        *args[1:],
    ]
    code = main(argv, tools_factory=lambda _k, _c: tools)
    reports = sorted(out.glob(f"{args[0]}-*.json"))
    return code, json.loads(reports[0].read_text()) if reports else {}


def images(backend: str, repository: str = "ghcr.io/acme/backend") -> list[str]:
    return [
        "--backend-image",
        f"{repository}@{backend}",
        "--frontend-image",
        f"ghcr.io/acme/frontend@{digest('f')}",
    ]


def test_deploy_failing_deploy_rollback_and_deploy_again(
    tools: SubprocessClusterTools, kubeconfig: str, target_file: Path, tmp_path: Path
) -> None:
    code, first = orchestrate(
        tools, kubeconfig, target_file, tmp_path / "1", "deploy", *images(digest("1"))
    )
    assert code == EXIT_OK, first.get("message")
    assert (first["revision_before"], first["revision_after"]) == (None, 1)
    assert [p["name"] for p in first["phases"]] == [
        "gates",
        "lock",
        "snapshot",
        "apply",
        "rollout",
        "helm-test",
        "smoke",
    ]  # type: ignore[index]

    code, failed = orchestrate(
        tools,
        kubeconfig,
        target_file,
        tmp_path / "2",
        "deploy",
        *images(digest("2"), "ghcr.io/acme/unpullable/backend"),
    )
    assert code == EXIT_ROLLED_BACK, failed.get("message")
    rollback = failed["rollback"]
    assert isinstance(rollback, dict)
    assert rollback["to_revision"] == 1 and rollback["restored"] is True
    assert (failed["revision_before"], failed["revision_attempted"], failed["revision_after"]) == (
        1,
        2,
        3,
    )
    assert "not ready within 20s" in str(failed["message"])

    code, status = orchestrate(tools, kubeconfig, target_file, tmp_path / "3", "status")
    assert code == EXIT_OK
    assert f"ghcr.io/acme/backend@{digest('1')}" in str(
        status["details"]
    )  # the restored image serves
    assert "unpullable" not in str(status["details"]).split("recent events:")[0]

    code, diff = orchestrate(
        tools, kubeconfig, target_file, tmp_path / "4", "diff", *images(digest("4"))
    )
    assert code == EXIT_OK
    assert f"+          image: ghcr.io/acme/backend@{digest('4')}" in str(diff["details"]).replace(
        '"', ""
    )

    code, again = orchestrate(
        tools, kubeconfig, target_file, tmp_path / "5", "deploy", *images(digest("4"))
    )
    assert code == EXIT_OK, again.get("message")
    assert again["revision_after"] == 4

    code, back = orchestrate(
        tools, kubeconfig, target_file, tmp_path / "6", "rollback", "--revision", "1"
    )
    assert code == EXIT_OK, back.get("message")
    assert back["revision_after"] == 5


def test_promote_of_a_rolling_release_is_refused_by_the_real_cli(
    tools: SubprocessClusterTools, kubeconfig: str, target_file: Path, tmp_path: Path
) -> None:
    code, report = orchestrate(tools, kubeconfig, target_file, tmp_path, "promote")
    assert code == EXIT_REFUSED and "nothing to promote" in str(report["message"])


def test_blue_green_awaits_promotion_promotes_and_rolls_back(
    tools: SubprocessClusterTools, kubeconfig: str, tmp_path: Path
) -> None:
    """blueGreen with the real Argo Rollouts controller (analysis off: no Prometheus here)."""
    target = {
        "env": "staging",
        "namespace": NAMESPACE,
        "values_file": "k8s/environments/dev.yaml",
        "strategy": "blueGreen",
        "url": "http://no-ingress.invalid",
        "release": "bg",
        "timeout_seconds": 30,
        "smoke_checks": [],
        "extra_values": [
            "blueGreen.prePromotionAnalysis=false",
            "blueGreen.autoPromotionEnabled=false",
        ],
    }
    target_path = tmp_path / "target.json"
    target_path.write_text(json.dumps(target))

    code, first = orchestrate(
        tools, kubeconfig, target_path, tmp_path / "1", "deploy", *images(digest("a"))
    )
    assert code == EXIT_OK and first["outcome"] == "succeeded", first.get("message")

    code, second = orchestrate(
        tools, kubeconfig, target_path, tmp_path / "2", "deploy", *images(digest("b"))
    )
    assert code == EXIT_OK and second["outcome"] == "awaiting-promotion", second.get("message")

    code, promoted = orchestrate(
        tools, kubeconfig, target_path, tmp_path / "3", "promote", "--full"
    )
    assert code == EXIT_OK and promoted["outcome"] == "succeeded", promoted.get("message")

    code, failed = orchestrate(
        tools,
        kubeconfig,
        target_path,
        tmp_path / "4",
        "deploy",
        *images(digest("c"), "ghcr.io/acme/unpullable/backend"),
    )
    assert code == EXIT_ROLLED_BACK, failed.get("message")
    rollback = failed["rollback"]
    assert (
        isinstance(rollback, dict) and rollback["restored"] is True and rollback["to_revision"] == 2
    )
    assert str(rollback["method"]).startswith("Rollouts abort + helm rollback")
