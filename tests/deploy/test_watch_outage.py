"""The Rollouts wait rides out an API server blip (drill d's finding): a poll the API server
does not answer is neither a failure nor a success; the wait goes on until its deadline.
Through the recording fake of the API server (deploy_fakes.FakeCluster): none can run here
for a unit test; the real outage is drill d on the real node (tests/cluster)."""

from __future__ import annotations

from dataclasses import dataclass

from deploy_fakes import FakeClock, FakeCluster, make_target

from pipeline.deploy.tools import CommandResult
from pipeline.deploy.watch import wait_rollouts

REFUSED = "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"


@dataclass
class Outage(FakeCluster):
    """Refuses the first `down_polls` reads of each Rollout, as a stopped API server does."""

    down_polls: int = 3
    error: str = REFUSED

    def _kubectl(self, argv: tuple[str, ...]) -> CommandResult:
        if argv[:2] == ("get", "rollouts.argoproj.io") and not argv[2].startswith("--"):
            seen = self.__dict__.setdefault("_reads", {})
            seen[argv[2]] = seen.get(argv[2], 0) + 1
            if seen[argv[2]] <= self.down_polls:
                return self._fail(argv, self.error)
        return super()._kubectl(argv)


def test_a_refused_poll_does_not_fail_the_canary_wait() -> None:
    clock = FakeClock()
    cluster = Outage(clock, strategy="canary", rollout_phases=["Healthy"])
    target = make_target("prod", "canary", timeout_seconds=600)
    outcome = wait_rollouts(cluster, clock, target, list(cluster.workloads), 600)
    assert outcome.ok, outcome.detail
    assert "healthy" in outcome.detail


def test_an_outage_past_the_deadline_says_the_api_server_did_not_answer() -> None:
    clock = FakeClock()
    cluster = Outage(clock, strategy="canary", rollout_phases=["Healthy"], down_polls=10**6)
    target = make_target("prod", "canary", timeout_seconds=60)
    outcome = wait_rollouts(cluster, clock, target, list(cluster.workloads), 60)
    assert not outcome.ok
    assert "not healthy within" in outcome.detail and "Unreachable" in outcome.detail
    assert "refused" in outcome.detail


def test_a_rollout_that_is_gone_still_fails_at_once() -> None:
    clock = FakeClock()
    gone = 'Error from server (NotFound): rollouts.argoproj.io "blog-creator-backend" not found'
    cluster = Outage(clock, strategy="canary", rollout_phases=["Healthy"], error=gone)
    target = make_target("prod", "canary", timeout_seconds=600)
    start = clock.monotonic()
    outcome = wait_rollouts(cluster, clock, target, list(cluster.workloads), 600)
    assert not outcome.ok and "Missing" in outcome.detail
    assert clock.monotonic() - start < 60
