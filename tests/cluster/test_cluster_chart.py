"""The Helm chart against a real Kubernetes API server (scripts/k8s-cluster.sh).

Proves what rendering cannot: server-side validation and defaulting, Pod Security
admission ("restricted" enforced), the CRDs of ../shared/crds accepting our custom
resources, Helm's release bookkeeping (install, upgrade, rollback) and the Deployment
controller's rollout. Pods run on kwok fake nodes: containers never start, probes are not
executed, and an image whose reference contains "unpullable" stays in ErrImagePull.
"""

from __future__ import annotations

import pytest
from cluster_support import CHART, CRD_DIR, ENVIRONMENTS, Kube, digest

pytestmark = pytest.mark.timeout(300)
ENVS = ["dev", "staging", "prod"]


@pytest.fixture(scope="module")
def crds(kube: Kube) -> None:
    assert CRD_DIR.is_dir(), f"CRDs not found at {CRD_DIR} (the read-only ../shared/crds folder)"
    kube.ok("kubectl", "apply", "--server-side", "-f", str(CRD_DIR), timeout=180)
    kube.ok("kubectl", "wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")


def render(kube: Kube, env: str, namespace: str, *sets: str) -> str:
    args = [
        "template",
        "blog",
        str(CHART),
        "--namespace",
        namespace,
        "-f",
        str(ENVIRONMENTS / f"{env}.yaml"),
        "--skip-tests",
    ]
    for item in (
        f"image.backend.digest={digest('b')}",
        f"image.frontend.digest={digest('f')}",
        *sets,
    ):
        args += ["--set", item]
    return kube.ok("helm", *args)


def deployment_ready(kube: Kube, namespace: str) -> bool:
    items = kube.get("deployments", "-n", namespace)["items"]
    return bool(items) and all(
        d["status"].get("availableReplicas", 0) == d["spec"]["replicas"]
        and d["status"].get("updatedReplicas", 0) == d["spec"]["replicas"]
        for d in items
    )


@pytest.mark.parametrize("env", ENVS)
def test_environment_applies_server_side_under_restricted_pod_security(
    kube: Kube, crds: None, env: str
) -> None:
    namespace = f"ssa-{env}"
    kube.restricted_namespace(namespace)
    kube.app_secret(namespace)
    manifests = render(kube, env, namespace)

    applied = kube.run(
        "kubectl",
        "apply",
        "--server-side",
        "--field-manager=blog-creator-test",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=manifests,
    )

    assert applied.returncode == 0, applied.stderr
    assert "PodSecurity" not in applied.stderr, (
        f"Pod Security 'restricted' warnings:\n{applied.stderr}"
    )
    kinds = {line.split("/")[0] for line in applied.stdout.split() if "/" in line}
    assert any(k.startswith(("rollout.argoproj.io", "deployment.apps")) for k in kinds), (
        applied.stdout
    )


def test_dev_pods_are_admitted_under_restricted_and_become_available(
    kube: Kube, crds: None
) -> None:
    # Deployments are admitted even when their pods would not be: only the pods' creation
    # proves the restricted profile, so wait for the ReplicaSets' pods to be available.
    kube.wait_until(lambda: deployment_ready(kube, "ssa-dev"), what="dev Deployments Available")
    events = kube.ok("kubectl", "get", "events", "-n", "ssa-dev")
    assert "violates PodSecurity" not in events, events


def test_helm_install_upgrade_rollback_and_a_bad_image(kube: Kube, crds: None) -> None:
    namespace = "helm-dev"
    kube.restricted_namespace(namespace)
    kube.app_secret(namespace)
    base = [
        "upgrade",
        "--install",
        "blog",
        str(CHART),
        "-n",
        namespace,
        "-f",
        str(ENVIRONMENTS / "dev.yaml"),
    ]

    kube.ok(
        "helm", *base, "--set", f"image.backend.digest={digest('1')}", "--wait", "--timeout", "120s"
    )
    assert deployment_ready(kube, namespace)
    kube.ok(
        "helm", *base, "--set", f"image.backend.digest={digest('2')}", "--wait", "--timeout", "120s"
    )

    # helm test hooks: kwok completes the hook pods without running their commands.
    kube.ok("helm", "test", "blog", "-n", namespace, "--timeout", "60s")

    # A bad image never becomes Ready: --wait fails, and maxUnavailable 0 keeps revision 2 serving.
    bad = kube.run(
        "helm",
        *base,
        "--set",
        "image.backend.repository=registry.example.com/unpullable/backend",
        "--set",
        f"image.backend.digest={digest('3')}",
        "--wait",
        "--timeout",
        "20s",
        timeout=120,
    )
    assert bad.returncode != 0
    backend = kube.get("deployment", "-n", namespace, "-l", "app.kubernetes.io/component=backend")[
        "items"
    ][0]
    assert backend["status"].get("availableReplicas", 0) >= 1, (
        "the old ReplicaSet must keep serving"
    )

    kube.ok("helm", "rollback", "blog", "2", "-n", namespace, "--wait", "--timeout", "120s")
    history = kube.ok("helm", "history", "blog", "-n", namespace, "-o", "json")
    assert '"status":"deployed"' in history.replace(" ", "")
    kube.wait_until(
        lambda: deployment_ready(kube, namespace), what="rolled-back Deployments Available"
    )
    backend = kube.get("deployment", "-n", namespace, "-l", "app.kubernetes.io/component=backend")[
        "items"
    ][0]
    image = backend["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(digest("2")) and "unpullable" not in image, image
