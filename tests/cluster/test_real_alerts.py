"""The alert path on a real node: backend -> Prometheus -> Alertmanager (item 7 of issue 15).

The chart's release runs on one real node (`start --real --with-prometheus`: the Prometheus
Operator, Prometheus 3.7.3 and Debian's Alertmanager 0.25 as operator-managed pods in
`monitoring`; Prometheus finds Alertmanager through the operator's `alertmanager-operated`
Service, as kube-prometheus-stack wires them). A bounded load pod sends the same traffic twice:
1. to the healthy release: Prometheus counts it, evaluates the error ratio at 0, and no alert
   of the release is pending or firing anywhere in the window;
2. to the stable release upgraded to a test-only image variant (alerting/fault-5xx.Dockerfile:
   the runtime image plus a middleware that answers 500 for every second user request):
   BlogCreatorHigh5xxRatio goes pending, fires only after its `for:`, and Alertmanager's API
   (/api/v2/alerts) holds it with the release's labels.

Overlay alerting/values-alerts.yaml shortens the alert's `for:` (5m -> 30s) and the scrape
interval (30s -> 10s); see README.md "Alert drill". All traffic stays inside the cluster (the
load pod) or on loopback (port-forwards to Prometheus and Alertmanager); every answer is parsed.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from cluster_real_release import (
    BACKEND,
    NAMESPACE,
    Release,
    build_images,
    docker_build,
    install_release,
    load_pod,
    ready,
)
from cluster_real_support import (
    RealCluster,
    http,
    port_forward,
    prometheus_built,
    real_missing,
    start_real,
    stop_real,
)
from cluster_support import Kube, skip_or_fail
from k8s_support import find_tool

pytestmark = pytest.mark.timeout(900)

HERE = Path(__file__).parent / "alerting"
OVERLAY = ["-f", str(HERE / "values-alerts.yaml")]
ALERT = "BlogCreatorHigh5xxRatio"
FOR_SECONDS = 30  # values-alerts.yaml: metrics.prometheusRule.errorRatioFor
# Seconds of load in each phase: the alert must reach Alertmanager inside it, and must not
# without errors. Measured 75-106 s: the healthy phase's requests stay in the 5m ratio's
# denominator, so the burst needs ~35 s more to cross 10 %.
WINDOW = 150
LABELS = {"alertname": ALERT, "namespace": NAMESPACE, "service": BACKEND, "severity": "warning"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[RealCluster]:
    """A real-node cluster of its own with the Prometheus Operator, Prometheus and Alertmanager."""
    missing = real_missing() or (None if prometheus_built() else "the Prometheus Operator")
    if missing:
        skip_or_fail(f"no real node with Prometheus built ({missing}): scripts/k8s-cluster.sh build --real --with-prometheus")
    name = os.environ.get("ALERTS_CLUSTER", f"alerts-{uuid.uuid4().hex[:6]}")
    values = start_real(name, "--with-prometheus")
    try:
        yield RealCluster(
            name,
            Kube(values["KUBECONFIG"], find_tool("kubectl"), find_tool("helm")),
            values["REGISTRY"],
            values["REGISTRY_DOCKER_CONFIG"],
            prometheus=True,
        )
    finally:
        stop_real(name)


@dataclass(frozen=True)
class Drill:
    release: Release
    prometheus: str  # http://127.0.0.1:<port> (port-forward)
    alertmanager: str

    def query(self, promql: str) -> list[dict]:
        status, body = http(f"{self.prometheus}/api/v1/query?query={urllib.parse.quote(promql)}")
        assert status == 200, body[:500]
        return json.loads(body)["data"]["result"]

    def prometheus_alerts(self) -> list[dict]:
        """Pending and firing alerts of the release's namespace, as Prometheus holds them."""
        status, body = http(f"{self.prometheus}/api/v1/alerts")
        assert status == 200, body[:500]
        return [
            a
            for a in json.loads(body)["data"]["alerts"]
            if a["labels"].get("namespace") == NAMESPACE
        ]

    def alertmanager_alerts(self) -> list[dict]:
        """The alerts Alertmanager received for the release's namespace (its v2 API)."""
        status, body = http(f"{self.alertmanager}/api/v2/alerts")
        assert status == 200, body[:500]
        alerts = json.loads(body)
        assert isinstance(alerts, list), body[:500]
        return [a for a in alerts if a["labels"].get("namespace") == NAMESPACE]


@pytest.fixture(scope="module")
def drill(cluster: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    refs = build_images(cluster, tmp_path_factory.mktemp("source"))
    fault = docker_build(
        "blog-creator-real/fault-5xx:test",
        HERE / "fault-5xx.Dockerfile",
        HERE,
        "--build-arg",
        "BACKEND_IMAGE=blog-creator-real/backend:runtime",
    )
    refs["fault-5xx"] = cluster.push(fault, "blog-creator/fault-5xx")
    release = install_release(cluster, refs)
    # The overlay changes only the ServiceMonitor and the PrometheusRule: no pod is replaced.
    release.kube.ok(
        "helm", *release.helm_args(*OVERLAY, "--wait", "--timeout", "120s"), timeout=180
    )
    with (
        port_forward(
            cluster.kube, "monitoring", "svc/kube-prometheus-stack-prometheus", 9090
        ) as prom,
        port_forward(cluster.kube, "monitoring", "svc/alertmanager-operated", 9093) as am,
    ):
        yield Drill(release, prom, am)


def wait_for_prometheus(drill: Drill) -> None:
    """Both backend pods scraped every 10 s, the shortened rule loaded, Alertmanager discovered."""
    kube = drill.release.kube

    def scraped() -> bool:
        status, body = http(f"{drill.prometheus}/api/v1/targets?state=active")
        targets = (
            [
                t
                for t in json.loads(body)["data"]["activeTargets"]
                if t["labels"].get("job") == BACKEND
            ]
            if status == 200
            else []
        )
        return len(targets) == 2 and all(
            t["health"] == "up" and t["scrapeInterval"] == "10s" for t in targets
        )

    def rule_loaded() -> bool:
        status, body = http(f"{drill.prometheus}/api/v1/rules?type=alert")
        rules = (
            [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
            if status == 200
            else []
        )
        return any(
            r["name"] == ALERT
            and r["duration"] == FOR_SECONDS
            and f'namespace="{NAMESPACE}"' in r["query"]
            for r in rules
        )

    def alertmanager_discovered() -> bool:
        status, body = http(f"{drill.prometheus}/api/v1/alertmanagers")
        active = json.loads(body)["data"]["activeAlertmanagers"] if status == 200 else []
        return any(a["url"].endswith(":9093/api/v2/alerts") for a in active)

    kube.wait_until(
        scraped,
        timeout=120,
        what=f"Prometheus to scrape both backend pods every 10s as job={BACKEND}",
    )
    kube.wait_until(
        rule_loaded, timeout=120, what=f"Prometheus to load {ALERT} with for: {FOR_SECONDS}s"
    )
    kube.wait_until(alertmanager_discovered, timeout=60, what="Prometheus to discover Alertmanager")


def start_load(kube: Kube, name: str, image: str) -> float:
    """The bounded load pod (WINDOW s, at most 100 requests/s of it) on the backend's Service."""
    pod = load_pod(name, image, f"http://{BACKEND}:8000/healthz", WINDOW, WINDOW * 100)
    kube.ok("kubectl", "-n", NAMESPACE, "apply", "-f", "-", stdin=json.dumps(pod))
    kube.wait_until(
        lambda: "load started" in kube.run("kubectl", "-n", NAMESPACE, "logs", name).stdout,
        timeout=60,
        what=f"{name} to start",
    )
    return time.monotonic()


def load_result(kube: Kube, name: str) -> dict:
    kube.wait_until(
        lambda: (
            kube.get("pod", name, "-n", NAMESPACE)["status"]["phase"] in {"Succeeded", "Failed"}
        ),
        timeout=WINDOW + 60,
        what=f"{name} to stop by itself",
    )
    result = json.loads(kube.ok("kubectl", "-n", NAMESPACE, "logs", name).strip().splitlines()[-1])
    kube.ok("kubectl", "-n", NAMESPACE, "delete", "pod", name, "--wait=false")
    return result


def test_healthy_release_fires_no_alert_under_the_same_load(drill: Drill) -> None:
    """Runs first: the error burst below leaves the 5m ratio high for 5 minutes."""
    kube = drill.release.kube
    wait_for_prometheus(drill)
    started = start_load(kube, "load-healthy", drill.release.refs["backend"])
    seen: set[str] = (
        set()
    )  # "<alertname> <state>" in Prometheus, "<alertname> received" in Alertmanager

    def look() -> None:
        seen.update(f"{a['labels']['alertname']} {a['state']}" for a in drill.prometheus_alerts())
        seen.update(f"{a['labels']['alertname']} received" for a in drill.alertmanager_alerts())

    while kube.get("pod", "load-healthy", "-n", NAMESPACE)["status"]["phase"] == "Running":
        look()
        assert time.monotonic() - started < WINDOW + 30, "the load pod outlived its bound"
        time.sleep(5)
    result = load_result(kube, "load-healthy")
    time.sleep(15)  # one more scrape and rule evaluation after the last request
    look()
    print(
        f"healthy window: {result['ok']} ok, {result['failed']} failed; alerts seen: {sorted(seen)}"
    )
    assert not seen, f"alerts for a healthy release: {sorted(seen)}"
    assert result["failed"] == 0 and result["ok"] > 1000, result
    # The rule saw the traffic: Prometheus counted the load's requests and computed a ratio of 0.
    job = f'namespace="{NAMESPACE}",job="{BACKEND}"'
    (counted,) = drill.query(
        f'sum(increase(http_requests_total{{{job},route="/healthz"}}[{WINDOW}s]))'
    )
    assert float(counted["value"][1]) > result["ok"] / 2, (counted, result)
    (ratio,) = drill.query(
        f'blog_creator:request_error_ratio:rate5m{{namespace="{NAMESPACE}",service="{BACKEND}"}}'
    )
    assert float(ratio["value"][1]) == 0.0, ratio


def test_error_burst_on_the_stable_release_fires_the_alert_and_alertmanager_receives_it(
    drill: Drill,
) -> None:
    kube = drill.release.kube
    # The faulty variant deployed as the stable release (a plain upgrade of the Deployment).
    kube.ok(
        "helm",
        *drill.release.helm_args(*OVERLAY, "--wait", "--timeout", "180s", backend="fault-5xx"),
        timeout=240,
    )
    pods = drill.release.pods("backend")
    assert pods and all(
        ready(p) and p["spec"]["containers"][0]["image"] == drill.release.refs["fault-5xx"]
        for p in pods
    ), "the faulty variant is not what serves (its probes must pass)"
    wait_for_prometheus(drill)
    started = start_load(kube, "load-burst", drill.release.refs["backend"])
    pending_at = received = None
    active_at = ""
    while received is None:
        elapsed = time.monotonic() - started
        assert elapsed < WINDOW, f"{ALERT} did not reach Alertmanager within the {WINDOW} s burst"
        for alert in drill.prometheus_alerts():
            if alert["labels"]["alertname"] == ALERT and pending_at is None:
                pending_at, active_at = elapsed, alert["activeAt"]
        received = next(
            (a for a in drill.alertmanager_alerts() if a["labels"]["alertname"] == ALERT), None
        )
        if received is None:
            time.sleep(2)
    fired_after = time.monotonic() - started
    print(
        f"{ALERT}: pending {pending_at:.0f} s and in Alertmanager {fired_after:.0f} s after the burst began"
        if pending_at is not None
        else f"{ALERT} in Alertmanager {fired_after:.0f} s after the burst began"
    )
    assert {k: received["labels"].get(k) for k in LABELS} == LABELS, received["labels"]
    assert received["status"]["state"] == "active", received["status"]
    assert (
        received["annotations"]["summary"] == "More than 10% of backend requests fail with 5xx"
    ), received
    # The 5m ratio at firing time, above the threshold (diluted by the healthy window before).
    ratio = re.fullmatch(r"5xx ratio is ([0-9.]+)%\.", received["annotations"]["description"])
    assert ratio and float(ratio.group(1)) > 10, received["annotations"]
    # The burst itself: one user request in two failed (probes and scrapes spared: just under).
    job = f'namespace="{NAMESPACE}",job="{BACKEND}"'
    (burst,) = drill.query(
        f'sum(rate(http_requests_total{{{job},status=~"5.."}}[1m])) / sum(rate(http_requests_total{{{job}}}[1m]))'
    )
    assert 0.4 <= float(burst["value"][1]) <= 0.51, burst
    # It waited for its `for:`: seen pending first, and Prometheus sent it (startsAt: the time
    # it fired) no sooner than `for` after it became active.
    assert pending_at is not None, "the alert was never seen pending"
    waited = (timestamp(received["startsAt"]) - timestamp(active_at)).total_seconds()
    # (Both are evaluation timestamps, 10 s apart: sub-second jitter only.)
    assert FOR_SECONDS - 0.5 <= waited < FOR_SECONDS + 30, (active_at, received["startsAt"])
    (firing,) = [a for a in drill.prometheus_alerts() if a["labels"]["alertname"] == ALERT]
    assert firing["state"] == "firing", firing
    kube.ok("kubectl", "-n", NAMESPACE, "delete", "pod", "load-burst", "--wait=false")


def timestamp(text: str) -> datetime:
    """An RFC 3339 time of Prometheus or Alertmanager (nanoseconds cut to microseconds)."""
    match = re.fullmatch(r"(.*?T[0-9:]+)(\.[0-9]+)?(Z|[+-][0-9:]+)", text)
    assert match, text
    fraction = (match.group(2) or ".0")[:7]
    return datetime.fromisoformat(match.group(1) + fraction + match.group(3).replace("Z", "+00:00"))
