"""The throwaway cluster of `deploy --env local`: how k3s starts, and preparing it for a rehearsal.

The k3s server (image, entrypoint, command, where its kubeconfig appears) is plain data here;
`pipeline.deploy_container` only turns it into a Dagger service. `prepare` then waits for a
Ready node and installs what the chart needs — the Argo Rollouts controller for
blueGreen/canary, a Prometheus server for the canary analysis — and the app Secret the chart
references (a random JWT key written to a temp file, never on a command line). The chart
values for one node are the environment's own values file (k8s/environments/local.yaml).
"""

from __future__ import annotations

import os
import secrets
import tempfile

from . import helm
from .kube import uses_rollouts
from .request import DeployTarget
from .tools import Clock, ClusterTools, CommandResult

K3S_IMAGE = "rancher/k3s:v1.33.5-k3s1"
K3S_HOST = "k3s"  # the service alias the tools container reaches the API server by
K3S_CONFIG_DIR = "/etc/rancher/k3s"
K3S_SERVER_COMMAND = (
    "k3s server --disable traefik --disable metrics-server "
    f"--egress-selector-mode=disabled --tls-san={K3S_HOST}"
)
# k3s inside a container on cgroup v2 needs its own cgroup subtree before it starts
# (the same preparation k3d and kind do in their entrypoints).
K3S_ENTRYPOINT = """#!/bin/sh
set -eu
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers \\
    > /sys/fs/cgroup/cgroup.subtree_control
fi
exec "$@"
"""


def kubeconfig_script(config_dir: str, out: str, wait_s: int = 180) -> str:
    """Shell: wait for k3s's admin kubeconfig in `config_dir`, write it to `out` for `K3S_HOST`."""
    return (
        f"i=0; until [ -f {config_dir}/k3s.yaml ]; do i=$((i+1)); "
        f'[ "$i" -gt {wait_s} ] && echo "k3s wrote no kubeconfig in {wait_s}s" >&2 && exit 1; '
        "sleep 1; done; "
        f"sed 's#https://127.0.0.1:6443#https://{K3S_HOST}:6443#' {config_dir}/k3s.yaml > {out}"
    )


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
