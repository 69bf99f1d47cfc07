"""k8s/platform: add-on manifests validate (built-in kinds strictly, custom resources against their
CRDs); values files for upstream charts parse and hold the settings the app relies on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_schema_validation import is_builtin, validate_builtin, validate_custom
from k8s_support import CRD_DIR, FULLNAME, PLATFORM, Render, namespace_of, pipeline_environments


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
    assert {namespace_of("prod"), "data"} <= covered
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


# --- Namespaces: pipeline.yaml's are canonical (D1) --------------------------------------------

NAMESPACE_KEYS = {"namespace", "remoteNamespace"}
NAMESPACE_LIST_KEYS = {"namespaces", "includedNamespaces", "excludedNamespaces"}


def named_namespaces(node: Any, where: str) -> list[tuple[str, str]]:
    """(namespace, where) for every namespace a platform file names: metadata/refs, lists,
    `kubernetes.io/metadata.name` selectors and Namespace objects."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if node.get("kind") == "Namespace" and "metadata" in node:
            found.append((node["metadata"]["name"], f"{where}: Namespace"))
        for key, value in node.items():
            if key in NAMESPACE_KEYS and isinstance(value, str):
                found.append((value, f"{where}: {key}"))
            elif key in NAMESPACE_LIST_KEYS and isinstance(value, list):
                found += [(v, f"{where}: {key}") for v in value if isinstance(v, str)]
            elif key == "kubernetes.io/metadata.name" and isinstance(value, str):
                found.append((value, f"{where}: namespace selector"))
            else:
                found += named_namespaces(value, where)
    elif isinstance(node, list):
        for item in node:
            found += named_namespaces(item, where)
    return found


def add_on_namespaces() -> set[str]:
    """Where the platform README installs the add-ons (`-n <ns>`), plus the cluster's own."""
    readme = (PLATFORM / "README.md").read_text()
    return set(re.findall(r" -n ([a-z0-9-]+)", readme)) | {"kube-system", "ingress-nginx"}


def app_namespaces() -> set[str]:
    return {e["namespace"] for e in pipeline_environments().values()}


def test_every_platform_namespace_is_deployed_to_or_an_add_on_one() -> None:
    allowed = app_namespaces() | add_on_namespaces()
    stray = [
        f"{where} names namespace {ns!r}"
        for path in platform_files()
        for doc in documents(path)
        for ns, where in named_namespaces(doc, str(path.relative_to(PLATFORM)))
        if ns not in allowed
    ]
    assert not stray, (
        "namespaces that pipeline.yaml never deploys to and no add-on is installed in "
        f"(app namespaces: {sorted(app_namespaces())}):\n" + "\n".join(stray)
    )


def test_the_namespace_walk_finds_a_wrong_namespace() -> None:
    doc = {"kind": "Schedule", "spec": {"template": {"includedNamespaces": ["blog-creator-prod"]}}}
    assert ("blog-creator-prod", "x: includedNamespaces") in named_namespaces(doc, "x")


def test_persistent_app_namespaces_are_restricted_and_reach_the_data_services() -> None:
    namespaces = {
        d["metadata"]["name"]: d["metadata"] for d in documents(PLATFORM / "namespaces.yaml")
    }
    redis_selector = chart_values("redis/values.yaml")["networkPolicy"]["ingressNSMatchLabels"]
    for name, env in pipeline_environments().items():
        if env.get("ephemeral"):
            continue
        meta = namespaces.get(env["namespace"])
        assert meta, f"environment {name}: namespace {env['namespace']} not in namespaces.yaml"
        labels = meta.get("labels", {})
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted", name
        assert all(labels.get(k) == v for k, v in redis_selector.items()), (
            f"{env['namespace']} is not selected by Redis' network policy {redis_selector}"
        )


def test_mesh_labels_match_each_environment_mesh() -> None:
    namespaces = {
        d["metadata"]["name"]: d["metadata"] for d in documents(PLATFORM / "namespaces.yaml")
    }
    for env, mesh_key in (("prod", "istio"), ("staging", "linkerd")):
        values = yaml.safe_load((PLATFORM.parent / "environments" / f"{env}.yaml").read_text())
        assert values["mesh"][mesh_key]["enabled"], env
        meta = namespaces[namespace_of(env)]
        if mesh_key == "istio":
            assert meta["labels"].get("istio-injection") == "enabled"
        else:
            assert meta["annotations"].get("linkerd.io/inject") == "enabled"


def test_secret_stores_serve_the_namespaces_that_use_them() -> None:
    stores = {d["metadata"]["name"]: d for d in manifests() if d["kind"] == "ClusterSecretStore"}
    for env in ("staging", "prod"):
        values = yaml.safe_load((PLATFORM.parent / "environments" / f"{env}.yaml").read_text())
        for store_name in (values["externalSecrets"]["secretStoreRef"]["name"], "eck-http-ca"):
            allowed = {
                ns for c in stores[store_name]["spec"]["conditions"] for ns in c["namespaces"]
            }
            assert namespace_of(env) in allowed, f"{store_name} does not serve {env}"


# --- Release name and Gateway wiring (D2), Elasticsearch CA (D5) ------------------------------


def test_staging_mesh_and_acme_solver_name_the_gateway_a_deploy_creates(
    renders: dict[str, Render],
) -> None:
    staging = renders["staging"]
    (gateway,) = staging.of_kind("Gateway")
    assert gateway["metadata"]["name"] == FULLNAME
    assert gateway["metadata"]["namespace"] == namespace_of("staging")
    # Istio's gateway deployment runs as "<gateway>-istio": it must be an allowed mesh caller.
    gateway_sa = {"name": f"{FULLNAME}-istio", "namespace": namespace_of("staging")}
    for app in ("frontend", "backend"):
        callers = [
            p["spec"]["requiredAuthenticationRefs"][0]
            for p in staging.of_kind("AuthorizationPolicy")
            if p["spec"]["targetRef"]["name"] == f"{FULLNAME}-{app}"
        ]
        assert {"kind": "ServiceAccount", **gateway_sa} in callers, app
    (issuer,) = [d for d in manifests() if d["metadata"]["name"] == "letsencrypt-prod"]
    gateway_solvers = [
        s for s in issuer["spec"]["acme"]["solvers"] if "gatewayHTTPRoute" in s.get("http01", {})
    ]
    (solver,) = gateway_solvers
    (parent,) = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
    assert (parent["name"], parent["namespace"]) == (FULLNAME, namespace_of("staging"))
    assert solver["selector"]["dnsNames"] == gateway["spec"]["listeners"][0]["hostname"].split()


def test_elasticsearch_ca_reaches_the_backend(renders: dict[str, Render]) -> None:
    copies = {d["metadata"]["namespace"]: d for d in manifests() if d["kind"] == "ExternalSecret"}
    es = next(d for d in manifests() if d["kind"] == "Elasticsearch")
    assert "selfSignedCertificate" in es["spec"]["http"]["tls"]  # ECK's own CA signs https
    for env in ("staging", "prod"):
        render = renders[env]
        backend = next(w for w in render.workloads() if w["metadata"]["name"].endswith("backend"))
        spec = backend["spec"]["template"]["spec"]
        container = spec["containers"][0]
        env_vars = {e["name"]: e.get("value") for e in container["env"]}
        path = env_vars["ELASTICSEARCH_CA_CERTS"]
        mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
        volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
        secret = volume["secret"]["secretName"]
        key = path.rsplit("/", 1)[1]
        assert [i["key"] for i in volume["secret"]["items"]] == [key]
        config = render.get("ConfigMap", f"{FULLNAME}-config")
        assert config and config["data"]["ELASTICSEARCH_URL"].startswith("https://")
        # The platform writes exactly that Secret key in that namespace from ECK's CA.
        copy = copies[namespace_of(env)]
        assert copy["spec"]["target"]["name"] == secret
        assert copy["spec"]["data"] == [
            {
                "secretKey": key,
                "remoteRef": {
                    "key": f"{es['metadata']['name']}-es-http-certs-public",
                    "property": "ca.crt",
                },
            }
        ]
    dev = renders["dev"]
    backend = next(w for w in dev.workloads() if w["metadata"]["name"].endswith("backend"))
    assert "ELASTICSEARCH_CA_CERTS" not in {
        e["name"] for e in backend["spec"]["template"]["spec"]["containers"][0]["env"]
    }
