"""Prometheus on the rehearsal node, scraping what the chart's ServiceMonitors select.

    python tests/rehearsal/rehearsal_prometheus_config.py config OUT_DIR MANIFEST...   # prometheus.yml + rules
    python tests/rehearsal/rehearsal_prometheus_config.py sync KUBECONFIG OUT_DIR MAX_SECONDS MANIFEST...

No Prometheus operator runs on the node, and Debian's prometheus 2.42 is built without
kubernetes_sd, so `sync` plays the operator's part: every 3 s it reads the Services, Endpoints
and Pods of each rendered ServiceMonitor's namespaces and writes one file_sd target list per
ServiceMonitor with the operator's semantics — Services matching the selector (matchLabels and
`In` expressions), the named port, labels namespace/service/pod/job/endpoint, `podTargetLabels`
copied from the pod, then the ServiceMonitor's relabelings (targets whose labels end up identical
are one target, as in Prometheus). Each PrometheusRule's `spec.groups` becomes a rule file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from rehearsal_kubectl import get_json


def documents(manifests: list[str]) -> list[dict[str, Any]]:
    return [d for m in manifests for d in yaml.safe_load_all(Path(m).read_text()) if d]


def job_name(monitor: dict[str, Any]) -> str:
    return f"{monitor['metadata']['namespace']}-{monitor['metadata']['name']}"


def config(out: Path, manifests: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    jobs, rules = [], []
    for doc in documents(manifests):
        if doc["kind"] == "ServiceMonitor":
            (endpoint,) = doc["spec"]["endpoints"]
            job = {
                "job_name": job_name(doc),
                "metrics_path": endpoint.get("path", "/metrics"),
                "scrape_interval": endpoint.get("interval", "30s"),
                "honor_labels": endpoint.get("honorLabels", False),
                "file_sd_configs": [
                    {
                        "files": [str(out / f"targets-{job_name(doc)}.json")],
                        "refresh_interval": "5s",
                    }
                ],
            }
            # As the Operator does: no scrapeTimeout -> Prometheus takes the global timeout
            # (10 s) capped at the interval (a 5 s interval would be refused with 10 s).
            if "scrapeTimeout" in endpoint:
                job["scrape_timeout"] = endpoint["scrapeTimeout"]
            jobs.append(job)
        elif doc["kind"] == "PrometheusRule":
            path = out / f"rules-{doc['metadata']['namespace']}.yaml"
            path.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}, sort_keys=False))
            rules.append(str(path))
    cfg = {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": rules,
        "scrape_configs": jobs,
    }
    (out / "prometheus.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    for job in jobs:
        target = Path(job["file_sd_configs"][0]["files"][0])
        if not target.exists():
            target.write_text("[]")


def selected(service: dict[str, Any], selector: dict[str, Any]) -> bool:
    labels = service["metadata"].get("labels", {})
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(
        expr["operator"] == "In" and labels.get(expr["key"]) in expr["values"]
        for expr in selector.get("matchExpressions", [])
    )


def targets(kubeconfig: str, monitor: dict[str, Any]) -> list[dict[str, Any]]:
    spec = monitor["spec"]
    (endpoint,) = spec["endpoints"]
    found: dict[str, dict[str, Any]] = {}
    for ns in spec.get("namespaceSelector", {}).get(
        "matchNames", [monitor["metadata"]["namespace"]]
    ):
        services = {
            s["metadata"]["name"]: s
            for s in get_json(kubeconfig, "-n", ns, "get", "services").get("items", [])
        }
        pods = {
            p["metadata"]["name"]: p for p in get_json(kubeconfig, "-n", ns, "get", "pods").get("items", [])
        }
        for eps in get_json(kubeconfig, "-n", ns, "get", "endpoints").get("items", []):
            service = services.get(eps["metadata"]["name"])
            if service is None or not selected(service, spec.get("selector", {})):
                continue
            for subset in eps.get("subsets", []):
                ports = [
                    p["port"] for p in subset.get("ports", []) if p.get("name") == endpoint["port"]
                ]
                for address in subset.get("addresses", []) if ports else []:
                    pod = pods.get(
                        address.get("targetRef", {}).get("name", ""), {"metadata": {"labels": {}}}
                    )
                    labels = {
                        "namespace": ns,
                        "service": service["metadata"]["name"],
                        "job": service["metadata"]["name"],
                        "endpoint": endpoint["port"],
                        "pod": pod["metadata"].get("name", ""),
                    }
                    for label in spec.get("podTargetLabels", []):
                        value = pod["metadata"]["labels"].get(label)
                        if value:
                            labels[label.replace("-", "_").replace(".", "_").replace("/", "_")] = (
                                value
                            )
                    for r in endpoint.get("relabelings", []):
                        labels[r["targetLabel"]] = r["replacement"]
                    addr = f"{address['ip']}:{ports[0]}"
                    found[json.dumps([addr, sorted(labels.items())])] = {
                        "targets": [addr],
                        "labels": labels,
                    }
    return list(found.values())


def sync(kubeconfig: str, out: Path, max_seconds: float, manifests: list[str]) -> None:
    monitors = [d for d in documents(manifests) if d["kind"] == "ServiceMonitor"]
    end = time.monotonic() + max_seconds
    stop = out / "sync.stop"
    while time.monotonic() < end and not stop.exists():
        for monitor in monitors:
            path = out / f"targets-{job_name(monitor)}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(targets(kubeconfig, monitor)))
            os.replace(tmp, path)
        time.sleep(3)


if __name__ == "__main__":
    if sys.argv[1] == "config":
        config(Path(sys.argv[2]), sys.argv[3:])
    elif sys.argv[1] == "sync":
        sync(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]), sys.argv[5:])
    else:
        raise SystemExit(
            "usage: rehearsal_prometheus_config.py config OUT MANIFEST... | sync KUBECONFIG OUT MAX_S MANIFEST..."
        )
