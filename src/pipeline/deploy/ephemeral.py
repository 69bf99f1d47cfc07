"""The throwaway cluster of `deploy --env local`: how k3s starts, and preparing it for a rehearsal.

The k3s server (image, entrypoint, command, where its kubeconfig appears) is plain data here;
`pipeline.deploy_container` only turns it into a Dagger service. The admin kubeconfig never
leaves the two containers of the call: k3s writes it to a tmpfs of the service, which hands it
out once over the service network (`K3S_SERVICE_SCRIPT`); `fetch_kubeconfig` (run by the
orchestrator in the tools container) reads it into a tmpfs there. No cache volume, File, layer,
query or return value holds it (Dagger has no File-to-Secret call; `setSecret` would put the
plaintext into a query). `prepare` then waits for a
Ready node and installs what the chart needs — the Argo Rollouts controller for
blueGreen/canary, a Prometheus server for the canary analysis (scraping the app as the chart's
ServiceMonitor asks the Prometheus Operator to) — and the app Secret the chart references (a
random JWT key written to a temp file, never on a command line). The chart values for one node
are the environment's own values file (k8s/environments/local.yaml) plus REHEARSAL_OVERLAY.
`pipeline.deploy.rehearse` runs the two deploys of `deploy --env local` on that cluster.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from collections.abc import Callable

from . import helm
from .kube import uses_rollouts
from .request import DeployTarget
from .tools import Clock, ClusterTools, CommandResult, SystemClock

# The k3s image (pinned by digest) is the toolchain table's (src/pipeline/toolchain.json).
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


# The one-shot kubeconfig handoff. k3s writes its admin kubeconfig into K3S_CONFIG_DIR (a tmpfs
# of the service); the service script copies it, rewritten for K3S_HOST, into HANDOFF_DIR (another
# tmpfs) and starts busybox inetd on HANDOFF_PORT. Each connection runs K3S_SERVE_ONCE, which
# renames the copy away before printing it: exactly one client ever receives it, and a client
# that receives nothing knows someone else did (fetch_kubeconfig then refuses the cluster).
HANDOFF_PORT = 6444
HANDOFF_DIR = "/run/k3s-handoff"
SERVICE_SCRIPT_PATH = "/usr/bin/k3s-service.sh"
SERVE_ONCE_PATH = "/usr/bin/k3s-serve-once.sh"
INETD_CONF_PATH = "/etc/k3s-handoff.inetd.conf"
# Where the tools container keeps it: a tmpfs mount, so not in the exec's layer either.
TOOLS_KUBECONFIG_DIR = "/run/k3s"
TOOLS_KUBECONFIG = f"{TOOLS_KUBECONFIG_DIR}/kubeconfig"
KUBECONFIG_WAIT_S = 180

K3S_SERVICE_SCRIPT = f"""#!/bin/sh
set -eu
{K3S_SERVER_COMMAND} &
k3s_pid=$!
i=0
until [ -f {K3S_CONFIG_DIR}/k3s.yaml ] && grep -q client-key-data {K3S_CONFIG_DIR}/k3s.yaml; do
  i=$((i+1))
  if [ "$i" -gt {KUBECONFIG_WAIT_S} ]; then echo "k3s wrote no kubeconfig in {KUBECONFIG_WAIT_S}s" >&2; exit 1; fi
  kill -0 "$k3s_pid" 2>/dev/null || {{ echo "k3s server exited" >&2; exit 1; }}
  sleep 1
done
umask 077
sed 's#https://127.0.0.1:6443#https://{K3S_HOST}:6443#' {K3S_CONFIG_DIR}/k3s.yaml > {HANDOFF_DIR}/kubeconfig.tmp
mv {HANDOFF_DIR}/kubeconfig.tmp {HANDOFF_DIR}/kubeconfig
if command -v inetd >/dev/null 2>&1; then inetd -f {INETD_CONF_PATH} &
else busybox inetd -f {INETD_CONF_PATH} &
fi
wait "$k3s_pid"
"""
K3S_SERVE_ONCE = f"""#!/bin/sh
# rename is atomic: of concurrent connections, one takes the kubeconfig, the others get nothing
mv {HANDOFF_DIR}/kubeconfig {HANDOFF_DIR}/taken.$$ 2>/dev/null || exit 0
cat {HANDOFF_DIR}/taken.$$
rm -f {HANDOFF_DIR}/taken.$$
"""
INETD_CONF = f"{HANDOFF_PORT} stream tcp nowait root {SERVE_ONCE_PATH} k3s-serve-once.sh\n"


class HandoffFailed(Exception):
    """The throwaway cluster's kubeconfig could not be fetched; the message says why."""


def fetch_kubeconfig(
    address: str,
    out: str,
    *,
    wait_s: float = KUBECONFIG_WAIT_S,
    connect: Callable[[tuple[str, int], float], socket.socket] = socket.create_connection,
    clock: Clock | None = None,
) -> None:
    """Read the one-shot kubeconfig from `address` (HOST:PORT) into `out` (mode 0600).

    Retries while the port refuses (k3s still starting), bounded by `wait_s`. An empty answer
    means another client took it first: refused, since that client holds cluster-admin.
    """
    host, _, port_text = address.rpartition(":")
    if not host or not port_text.isdigit():
        raise HandoffFailed(f"--kubeconfig-from: {address!r} must be HOST:PORT, e.g. k3s:6444")
    clock = clock or SystemClock()
    end = clock.monotonic() + wait_s
    while True:  # only connecting is retried: a connection may take the one copy
        try:
            conn = connect((host, int(port_text)), 30.0)
            break
        except OSError as e:
            if clock.monotonic() >= end:
                raise HandoffFailed(
                    f"the throwaway cluster served no kubeconfig on {address} within "
                    f"{wait_s:.0f}s ({e.__class__.__name__}: {e})"
                ) from None
            clock.sleep(POLL_S)
    with conn:
        try:
            data = _read_all(conn)
        except OSError as e:
            raise HandoffFailed(f"reading the kubeconfig from {address} failed: {e}") from None
    text = data.decode("utf-8", "replace")
    if not text.strip():
        raise HandoffFailed(
            f"{address} served no kubeconfig: it is handed out once and another client took it; "
            "refusing this cluster"
        )
    if not text.startswith("apiVersion:") or f"https://{K3S_HOST}:6443" not in text:
        raise HandoffFailed(f"{address} served something that is not k3s's kubeconfig")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _read_all(conn: socket.socket, limit: int = 1 << 20) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := conn.recv(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise HandoffFailed(f"the kubeconfig handoff sent more than {limit} bytes")
    return b"".join(chunks)


ARGO_ROLLOUTS_VERSION = "v1.9.1"
# The install manifest of that release: the Dagger side downloads it checked against the
# toolchain table's SHA-256 and puts it here; `prepare` applies this file, never a URL.
ARGO_ROLLOUTS_MANIFEST = "/deploy/argo-rollouts-install.yaml"
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

# The rehearsal overlay of the throwaway cluster: `--set` paths applied after the environment's
# values file (target.extra_values), the mechanism of the real-node rehearsal
# (tests/rehearsal/rehearsal_target.py). Only the analysis timing of that rehearsal's staging
# overlay applies here (same keys, same values: a rehearsal in minutes; tests/rehearsal/README.md
# gives the reasons; prod's measures faster on 5 s scrapes, which k3s's Prometheus lacks): local.yaml is already written for one node, so the real node's other overlay
# keys (replicas, CPU requests, mesh, Elasticsearch) have nothing to change. The canary pauses
# stay the chart's (a `--set` of one list index would replace the whole list of steps).
REHEARSAL_OVERLAY: tuple[tuple[str, str], ...] = (
    ("analysis.interval", "20s"),
    ("analysis.window", "1m"),
    ("analysis.count", "3"),
)
SCRAPE_INTERVAL = "15s"  # 4 samples per 1m analysis window (rate() needs two)
# The apps the chart makes a ServiceMonitor for (`<app>.metrics: true`; the frontend has none).
METRICS_APPS = ("backend",)


def overlay_values() -> tuple[str, ...]:
    """REHEARSAL_OVERLAY as `key=value` strings for target.extra_values."""
    return tuple(f"{key}={value}" for key, value in REHEARSAL_OVERLAY)


def scrape_values(target: DeployTarget) -> str:
    """Helm values for the Prometheus chart: one scrape job doing what the chart's ServiceMonitor
    (k8s/chart/templates/servicemonitor.yaml) asks of the Prometheus Operator in production —
    the app Services with `blog-creator/service-role` active or preview, port `http`, `/metrics`;
    `job` = the app's name (the Service's without `-preview`, so a pod behind both is one target),
    `namespace`, and the pod label `rollouts-pod-template-hash` copied onto every series. The
    canary analysis selects the new pods by exactly these labels; without them it sees no data
    and fails (no data is never a pass)."""
    job = f"""- job_name: {target.release}-servicemonitor
  scrape_interval: {SCRAPE_INTERVAL}
  scrape_timeout: 10s
  metrics_path: /metrics
  kubernetes_sd_configs:
    - role: endpoints
      namespaces: {{names: [{target.namespace}]}}
  relabel_configs:
    - source_labels: [__meta_kubernetes_service_label_blog_creator_service_role]
      regex: active|preview
      action: keep
    - source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_instance]
      regex: {target.release}
      action: keep
    - source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_component]
      regex: {"|".join(METRICS_APPS)}
      action: keep
    - source_labels: [__meta_kubernetes_endpoint_port_name]
      regex: http
      action: keep
    - source_labels: [__meta_kubernetes_service_name]
      regex: (.+?)(-preview)?
      target_label: job
    - source_labels: [__meta_kubernetes_service_name]
      regex: (.+?)(-preview)?
      target_label: service
    - source_labels: [__meta_kubernetes_namespace]
      target_label: namespace
    - source_labels: [__meta_kubernetes_pod_name]
      target_label: pod
    - source_labels: [__meta_kubernetes_pod_label_rollouts_pod_template_hash]
      target_label: rollouts_pod_template_hash
"""
    indented = "".join(f"  {line}\n" for line in job.splitlines())
    return f"extraScrapeConfigs: |\n{indented}"


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
        _ok(_install_prometheus(tools, target), "install Prometheus for the canary analysis")
        done.append(f"Prometheus at {PROMETHEUS_ADDRESS}, scraping like the chart's ServiceMonitor")
    done.append(_app_secret(tools, target))
    return done


def _install_prometheus(tools: ClusterTools, target: DeployTarget) -> CommandResult:
    fd, path = tempfile.mkstemp(prefix="prometheus-values-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(scrape_values(target))
        return tools.run("helm", [*PROMETHEUS_INSTALL, "--values", path], READY_TIMEOUT_S + 60)
    finally:
        os.unlink(path)


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
