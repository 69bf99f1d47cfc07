"""k8s/platform: add-on manifests validate (built-in kinds strictly, custom resources against their
CRDs); values files for upstream charts parse and hold the settings the app relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_schema_validation import is_builtin, validate_builtin, validate_custom
from k8s_support import CRD_DIR, PLATFORM


def platform_files() -> list[Path]:
    return sorted(PLATFORM.rglob("*.yaml"))


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def manifests() -> list[dict[str, Any]]:
    return [d for p in platform_files() for d in documents(p) if "kind" in d and "apiVersion" in d]


def chart_values(name: str) -> dict[str, Any]:
    (doc,) = documents(PLATFORM / name)
    return doc


def test_platform_has_every_add_on() -> None:
    kinds = {d["kind"] for d in manifests()}
    assert {
        "Elasticsearch",
        "Kibana",
        "ClusterIssuer",
        "Schedule",
        "CronJob",
        "ClusterSecretStore",
        "Namespace",
    } <= kinds
    for values in (
        "redis/values.yaml",
        "monitoring/kube-prometheus-stack-values.yaml",
        "logging/fluent-bit-values.yaml",
        "tracing/otel-collector-values.yaml",
        "tracing/tempo-values.yaml",
        "velero/values.yaml",
        "argo-rollouts/values.yaml",
    ):
        assert isinstance(chart_values(values), dict) and chart_values(values), values


@pytest.mark.parametrize("k8s_version", ["1.31", "1.35"])
def test_platform_manifests_validate(k8s_version: str) -> None:
    failures = []
    for doc in manifests():
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            errors = (
                validate_builtin(doc, k8s_version)
                if is_builtin(doc)
                else validate_custom(doc, str(CRD_DIR))
            )
        except LookupError as exc:
            errors = [str(exc)]
        failures += [f"{where}: {e}" for e in errors]
    assert not failures, "\n".join(failures)


def test_no_secret_values_in_platform_files() -> None:
    for path in platform_files():
        for doc in documents(path):
            if doc.get("kind") == "Secret":
                pytest.fail(f"{path}: Secrets are created from the secret store, not committed")
        text = path.read_text().lower()
        assert "password:" not in text.replace("existingsecretpasswordkey", ""), path


def test_elasticsearch_is_a_three_node_cluster_with_volumes_and_snapshots() -> None:
    es = next(d for d in manifests() if d["kind"] == "Elasticsearch")
    (node_set,) = es["spec"]["nodeSets"]
    assert node_set["count"] == 3
    assert node_set["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    assert es["spec"]["secureSettings"]  # snapshot repository credentials, by reference
    policy_cm = next(
        d
        for d in manifests()
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "blog-es-snapshot-policy"
    )
    policy = json.loads(policy_cm["data"]["policy.json"])
    assert policy["repository"] == "blog-snapshots" and policy["retention"]["expire_after"] == "30d"
    assert json.loads(policy_cm["data"]["repository.json"])["type"] == "s3"


def test_redis_replicates_with_sentinel_and_backs_up_rdb() -> None:
    values = chart_values("redis/values.yaml")
    assert values["architecture"] == "replication" and values["sentinel"]["enabled"]
    assert (
        values["replica"]["persistence"]["enabled"]
        and "appendonly yes" in values["commonConfiguration"]
    )
    assert values["auth"]["existingSecret"]
    cron = next(
        d
        for d in manifests()
        if d["kind"] == "CronJob" and d["metadata"]["name"] == "redis-rdb-backup"
    )
    script = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "--rdb" in script and "-mtime +7 -delete" in script


def test_velero_schedules_cover_app_and_data() -> None:
    schedules = [d for d in manifests() if d["kind"] == "Schedule"]
    covered = {ns for s in schedules for ns in s["spec"]["template"]["includedNamespaces"]}
    assert {"blog-creator-prod", "data"} <= covered
    assert all(s["spec"]["template"]["ttl"] for s in schedules)


def test_observability_values_wire_the_chart() -> None:
    kps = chart_values("monitoring/kube-prometheus-stack-values.yaml")
    assert kps["prometheus"]["prometheusSpec"]["serviceMonitorSelector"]["matchLabels"] == {
        "release": "kube-prometheus-stack"
    }
    assert kps["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"
    otel = chart_values("tracing/otel-collector-values.yaml")
    assert otel["fullnameOverride"] == "otel-collector"  # the chart's default otel.endpoint host
    assert "otlp/tempo" in otel["config"]["service"]["pipelines"]["traces"]["exporters"]
    fluent = chart_values("logging/fluent-bit-values.yaml")
    assert "Name            es" in fluent["config"]["outputs"]
