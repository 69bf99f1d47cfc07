"""Policy checks over the rendered manifests of every variant (see conftest VARIANTS)."""

from __future__ import annotations

import re
from typing import Any

from k8s_support import DIGEST_BACKEND, DIGEST_FRONTEND, Render

DIGEST_REF = re.compile(r"^[^@\s]+@sha256:[a-f0-9]{64}$")
SECRETISH = re.compile(r"(?i)(secret|password|passwd|token|api_?key|private_?key)")
DRAIN_SECONDS = 20  # the backend drains in-flight requests within ~20 s of SIGTERM


def pod_specs(render: Render) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, pod labels, pod spec) of every workload and every helm test pod."""
    out = [
        (
            w["metadata"]["name"],
            w["spec"]["template"]["metadata"]["labels"],
            w["spec"]["template"]["spec"],
        )
        for w in render.workloads()
    ]
    out += [
        (p["metadata"]["name"], p["metadata"]["labels"], p["spec"]) for p in render.of_kind("Pod")
    ]
    return out


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """matchLabels/matchExpressions semantics (empty selector selects everything)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value, op = labels.get(expr["key"]), expr["operator"]
        if (op == "In" and value not in expr["values"]) or (
            op == "NotIn" and value in expr["values"]
        ):
            return False
        if (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def test_every_container_has_probes_and_resources(rendered: Render) -> None:
    assert rendered.workloads()
    for workload in rendered.workloads():
        for c in workload["spec"]["template"]["spec"]["containers"]:
            where = f"{workload['metadata']['name']}/{c['name']}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert c.get(probe, {}).get("httpGet", {}).get("port") == "http", (
                    f"{where}: {probe} missing"
                )
            assert c["readinessProbe"]["httpGet"]["path"] in {"/readyz", "/api/ready"}, where
            assert c["livenessProbe"]["httpGet"]["path"] in {"/healthz", "/api/health"}, where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"].get(bound, {})), (
                    f"{where}: resources.{bound}"
                )


def test_restricted_pod_security_everywhere(rendered: Render) -> None:
    for name, _, spec in pod_specs(rendered):
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), name
        assert not any("hostPath" in v for v in spec.get("volumes", [])), name
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c["securityContext"]
            where = f"{name}/{c['name']}"
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), (
                where
            )
            assert sc.get("privileged", False) is False, where
            assert sc.get("runAsUser", 10001) != 0, where
            assert {"cpu", "memory"} <= set(c["resources"]["limits"]), where


def test_read_only_root_has_a_writable_tmp(rendered: Render) -> None:
    for workload in rendered.workloads():
        spec = workload["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], workload["metadata"]["name"]


def test_service_accounts_do_not_automount_tokens(rendered: Render) -> None:
    accounts = rendered.of_kind("ServiceAccount")
    assert accounts and all(sa["automountServiceAccountToken"] is False for sa in accounts)
    names = {sa["metadata"]["name"] for sa in accounts}
    assert all(spec["serviceAccountName"] in names for _, _, spec in pod_specs(rendered))


def test_graceful_termination_outlasts_the_drain(rendered: Render) -> None:
    for workload in rendered.workloads():
        spec = workload["spec"]["template"]["spec"]
        pre_stop = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre_stop >= 1
        assert spec["terminationGracePeriodSeconds"] > pre_stop + DRAIN_SECONDS, workload[
            "metadata"
        ]["name"]


def test_topology_spread_across_zones_and_nodes(rendered: Render) -> None:
    for workload in rendered.workloads():
        spread = workload["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        }
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert all(selects(c["labelSelector"], labels) for c in spread)


def test_images_by_digest_when_given_and_always_in_prod(rendered: Render) -> None:
    digests_given = any("digest=" in s for s in rendered.variant.sets)
    for name, _, spec in pod_specs(rendered):
        for c in spec["containers"]:
            if digests_given or rendered.variant.is_prod:
                assert DIGEST_REF.match(c["image"]), (
                    f"{name}: {c['image']} is not referenced by digest"
                )
                assert c["image"].endswith(
                    DIGEST_BACKEND if "backend" in c["image"] else DIGEST_FRONTEND
                )


def test_every_workload_has_a_pdb(rendered: Render) -> None:
    pdbs = rendered.of_kind("PodDisruptionBudget")
    for workload in rendered.workloads():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        matching = [p for p in pdbs if selects(p["spec"]["selector"], labels)]
        assert len(matching) == 1, f"{workload['metadata']['name']}: {len(matching)} PDBs"
        replicas = workload["spec"].get("replicas", 1)
        assert (
            "maxUnavailable" in matching[0]["spec"]
            or matching[0]["spec"]["minAvailable"] < replicas
        )


def test_every_pod_is_default_denied_and_has_its_own_network_policy(rendered: Render) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    deny = [p for p in policies if not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny and all(set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} for p in deny)
    for name, labels, _ in pod_specs(rendered):
        assert any(selects(p["spec"]["podSelector"], labels) for p in deny), (
            f"{name}: not default-denied"
        )
        own = [
            p
            for p in policies
            if p not in deny
            and p["spec"]["podSelector"]
            and selects(p["spec"]["podSelector"], labels)
        ]
        assert own, f"{name}: no NetworkPolicy allows its traffic"


def _peers_allow(
    rules: list[dict[str, Any]],
    port: int,
    labels: dict[str, str] | None = None,
    namespace: str | None = None,
) -> bool:
    for rule in rules:
        if not any(p.get("port") == port for p in rule.get("ports", [])):
            continue
        for peer in rule.get("to", []) + rule.get("from", []):
            if (
                labels is not None
                and "podSelector" in peer
                and "namespaceSelector" not in peer
                and selects(peer["podSelector"], labels)
            ):
                return True
            ns_sel = peer.get("namespaceSelector", {}).get("matchLabels", {})
            if namespace is not None and ns_sel.get("kubernetes.io/metadata.name") == namespace:
                return True
            if namespace == "ipBlock" and "ipBlock" in peer:
                return True
    return False


def test_network_paths_are_exactly_the_allowed_ones(rendered: Render) -> None:
    if rendered.variant.name == "minimal":
        return  # same policies, asserted on the other variants
    nps = {p["metadata"]["name"]: p["spec"] for p in rendered.of_kind("NetworkPolicy")}
    frontend = nps["blog-creator-frontend"]
    backend = nps["blog-creator-backend"]
    frontend_labels = next(
        w for w in rendered.workloads() if w["metadata"]["name"].endswith("frontend")
    )["spec"]["template"]["metadata"]["labels"]
    backend_labels = next(
        w for w in rendered.workloads() if w["metadata"]["name"].endswith("backend")
    )["spec"]["template"]["metadata"]["labels"]
    # ingress -> frontend -> backend
    assert _peers_allow(backend["ingress"], 8000, labels=frontend_labels)
    assert not _peers_allow(frontend["ingress"], 3000, labels=backend_labels)
    assert _peers_allow(frontend["egress"], 8000, labels=backend_labels)
    assert not _peers_allow(backend["egress"], 3000, labels=frontend_labels)
    # backend -> redis / elasticsearch (namespace or managed-service CIDR), DNS everywhere
    data = "ipBlock" if rendered.variant.name == "managed-services" else "data"
    assert _peers_allow(backend["egress"], 6379, namespace=data)
    assert _peers_allow(backend["egress"], 9200, namespace=data)
    assert not _peers_allow(frontend["egress"], 6379, namespace="data")
    for spec in (frontend, backend):
        assert _peers_allow(spec["egress"], 53, namespace="kube-system")
        assert _peers_allow(spec["egress"], 4318, namespace="observability")
    # Prometheus scrapes the backend only.
    assert _peers_allow(backend["ingress"], 8000, namespace="monitoring")


def test_no_secret_values_in_manifests(rendered: Render) -> None:
    for secret in rendered.of_kind("Secret"):
        assert not secret.get("data") and not secret.get("stringData"), secret["metadata"]["name"]
    for cm in rendered.of_kind("ConfigMap"):
        leaked = [k for k in cm.get("data", {}) if SECRETISH.search(k)]
        assert not leaked, f"{cm['metadata']['name']} carries secret-looking keys {leaked}"
    for name, _, spec in pod_specs(rendered):
        for c in spec["containers"]:
            for env in c.get("env", []):
                if SECRETISH.search(env["name"]):
                    assert "value" not in env and "secretKeyRef" in env["valueFrom"], (
                        f"{name}: {env['name']} must come from a Secret"
                    )
    backend = next(w for w in rendered.workloads() if w["metadata"]["name"].endswith("backend"))
    env = {e["name"]: e for e in backend["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "blog-creator-secrets"


def test_external_secret_writes_the_referenced_secret(renders: dict[str, Render]) -> None:
    for render in (renders["prod"], renders["staging"], renders["externalsecrets-hpa-custom"]):
        (es,) = render.of_kind("ExternalSecret")
        assert es["spec"]["target"]["name"] == "blog-creator-secrets"
        assert {d["secretKey"] for d in es["spec"]["data"]} >= {"jwt-secret"}


def test_rolling_updates_never_reduce_capacity(rendered: Render) -> None:
    for workload in rendered.of_kind("Deployment"):
        assert workload["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for rollout in rendered.of_kind("Rollout"):
        if "canary" in rollout["spec"]["strategy"]:
            assert rollout["spec"]["strategy"]["canary"]["maxUnavailable"] == 0


def test_references_between_objects_resolve(rendered: Render) -> None:
    services = {s["metadata"]["name"]: s for s in rendered.of_kind("Service")}
    workloads = {(w["kind"], w["metadata"]["name"]): w for w in rendered.workloads()}
    for svc in services.values():
        assert any(
            selects(
                {"matchLabels": svc["spec"]["selector"]},
                w["spec"]["template"]["metadata"]["labels"],
            )
            for w in workloads.values()
        )
    for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        assert (ref["kind"], ref["name"]) in workloads
        assert "replicas" not in workloads[(ref["kind"], ref["name"])]["spec"], (
            "HPA-managed workloads must not pin replicas"
        )
    templates = {t["metadata"]["name"] for t in rendered.of_kind("AnalysisTemplate")}
    for rollout in rendered.of_kind("Rollout"):
        strategy = rollout["spec"]["strategy"]
        analysis = strategy.get("canary", {}).get("analysis") or strategy.get("blueGreen", {}).get(
            "prePromotionAnalysis"
        )
        if analysis:
            assert {t["templateName"] for t in analysis["templates"]} <= templates
        if "blueGreen" in strategy:
            assert {
                strategy["blueGreen"]["activeService"],
                strategy["blueGreen"]["previewService"],
            } <= set(services)
        routing = strategy.get("canary", {}).get("trafficRouting", {}).get("istio")
        if routing:
            assert rendered.get("VirtualService", routing["virtualService"]["name"])
            assert rendered.get("DestinationRule", routing["destinationRule"]["name"])
    for ingress in rendered.of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] in services
    for route in rendered.of_kind("HTTPRoute"):
        for rule in route["spec"]["rules"]:
            assert all(b["name"] in services for b in rule.get("backendRefs", []))
    tls_secrets = {c["spec"]["secretName"] for c in rendered.of_kind("Certificate")}
    for ingress in rendered.of_kind("Ingress"):
        assert {t["secretName"] for t in ingress["spec"].get("tls", [])} <= tls_secrets


def test_security_headers_at_the_edge(rendered: Render) -> None:
    wanted = {
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    }
    for ingress in rendered.of_kind("Ingress"):
        cm_ref = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/custom-headers"]
        cm = rendered.get("ConfigMap", cm_ref.split("/")[1])
        assert cm and wanted <= set(cm["data"])
    for route in rendered.of_kind("HTTPRoute"):
        for rule in route["spec"]["rules"]:
            if rule.get("backendRefs"):
                headers = {
                    h["name"] for f in rule["filters"] for h in f["responseHeaderModifier"]["set"]
                }
                assert wanted <= headers


def test_prod_is_highly_available_and_progressive(renders: dict[str, Render]) -> None:
    for render in (renders["prod"], renders["prod-bluegreen"]):
        assert not render.of_kind("Deployment")
        for rollout in render.of_kind("Rollout"):
            spread = rollout["spec"]["template"]["spec"]["topologySpreadConstraints"]
            assert any(
                c["topologyKey"] == "topology.kubernetes.io/zone"
                and c["whenUnsatisfiable"] == "DoNotSchedule"
                for c in spread
            )
        for hpa in render.of_kind("HorizontalPodAutoscaler"):
            assert hpa["spec"]["minReplicas"] >= 3
    canary = renders["prod"].get("Rollout", "blog-creator-backend")
    assert canary is not None
    assert (
        canary["spec"]["strategy"]["canary"]["analysis"]["templates"][0]["templateName"]
        == "blog-creator-canary-health"
    )
    blue_green = renders["prod-bluegreen"].get("Rollout", "blog-creator-backend")
    assert (
        blue_green is not None
        and blue_green["spec"]["strategy"]["blueGreen"]["autoPromotionEnabled"] is False
    )
    assert "prePromotionAnalysis" in blue_green["spec"]["strategy"]["blueGreen"]


def test_analysis_queries_prometheus_for_error_rate_and_p95(renders: dict[str, Render]) -> None:
    (template,) = renders["prod"].of_kind("AnalysisTemplate")
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert set(metrics) == {"canary-requests", "error-rate", "p95-latency"}
    assert '=~"5.."' in metrics["error-rate"]["provider"]["prometheus"]["query"]
    assert "histogram_quantile(0.95" in metrics["p95-latency"]["provider"]["prometheus"]["query"]
    assert "{{args.canary-hash}}" in metrics["p95-latency"]["provider"]["prometheus"]["query"]
    assert "<= 0.005" in metrics["error-rate"]["successCondition"]  # prod's stricter bound
    monitor = renders["prod"].of_kind("ServiceMonitor")[0]
    assert "rollouts-pod-template-hash" in monitor["spec"]["podTargetLabels"]


def test_slo_alerts(renders: dict[str, Render]) -> None:
    (rule,) = renders["prod"].of_kind("PrometheusRule")
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert set(alerts) == {
        "BlogCreatorErrorBudgetFastBurn",
        "BlogCreatorErrorBudgetSlowBurn",
        "BlogCreatorHighLatencyP95",
        "BlogCreatorHigh5xxRatio",
        "BlogCreatorPodRestarts",
        "BlogCreatorHPAAtMax",
    }
    budget = round(1 - 0.999, 6)
    assert f"(14.4 * {budget})" in alerts["BlogCreatorErrorBudgetFastBurn"]["expr"]
    assert alerts["BlogCreatorHighLatencyP95"]["expr"].rstrip().endswith("> 2")
    # prod alerts are stricter than dev's
    dev_rule = renders["dev"].of_kind("PrometheusRule")[0]
    dev_alerts = {
        r["alert"]: r for g in dev_rule["spec"]["groups"] for r in g["rules"] if "alert" in r
    }
    assert alerts["BlogCreatorHigh5xxRatio"]["expr"].endswith("> 0.02")
    assert dev_alerts["BlogCreatorHigh5xxRatio"]["expr"].endswith("> 0.1")
    assert alerts["BlogCreatorHigh5xxRatio"]["labels"]["severity"] == "critical"


def test_dashboard_is_valid_grafana_json(renders: dict[str, Render]) -> None:
    import json

    cm = renders["prod"].get("ConfigMap", "blog-creator-dashboard")
    assert cm and cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["blog-creator.json"])
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    assert 'namespace="blog-prod"' in exprs and "__NAMESPACE__" not in exprs
    assert len(dashboard["panels"]) >= 6


def test_otel_and_frontend_runtime_settings(renders: dict[str, Render]) -> None:
    cm = renders["prod"].get("ConfigMap", "blog-creator-config")
    assert cm and cm["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http")
    assert cm["data"]["APP_ENV"] == "production"
    assert cm["data"]["LOG_LEVEL"] in {
        "DEBUG",
        "INFO",
        "WARNING",
        "ERROR",
        "CRITICAL",
    }  # backend's Literal
    # Redis needs a password in prod: the URL comes from the Secret, not the ConfigMap.
    assert "REDIS_URL" not in cm["data"]
    backend = renders["prod"].get("Rollout", "blog-creator-backend")
    assert backend
    backend_env = {
        e["name"]: e for e in backend["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert backend_env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["key"] == "redis-url"
    (external,) = renders["prod"].of_kind("ExternalSecret")
    assert {"redis-url", "elasticsearch-api-key"} <= {
        d["secretKey"] for d in external["spec"]["data"]
    }
    frontend = renders["prod"].get("Rollout", "blog-creator-frontend")
    assert frontend
    env = {
        e["name"]: e.get("value")
        for e in frontend["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["API_URL"] == "http://blog-creator-backend.blog-prod.svc:8000"
    assert "deployment.environment=prod" in env["OTEL_RESOURCE_ATTRIBUTES"]
    minimal = renders["minimal"].get("ConfigMap", "blog-creator-config")
    assert minimal and minimal["data"]["OTEL_SDK_DISABLED"] == "true"


def test_blue_green_analysis_sees_the_preview_pods(renders: dict[str, Render]) -> None:
    """Pre-promotion analysis needs series of pods that only the preview Service selects, and
    traffic there (nobody else calls it before promotion)."""
    for name in ("staging", "prod-bluegreen"):
        render = renders[name]
        monitor = render.get("ServiceMonitor", "blog-creator-backend")
        assert monitor
        (expr,) = monitor["spec"]["selector"]["matchExpressions"]
        assert set(expr["values"]) == {"active", "preview"}
        relabel = {
            r["targetLabel"]: r["replacement"]
            for r in monitor["spec"]["endpoints"][0]["relabelings"]
        }
        # Both Services' targets of one pod get identical labels: scraped once, one job.
        assert relabel == {"job": "blog-creator-backend", "service": "blog-creator-backend"}
        rollout = render.get("Rollout", "blog-creator-backend")
        assert rollout
        analysis = rollout["spec"]["strategy"]["blueGreen"]["prePromotionAnalysis"]
        assert [t["templateName"] for t in analysis["templates"]] == [
            "blog-creator-canary-health",
            "blog-creator-preview-traffic",
        ]
        args = {a["name"]: a.get("value") for a in analysis["args"]}
        assert args["preview-service"] == "blog-creator-backend-preview"
        traffic = render.get("AnalysisTemplate", "blog-creator-preview-traffic")
        assert traffic
        job = traffic["spec"]["metrics"][0]["provider"]["job"]
        pod = job["spec"]["template"]
        # Runs as the smoke-test identity, which the NetworkPolicies let reach the backend.
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "smoke-test"
        assert render.get("NetworkPolicy", "blog-creator-smoke-test")
        (container,) = pod["spec"]["containers"]
        assert "{{args.preview-service}}:8000/api/v1/auth/me" in container["command"][2]
        assert job["spec"]["activeDeadlineSeconds"] > 0 and job["spec"]["backoffLimit"] == 0
