"""The deploy lock and stuck-release recovery against a REAL Kubernetes API server.

scripts/k8s-cluster.sh starts kube-apiserver/etcd/controller-manager/scheduler with kwok fake
nodes: the Lease is a real coordination.k8s.io object (create conflicts, resourceVersion
guards), Helm really records revisions, and a `helm upgrade --wait` killed with SIGKILL really
leaves its revision in `pending-upgrade` (every later `helm upgrade` then fails with "another
operation (install/upgrade/rollback) is in progress"). A one-Deployment chart keeps it fast.
Skips without the control-plane binaries unless CLUSTER_TESTS=required.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_kwok_cluster import start_cluster

from pipeline.deploy import actions, lock
from pipeline.deploy.report import EXIT_OK, EXIT_REFUSED
from pipeline.deploy.request import DeployRequest, DeployTarget, ImageRef
from pipeline.deploy.tools import SubprocessClusterTools, SystemClock

pytestmark = pytest.mark.timeout(300)

NAMESPACE = "lock-test"
RELEASE = "tiny"
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    "values.yaml": "image: registry.local/tiny:1\n",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: tiny
  labels: {app.kubernetes.io/instance: {{ .Release.Name }}}
spec:
  replicas: 1
  selector: {matchLabels: {app: tiny}}
  template:
    metadata: {labels: {app: tiny, app.kubernetes.io/instance: {{ .Release.Name }}}}
    spec:
      containers: [{name: c, image: "{{ .Values.image }}"}]
""",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, SubprocessClusterTools]]:
    yield from start_cluster("lock")


@pytest.fixture(scope="module")
def kubeconfig(cluster: tuple[str, SubprocessClusterTools]) -> str:
    return cluster[0]


@pytest.fixture(scope="module")
def tools(cluster: tuple[str, SubprocessClusterTools]) -> SubprocessClusterTools:
    found = cluster[1]
    assert found.run("kubectl", ["create", "namespace", NAMESPACE], 30).ok
    return found


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-chart")
    for rel, text in CHART.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def target() -> DeployTarget:
    return DeployTarget(
        env="staging",
        namespace=NAMESPACE,
        values_file="values.yaml",
        strategy="rolling",
        url="http://127.0.0.1:9",
        release=RELEASE,
        timeout_seconds=60,
    )


def request() -> DeployRequest:
    images = {
        app: ImageRef.parse(f"registry.local/{app}@sha256:{'a' * 64}", app)
        for app in ("backend", "frontend")
    }
    return DeployRequest(target=target(), images=images)


def helm(
    tools: SubprocessClusterTools, *args: str, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    exe = tools.executable("helm")
    assert exe
    return subprocess.run(
        [exe, *args, "--namespace", NAMESPACE, "--kubeconfig", str(tools.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def history(tools: SubprocessClusterTools) -> list[tuple[int, str]]:
    done = helm(tools, "history", RELEASE, "--output", "json")
    assert done.returncode == 0, done.stderr
    return [(e["revision"], e["status"]) for e in json.loads(done.stdout)]


def release_lease(tools: SubprocessClusterTools) -> None:
    tools.run(
        "kubectl",
        [
            "delete",
            lock.LEASE_KIND,
            lock.lease_name(target()),
            "-n",
            NAMESPACE,
            "--ignore-not-found",
        ],
        30,
    )


def test_second_action_is_refused_naming_the_holder_and_age(tools: SubprocessClusterTools) -> None:
    first, why = lock.acquire(tools, target(), "deploy", identity="deploy@ci-runner-1/pid-42/abcd")
    assert first is not None, why
    try:
        time.sleep(2)
        second, refusal = lock.acquire(tools, target(), "rollback")
        assert second is None
        assert "deploy@ci-runner-1/pid-42/abcd" in refusal and "`deploy`" in refusal
        assert "taken 2s ago" in refusal or "taken 3s ago" in refusal, refusal
        assert f"lease {NAMESPACE}/{RELEASE}-deploy-lock" in refusal
        # The CLI-level action is refused the same way, with exit 2 and nothing applied.
        report = actions.rollback(request(), tools, SystemClock(), None)
        assert report.exit_code == EXIT_REFUSED and "holds the deploy lock" in report.message
        assert [p.name for p in report.phases] == ["lock"]
    finally:
        assert first.release() == "released"
    again, why = lock.acquire(tools, target(), "deploy")
    assert again is not None, why
    again.release()


def test_an_expired_holder_is_taken_over_and_renewal_keeps_a_lock_alive(
    tools: SubprocessClusterTools,
) -> None:
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=lock.LEASE_SECONDS + 30)
    dead, why = lock.acquire(
        tools, target(), "deploy", now=lambda: stale, identity="deploy@gone/pid-1/dead"
    )
    assert dead is not None, why  # written with an old renewTime: a holder that stopped renewing
    taker, why = lock.acquire(tools, target(), "deploy")
    assert taker is not None, why
    assert "deploy@gone/pid-1/dead" in taker.took_over
    lease, _ = lock.read_lease(tools, target())
    assert lease["spec"]["leaseTransitions"] == 1  # type: ignore[index]
    before = lock.Holder.of(lease).renewed
    taker.start_renewing(every_s=1.0)
    time.sleep(2.5)
    lease, _ = lock.read_lease(tools, target())
    after = lock.Holder.of(lease).renewed
    assert before and after and after > before and taker.renew_failures == 0
    # The dead holder cannot release (or renew) what is no longer its lock.
    assert dead.release().startswith("the lock was no longer ours")
    assert taker.release() == "released"


def stuck_upgrade(tools: SubprocessClusterTools, chart: Path) -> None:
    """Install 1, upgrade 2, then an upgrade killed mid-wait: revision 3 stays pending-upgrade."""
    for image in ("registry.local/tiny:1", "registry.local/tiny:2"):
        done = helm(
            tools,
            "upgrade",
            "--install",
            RELEASE,
            str(chart),
            "--set",
            f"image={image}",
            "--wait",
            "--timeout",
            "60s",
        )
        assert done.returncode == 0, done.stderr
    exe = tools.executable("helm")
    proc = subprocess.Popen(
        [
            exe or "helm",
            "upgrade",
            RELEASE,
            str(chart),
            "--set",
            "image=registry.local/unpullable:3",
            "--wait",
            "--timeout",
            "120s",
            "--namespace",
            NAMESPACE,
            "--kubeconfig",
            str(tools.kubeconfig),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (3, "pending-upgrade") not in history(tools):
        time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert history(tools)[-1] == (3, "pending-upgrade")
    blocked = helm(tools, "upgrade", RELEASE, str(chart), "--set", "image=registry.local/tiny:4")
    assert blocked.returncode != 0 and "another operation" in blocked.stderr


def test_stuck_release_is_recovered_only_under_the_lock(
    tools: SubprocessClusterTools, chart: Path
) -> None:
    helm(tools, "uninstall", RELEASE)
    stuck_upgrade(tools, chart)
    # A live holder (an action still running) blocks any recovery: nothing is touched.
    live, why = lock.acquire(tools, target(), "deploy", identity="deploy@other/pid-7/live")
    assert live is not None, why

    def upgrade_body() -> object:
        raise AssertionError("must not run while another action holds the lock")

    refused = lock.run_locked("deploy", request(), tools, SystemClock(), upgrade_body)  # type: ignore[arg-type]
    assert refused.exit_code == EXIT_REFUSED and "deploy@other/pid-7/live" in refused.message
    assert history(tools)[-1] == (3, "pending-upgrade")
    live.release()

    # No live holder: the deploy takes the lock, rolls the pending revision back to 2, then runs.
    def body() -> object:
        done = helm(tools, "upgrade", RELEASE, str(chart), "--set", "image=registry.local/tiny:5")
        assert done.returncode == 0, done.stderr
        report = actions.status(request(), tools, SystemClock())
        report.exit_code, report.message = EXIT_OK, "upgraded"
        return report

    report = lock.run_locked("deploy", request(), tools, SystemClock(), body)  # type: ignore[arg-type]
    assert report.exit_code == EXIT_OK, report.message
    lock_phase = report.phases[0]
    assert (
        lock_phase.name == "lock"
        and "recovered: revision 3 was left pending-upgrade" in lock_phase.detail
    )
    assert "`helm rollback` to revision 2" in report.message
    assert [s for _, s in history(tools)][-3:] == ["pending-upgrade", "superseded", "deployed"]
    lease, _ = lock.read_lease(tools, target())
    assert lease is None  # released at the end


def test_operator_rollback_of_a_stuck_release_restores_the_last_deployed(
    tools: SubprocessClusterTools, chart: Path
) -> None:
    helm(tools, "uninstall", RELEASE)
    release_lease(tools)
    stuck_upgrade(tools, chart)
    report = actions.rollback(request(), tools, SystemClock(), None)
    assert report.exit_code == EXIT_OK, report.message
    assert "rolled back to revision 2" in report.message
    revisions = history(tools)
    assert revisions[-1] == (4, "deployed")
    done = helm(tools, "get", "values", RELEASE, "--output", "json")
    assert json.loads(done.stdout) == {"image": "registry.local/tiny:2"}
