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
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_kwok_cluster import apply_shared_crds, deploy_cli, kubectl, start_cluster

from pipeline.deploy.report import EXIT_OK, EXIT_REFUSED, EXIT_ROLLED_BACK
from pipeline.deploy.tools import SubprocessClusterTools

pytestmark = pytest.mark.timeout(300)

NAMESPACE = "deploy-cycle"


def digest(char: str) -> str:
    return "sha256:" + char * 64


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, SubprocessClusterTools]]:
    yield from start_cluster("deploy", "--with-rollouts")


@pytest.fixture(scope="module")
def namespace(cluster: tuple[str, SubprocessClusterTools]) -> str:
    """The chart's CRDs, and a namespace under Pod Security "restricted" with the app's secret."""
    _, tools = cluster
    apply_shared_crds(tools)
    kubectl(tools, "create", "namespace", NAMESPACE)
    kubectl(tools, "label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted")
    kubectl(
        tools, "-n", NAMESPACE, "create", "secret", "generic", "blog-creator-secrets",
        "--from-literal=jwt-secret=deploy-cycle-test-only",
    )  # fmt: skip
    return NAMESPACE


@pytest.fixture(scope="module")
def target_file(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = {
        "env": "dev",
        "namespace": namespace,
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


def images(backend: str, repository: str = "ghcr.io/acme/backend") -> list[str]:
    return [
        "--backend-image",
        f"{repository}@{backend}",
        "--frontend-image",
        f"ghcr.io/acme/frontend@{digest('f')}",
    ]


def test_deploy_failing_deploy_rollback_and_deploy_again(
    cluster: tuple[str, SubprocessClusterTools], target_file: Path, tmp_path: Path
) -> None:
    code, first = deploy_cli(cluster, target_file, tmp_path / "1", "deploy", *images(digest("1")))
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

    code, failed = deploy_cli(
        cluster,
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

    code, status = deploy_cli(cluster, target_file, tmp_path / "3", "status")
    assert code == EXIT_OK
    assert f"ghcr.io/acme/backend@{digest('1')}" in str(
        status["details"]
    )  # the restored image serves
    assert "unpullable" not in str(status["details"]).split("recent events:")[0]

    code, diff = deploy_cli(cluster, target_file, tmp_path / "4", "diff", *images(digest("4")))
    assert code == EXIT_OK
    assert f"+          image: ghcr.io/acme/backend@{digest('4')}" in str(diff["details"]).replace(
        '"', ""
    )

    code, again = deploy_cli(cluster, target_file, tmp_path / "5", "deploy", *images(digest("4")))
    assert code == EXIT_OK, again.get("message")
    assert again["revision_after"] == 4

    code, back = deploy_cli(cluster, target_file, tmp_path / "6", "rollback", "--revision", "1")
    assert code == EXIT_OK, back.get("message")
    assert back["revision_after"] == 5


def test_promote_of_a_rolling_release_is_refused_by_the_real_cli(
    cluster: tuple[str, SubprocessClusterTools], target_file: Path, tmp_path: Path
) -> None:
    code, report = deploy_cli(cluster, target_file, tmp_path, "promote")
    assert code == EXIT_REFUSED and "nothing to promote" in str(report["message"])


def test_blue_green_awaits_promotion_promotes_and_rolls_back(
    cluster: tuple[str, SubprocessClusterTools], namespace: str, tmp_path: Path
) -> None:
    """blueGreen with the real Argo Rollouts controller (analysis off: no Prometheus here)."""
    target = {
        "env": "staging",
        "namespace": namespace,
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

    code, first = deploy_cli(cluster, target_path, tmp_path / "1", "deploy", *images(digest("a")))
    assert code == EXIT_OK and first["outcome"] == "succeeded", first.get("message")

    code, second = deploy_cli(cluster, target_path, tmp_path / "2", "deploy", *images(digest("b")))
    assert code == EXIT_OK and second["outcome"] == "awaiting-promotion", second.get("message")

    code, promoted = deploy_cli(cluster, target_path, tmp_path / "3", "promote", "--full")
    assert code == EXIT_OK and promoted["outcome"] == "succeeded", promoted.get("message")

    code, failed = deploy_cli(
        cluster,
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
