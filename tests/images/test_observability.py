"""The compose `observability` profile is wired to real files, and every metric the provisioned
Grafana dashboard queries is exposed by the running backend image. (Prometheus, Grafana, the
collector and Jaeger images cannot be pulled here, so the profile itself is not started.)"""

from __future__ import annotations

import json
import re
import uuid

import yaml
from images_compose import compose
from images_docker import REPO, docker, http_get
from images_stack import start_backend

OBS = REPO / "observability"


def profile_config() -> dict:
    out = compose([REPO / "compose.yaml"], "blogimg-obs", "--profile", "observability", "config",
                  env={"JWT_SECRET": "x" * 40}).stdout
    return yaml.safe_load(out)["services"]


def test_profile_mounts_existing_config_files() -> None:
    services = profile_config()
    for name in ("prometheus", "grafana", "otel-collector"):
        for volume in services[name]["volumes"]:
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
    prom = yaml.safe_load((OBS / "prometheus.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert "backend:8000" in targets
    otel = yaml.safe_load((OBS / "otel-collector.yaml").read_text())
    traces = otel["service"]["pipelines"]["traces"]
    assert set(traces["receivers"]) <= set(otel["receivers"]) and set(traces["exporters"]) <= set(otel["exporters"])
    assert otel["exporters"]["otlp/jaeger"]["endpoint"].startswith("jaeger:")
    assert "jaeger" in services and "otel-collector" in services


def test_dashboard_queries_metrics_the_backend_exposes(backend_runtime: str) -> None:
    dashboard = json.loads((OBS / "grafana/dashboards/blog-creator.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queried = {m for e in exprs for m in re.findall(r"\b([a-z_]+(?:_total|_seconds_bucket|_in_progress))\b", e)}
    assert len(queried) >= 4, queried

    net = f"blogimg-obs-{uuid.uuid4().hex[:8]}"
    docker("network", "create", net)
    backend = None
    try:
        backend, url = start_backend(backend_runtime, net)
        http_get(url + "/healthz")
        status, body, _ = http_get(url + "/metrics")
        assert status == 200
        exposed = {line.split("{")[0].split(" ")[0] for line in body.decode().splitlines()
                   if line and not line.startswith("#")}
        exposed |= {m.split(" ")[2] for m in body.decode().splitlines() if m.startswith("# TYPE")}
        # Histograms appear as <name>_bucket samples; counters as <name>_total.
        missing = {m for m in queried if m not in exposed and m.removesuffix("_bucket") not in exposed}
        assert not missing, f"dashboard queries metrics the backend does not expose: {missing}"
    finally:
        if backend:
            backend.remove()
        docker("network", "rm", net, check=False)
