"""pipeline.yaml's environments against the chart and values they deploy.

A deploy reads pipeline.yaml (namespace, release, url, timeout) and applies the chart with the
environment's values file; these tests fail when the two disagree in a way only a real deploy
would otherwise show (smoke checks against a host the chart does not serve, the API path
answered by the frontend).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml
from k8s_support import CHART, FULLNAME, REPO, Render, pipeline_environments

API_PREFIX = "/api/v1"  # backend/app/api/main.py API_PREFIX


def values_of(values_file: str) -> dict[str, Any]:
    base = yaml.safe_load((CHART / "values.yaml").read_text())
    env = yaml.safe_load((REPO / values_file).read_text())
    return {**base, "routing": {**base["routing"], **env.get("routing", {})}}


def test_smoke_url_is_the_chart_host_of_each_environment() -> None:
    for name, env in pipeline_environments().items():
        if env.get("ephemeral"):
            continue  # the throwaway cluster is reached through the API server proxy
        host = values_of(env["values_file"])["routing"]["host"]
        assert urlsplit(env["url"]).hostname == host, (
            f"pipeline.yaml environments.{name}.url {env['url']!r}: the chart serves "
            f"{host!r} ({env['values_file']} routing.host); smoke checks would hit another site"
        )


def _route_of(render: Render, path: str) -> str | None:
    """Service that the edge (Ingress or HTTPRoute) sends `path` to: longest prefix wins."""
    candidates: list[tuple[str, str]] = []
    for ingress in render.of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                candidates.append((p["path"], p["backend"]["service"]["name"]))
    for route in render.of_kind("HTTPRoute"):
        for rule in route["spec"]["rules"]:
            for match in rule.get("matches", []):
                for ref in rule.get("backendRefs", []):
                    candidates.append((match["path"]["value"], ref["name"]))
    matching = [
        (prefix, svc)
        for prefix, svc in candidates
        if path == prefix or path.startswith(prefix.rstrip("/") + "/")
    ]
    return max(matching, key=lambda m: len(m[0]))[1] if matching else None


def test_the_api_is_routed_to_the_backend_and_pages_to_the_frontend(
    renders: dict[str, Render],
) -> None:
    for name in ("dev", "staging", "prod", "canary-istio", "httproute-shared-gateway"):
        render = renders[name]
        assert _route_of(render, f"{API_PREFIX}/auth/me") == f"{FULLNAME}-backend", name
        assert _route_of(render, "/") == f"{FULLNAME}-frontend", name
        # The frontend's own /api routes (health, BFF) stay on the frontend.
        assert _route_of(render, "/api/health") == f"{FULLNAME}-frontend", name


def test_the_edge_may_reach_the_backend(renders: dict[str, Render]) -> None:
    prod = renders["prod"]
    policy = prod.get("NetworkPolicy", f"{FULLNAME}-backend")
    assert policy
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    } in peers
    istio = prod.get("AuthorizationPolicy", f"{FULLNAME}-backend")
    assert istio
    principals = istio["spec"]["rules"][0]["from"][0]["source"]["principals"]
    assert "cluster.local/ns/ingress-nginx/sa/ingress-nginx" in principals
    staging = renders["staging"]
    policy = staging.get("NetworkPolicy", f"{FULLNAME}-backend")
    assert policy
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    assert {
        "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": FULLNAME}}
    } in peers


def test_meshed_ingress_names_one_service_per_ingress(renders: dict[str, Render]) -> None:
    """ingress-nginx's upstream-vhost is per Ingress: the API needs its own Ingress object."""
    for ingress in renders["prod"].of_kind("Ingress"):
        (rule,) = ingress["spec"]["rules"]
        (path,) = rule["http"]["paths"]
        vhost = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/upstream-vhost"]
        assert vhost.startswith(path["backend"]["service"]["name"] + ".")


def _deadline_module() -> Any:
    import importlib

    return importlib.import_module("pipeline.deploy.deadline")


def test_rollout_deadline_covers_each_environments_planned_waits(
    renders: dict[str, Render],
) -> None:
    """D3: prod's pauses (17 min) exceeded its 600 s timeout, so every canary rolled back."""
    deadline = _deadline_module()
    envs = pipeline_environments()
    for name in ("staging", "prod"):
        render = renders[name]
        rollouts = render.of_kind("Rollout")
        templates = {t["metadata"]["name"]: t for t in render.of_kind("AnalysisTemplate")}
        timeout = envs[name].get("timeout_seconds", 300)
        planned = max(deadline.planned_wait_seconds(r, templates) for r in rollouts)
        assert planned > 0, f"{name}: no planned wait found in the rendered Rollouts"
        assert deadline.deadline_seconds(timeout, rollouts, templates) == timeout + planned
    prod = renders["prod"]
    backend = prod.get("Rollout", f"{FULLNAME}-backend")
    assert backend
    assert deadline.planned_wait_seconds(backend, {}) == 17 * 60
    # The background analysis must be able to finish its measurements within the pauses that
    # follow analysisStartingStep, or the rollout completes before it has judged the canary.
    canary = backend["spec"]["strategy"]["canary"]
    after_start = {
        "spec": {
            "strategy": {"canary": {"steps": canary["steps"][canary["analysis"]["startingStep"] :]}}
        }
    }
    (template,) = [
        t
        for t in prod.of_kind("AnalysisTemplate")
        if t["metadata"]["name"].endswith("canary-health")
    ]
    assert deadline.analysis_seconds(template) <= deadline.planned_wait_seconds(after_start, {})
