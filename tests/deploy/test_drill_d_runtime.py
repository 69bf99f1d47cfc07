"""Drill d's decisions on the recording fake: what the runtime says and does when the API server
stops answering mid-deploy, what `status` says about a pending revision, which revision a
default `rollback` restores. The real thing: tests/cluster/test_real_apiserver_drill.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from deploy_fakes import FakeClock, FakeCluster, make_request, make_target

from pipeline.deploy import actions, lock
from pipeline.deploy.kube import unreachable
from pipeline.deploy.report import EXIT_NOT_RESTORED, EXIT_OK, to_markdown
from pipeline.deploy.tools import CommandResult, Tool

REFUSED = "dial tcp 127.0.0.1:6443: connect: connection refused"


@dataclass
class Outage(FakeCluster):
    """The API server stops during `helm upgrade`, after Helm wrote its pending record."""

    down: bool = False

    def run(self, tool: Tool, args: Sequence[str], timeout: float) -> CommandResult:
        if self.down:
            self.calls.append((tool, tuple(args)))
            return CommandResult(
                tuple(args), 1, "", f"Error: Kubernetes cluster unreachable: {REFUSED}"
            )
        if tool == "helm" and args and args[0] == "upgrade":
            self.history.append({"revision": 3, "status": "pending-upgrade"})
            self.down = True
            return CommandResult(tuple(args), 1, "", f"Error: UPGRADE FAILED: {REFUSED}")
        return super().run(tool, args, timeout)


def test_unreachable_markers() -> None:
    assert unreachable(f"helm rollback failed: Error: Kubernetes cluster unreachable: {REFUSED}")
    assert unreachable("Unable to connect to the server: EOF")
    assert not unreachable("Error: UPGRADE FAILED: admission webhook denied the request")


def test_api_server_gone_mid_deploy_exits_3_saying_what_to_do_and_when_the_lock_expires(
    clock: FakeClock,
) -> None:
    cluster = Outage(clock)
    report = actions.deploy(make_request(make_target("dev")), cluster, clock, dt.date(2026, 1, 1))
    assert report.exit_code == EXIT_NOT_RESTORED and report.outcome == "failed"
    message = report.message
    assert message.startswith(
        "the Kubernetes API server stopped answering during the deploy to dev"
    )
    assert "NOT restored: helm rollback failed" in message
    assert "`status --env dev`" in message and "`rollback --env dev` restores revision 2" in message
    assert "Helm may have left it pending-upgrade" in message and "`deploy` again" in message
    assert (
        "The deploy lock (lease blog-dev/blog-creator-deploy-lock) was left held by this run"
        in message
    )
    assert "could not read the lock to release it" in message and "expires at " in message
    assert message in to_markdown(report)


def test_other_failures_keep_their_message(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.upgrade_ok, cluster.rollback_ok = False, False
    report = actions.deploy(make_request(make_target("dev")), cluster, clock, dt.date(2026, 1, 1))
    assert report.exit_code == EXIT_NOT_RESTORED
    assert "API server" not in report.message and report.message.startswith("deploy failed (")


def test_status_names_a_pending_revision_and_the_lock_holder(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.history.append({"revision": 3, "status": "pending-upgrade"})
    report = actions.status(make_request(), cluster, clock)
    assert report.exit_code == EXIT_OK
    assert "revision 3 is pending-upgrade; no live action holds the deploy lock" in report.message
    assert (
        "`deploy` recovers it" in report.message
        and "2=deployed, 3=pending-upgrade" in report.details
    )
    held, _ = lock.acquire(cluster, make_target(), "deploy", identity="deploy@runner/pid-9/live")
    assert held is not None
    report = actions.status(make_request(), cluster, clock)
    assert (
        "`deploy` by deploy@runner/pid-9/live" in report.message
        and "holds the deploy lock" in report.message
    )


def test_default_rollback_never_targets_a_failed_or_pending_revision(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.history = [
        {"revision": 1, "status": "superseded"},
        {"revision": 2, "status": "failed"},
        {"revision": 3, "status": "pending-upgrade"},
        {"revision": 4, "status": "deployed"},
    ]
    report = actions.rollback(make_request(), cluster, clock, None)
    assert report.exit_code == EXIT_OK, report.message
    rollbacks = [c for c in cluster.mutating() if c.startswith("helm rollback")]
    assert len(rollbacks) == 1 and rollbacks[0].startswith("helm rollback blog-creator 1 "), (
        rollbacks
    )
    assert report.revision_before == 4 and "rolled back to revision 1" in report.message
