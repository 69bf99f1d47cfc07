"""Prepare a throwaway cluster (k3s started by `deploy --env local`) for a release rehearsal.

Waits for the API server and a Ready node, installs what the chart needs there — the Argo
Rollouts controller for blueGreen/canary, a Prometheus server for the canary analysis — and
the app Secret the chart references (a random JWT key written to a temp file, never on a
command line). The chart values are narrowed for a one-node cluster (`LOCAL_VALUES`): no
ingress/TLS, no NetworkPolicies (k3s enforces them and would block the API-server proxy used
for smoke checks), no operator CRDs, embedded SQLite instead of Redis/Elasticsearch.
"""

from __future__ import annotations

import os
import secrets
import tempfile

from . import helm
from .kube import uses_rollouts
from .request import DeployTarget
from .tools import Clock, ClusterTools, CommandResult

ARGO_ROLLOUTS_VERSION = "v1.8.3"
ARGO_ROLLOUTS_MANIFEST = (
    "https://github.com/argoproj/argo-rollouts/releases/download/"
    f"{ARGO_ROLLOUTS_VERSION}/install.yaml"
)
PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts"
PROMETHEUS_CHART_VERSION = "27.3.0"
PROMETHEUS_ADDRESS = "http://prometheus-server.monitoring.svc:80"
APP_SECRET = "blog-creator-secrets"
READY_TIMEOUT_S = 180
POLL_S = 2.0

# `--set` values for the one-node rehearsal cluster (k8s/chart/values.yaml keys).
LOCAL_VALUES: tuple[str, ...] = (
    "routing.mode=none",
    "networkPolicy.enabled=false",
    "metrics.serviceMonitor.enabled=false",
    "metrics.prometheusRule.enabled=false",
    "otel.enabled=false",
    "config.redisUrl=null",
    "config.elasticsearchUrl=null",
    f"analysis.prometheusAddress={PROMETHEUS_ADDRESS}",
)


PROMETHEUS_INSTALL = helm.install_chart(
    "prometheus",
    "prometheus",
    repo=PROMETHEUS_REPO,
    version=PROMETHEUS_CHART_VERSION,
    namespace="monitoring",
    values=(
        "alertmanager.enabled=false",
        "prometheus-pushgateway.enabled=false",
        "server.persistentVolume.enabled=false",
    ),
    timeout_s=READY_TIMEOUT_S,
)


class EphemeralSetupFailed(Exception):
    """The throwaway cluster could not be prepared; the message says which step."""


def prepare(tools: ClusterTools, clock: Clock, target: DeployTarget) -> list[str]:
    """Make the fresh cluster ready for the chart; returns one line per step done."""
    done: list[str] = [_wait_for_node(tools, clock)]
    if uses_rollouts(target.strategy):
        _ok(
            tools.run("kubectl", ["create", "namespace", "argo-rollouts"], 30),
            "create namespace argo-rollouts",
            allow="already exists",
        )
        _ok(
            tools.run(
                "kubectl",
                [
                    "apply",
                    "--server-side",
                    "--namespace",
                    "argo-rollouts",
                    "--filename",
                    ARGO_ROLLOUTS_MANIFEST,
                ],
                120,
            ),
            "install Argo Rollouts",
        )
        _ok(
            tools.run(
                "kubectl",
                [
                    "rollout",
                    "status",
                    "deployment/argo-rollouts",
                    "--namespace",
                    "argo-rollouts",
                    f"--timeout={READY_TIMEOUT_S}s",
                ],
                READY_TIMEOUT_S + 30,
            ),
            "wait for the Argo Rollouts controller",
        )
        done.append(f"Argo Rollouts {ARGO_ROLLOUTS_VERSION} installed")
    if target.strategy == "canary":
        _ok(
            tools.run("helm", PROMETHEUS_INSTALL, READY_TIMEOUT_S + 60),
            "install Prometheus for the canary analysis",
        )
        done.append(f"Prometheus at {PROMETHEUS_ADDRESS}")
    done.append(_app_secret(tools, target))
    return done


def _wait_for_node(tools: ClusterTools, clock: Clock) -> str:
    end = clock.monotonic() + READY_TIMEOUT_S
    last = ""
    while True:
        result = tools.run(
            "kubectl", ["wait", "--for=condition=Ready", "nodes", "--all", "--timeout=30s"], 60
        )
        if result.ok:
            return "node Ready"
        last = result.reason(2)
        if clock.monotonic() >= end:
            raise EphemeralSetupFailed(
                f"the k3s node did not become Ready within {READY_TIMEOUT_S}s: {last}"
            )
        clock.sleep(POLL_S)


def _app_secret(tools: ClusterTools, target: DeployTarget) -> str:
    ns = target.namespace
    _ok(
        tools.run("kubectl", ["create", "namespace", ns], 30),
        f"create namespace {ns}",
        allow="already exists",
    )
    fd, path = tempfile.mkstemp(prefix="jwt-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        _ok(
            tools.run(
                "kubectl",
                [
                    "create",
                    "secret",
                    "generic",
                    APP_SECRET,
                    "--namespace",
                    ns,
                    f"--from-file=jwt-secret={path}",
                ],
                30,
            ),
            f"create Secret {APP_SECRET}",
            allow="already exists",
        )
    finally:
        os.unlink(path)
    return f"Secret {APP_SECRET} in {ns} (random JWT key)"


def _ok(result: CommandResult, step: str, allow: str = "") -> None:
    if result.ok or (allow and allow in result.reason().lower()):
        return
    raise EphemeralSetupFailed(f"{step} failed: {result.reason(3)}")
