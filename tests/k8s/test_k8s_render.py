"""helm lint / helm template for every environment and feature, then schema validation of the output."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from k8s_schema_validation import is_builtin, validate_builtin, validate_custom
from k8s_support import (
    CHART,
    CRD_DIR,
    DIGEST_SETS,
    ENVIRONMENTS,
    RELEASE,
    VARIANTS,
    Render,
    helm_template,
    namespace_of,
)

# Oldest supported minor (Chart.yaml kubeVersion >= 1.31) and the kubectl we ship.
K8S_VERSIONS = ["1.31", "1.35"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_helm_lint_strict_per_environment(helm: str, env: str) -> None:
    cmd = [helm, "lint", "--strict", str(CHART), "-f", str(ENVIRONMENTS / f"{env}.yaml")]
    for item in DIGEST_SETS:
        cmd += ["--set", item]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_every_variant_renders_the_expected_kinds(renders: dict[str, Render]) -> None:
    kinds = {name: {d["kind"] for d in r.docs} for name, r in renders.items()}
    assert "Deployment" in kinds["dev"] and "Rollout" not in kinds["dev"]
    assert {
        "Rollout",
        "AnalysisTemplate",
        "VirtualService",
        "DestinationRule",
        "PeerAuthentication",
    } <= kinds["prod"]
    assert "Deployment" not in kinds["prod"]
    assert {
        "Rollout",
        "Server",
        "AuthorizationPolicy",
        "Gateway",
        "HTTPRoute",
        "ExternalSecret",
    } <= kinds["staging"]
    assert "Ingress" not in kinds["staging"]
    assert "HorizontalPodAutoscaler" in kinds["externalsecrets-hpa-custom"]
    assert (
        "Gateway" not in kinds["httproute-shared-gateway"]
        and "HTTPRoute" in kinds["httproute-shared-gateway"]
    )
    assert (
        not {"Ingress", "HTTPRoute", "Certificate", "ServiceMonitor", "PrometheusRule"}
        & kinds["minimal"]
    )
    # Every feature is switched on by at least one variant.
    every = set().union(*kinds.values())
    assert {
        "Deployment",
        "Rollout",
        "AnalysisTemplate",
        "Service",
        "Ingress",
        "HTTPRoute",
        "Gateway",
        "Certificate",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        "ExternalSecret",
        "ServiceMonitor",
        "PrometheusRule",
        "Server",
        "AuthorizationPolicy",
        "PeerAuthentication",
        "VirtualService",
        "DestinationRule",
        "Pod",
        "ServiceAccount",
    } <= every


def test_helm_test_hooks_smoke_test_backend_and_frontend(renders: dict[str, Render]) -> None:
    pods = renders["prod"].of_kind("Pod")
    assert {p["metadata"]["annotations"]["helm.sh/hook"] for p in pods} == {"test"}
    scripts = "\n".join(" ".join(c["command"]) for p in pods for c in p["spec"]["containers"])
    assert "/readyz" in scripts and "blog-creator-backend:8000" in scripts
    assert "blog-creator-frontend:3000/" in scripts
    # Bounded retries: a NetworkPolicy controller admits a new pod only after its rule sync
    # (on the real node with kube-router the first request failed, and with it `helm test`).
    assert scripts.count("30 s") >= 2 and "time.monotonic() + 30" in scripts and "Date.now() + 30000" in scripts


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
def test_builtin_kinds_validate_strictly(renders: dict[str, Render], k8s_version: str) -> None:
    failures = []
    for name, render in renders.items():
        for doc in filter(is_builtin, render.docs):
            for error in validate_builtin(doc, k8s_version):
                failures.append(f"[{name}] {doc['kind']}/{doc['metadata']['name']}: {error}")
    assert not failures, "\n".join(failures)


def test_custom_resources_validate_against_their_crds(renders: dict[str, Render]) -> None:
    failures, checked = [], set()
    for name, render in renders.items():
        for doc in render.docs:
            if is_builtin(doc):
                continue
            checked.add(doc["kind"])
            try:
                errors = validate_custom(doc, str(CRD_DIR))
            except LookupError as exc:
                errors = [str(exc)]
            failures += [f"[{name}] {doc['kind']}/{doc['metadata']['name']}: {e}" for e in errors]
    assert not failures, "\n".join(failures)
    assert len(checked) >= 12, checked


def test_custom_resource_without_crd_schema_fails() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    with pytest.raises(LookupError, match="no CRD schema"):
        validate_custom(doc, str(CRD_DIR))


def test_crd_validation_rejects_unknown_and_mistyped_fields(renders: dict[str, Render]) -> None:
    rollout = renders["prod"].of_kind("Rollout")[0]
    typo = {**rollout, "spec": {**rollout["spec"], "replica": 3}}
    assert any("replica" in e for e in validate_custom(typo, str(CRD_DIR)))
    wrong_type = {**rollout, "spec": {**rollout["spec"], "revisionHistoryLimit": "five"}}
    assert validate_custom(wrong_type, str(CRD_DIR))


def test_builtin_validation_rejects_unknown_fields(renders: dict[str, Render]) -> None:
    deployment = renders["dev"].of_kind("Deployment")[0]
    bad = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    assert validate_builtin(bad, "1.35")


def test_variants_cover_each_environment() -> None:
    assert {v.env for v in VARIANTS} == {"dev", "staging", "prod"}


def test_prod_without_digest_is_refused(helm: str) -> None:
    proc = helm_template(helm, "prod")
    assert proc.returncode != 0
    assert "image.backend.digest is required in prod" in proc.stderr


@pytest.mark.parametrize("strategy", ["rolling", "canary", "blueGreen"])
def test_progress_deadline_is_a_value_for_every_strategy(helm: str, strategy: str) -> None:
    proc = helm_template(helm, "staging", (*DIGEST_SETS, f"strategy={strategy}", "progressDeadlineSeconds=900"))
    assert proc.returncode == 0, proc.stderr
    workloads = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] in {"Deployment", "Rollout"}]
    assert len(workloads) == 2 and all(w["spec"]["progressDeadlineSeconds"] == 900 for w in workloads)
    # A Rollout aborts back to stable on the deadline; a Deployment has no such field.
    aborts = {w["spec"].get("progressDeadlineAbort") for w in workloads}
    assert aborts == ({None} if strategy == "rolling" else {True}), aborts
    refused = helm_template(helm, "staging", (*DIGEST_SETS, "progressDeadlineSeconds=5"))
    assert refused.returncode != 0 and "progressDeadlineSeconds" in refused.stderr, refused.stderr


def test_packaged_chart_renders_like_the_source(
    helm: str, renders: dict[str, Render], tmp_path: Path
) -> None:
    """helm package honours .helmignore but must keep the dashboard JSON and the schema."""
    proc = subprocess.run(
        [helm, "package", str(CHART), "-d", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (archive,) = tmp_path.glob("blog-creator-*.tgz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"blog-creator/values.schema.json", "blog-creator/dashboards/blog-creator.json"} <= names
    assert "blog-creator/gen_values_schema.py" not in names
    cmd = [
        helm,
        "template",
        RELEASE,
        str(archive),
        "--namespace",
        namespace_of("prod"),
        "-f",
        str(ENVIRONMENTS / "prod.yaml"),
    ]
    for item in DIGEST_SETS:
        cmd += ["--set", item]
    packaged = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    assert packaged.returncode == 0, packaged.stderr
    assert packaged.stdout == renders["prod"].text
