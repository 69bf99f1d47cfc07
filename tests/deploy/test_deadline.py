"""The rollout wait's deadline follows the applied Rollout (D3): pure functions, then the
runtime hook through the recording fake of the API server (deploy_fakes.FakeCluster)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest
from deploy_fakes import FakeClock, FakeCluster, make_target

from pipeline.deploy.deadline import (
    analysis_seconds,
    deadline_seconds,
    duration_seconds,
    planned_wait_seconds,
)
from pipeline.deploy.tools import CommandResult
from pipeline.deploy.watch import wait_rollouts


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("2m", 120), ("1h", 3600), ("1h30m", 5400), ("500ms", 0.5), (45, 45), ("90", 90)],
)
def test_durations(text: object, seconds: float) -> None:
    assert math.isclose(duration_seconds(text), seconds)


@pytest.mark.parametrize("bad", ["2 minutes", "m", "1d", True, "-5s"])
def test_bad_durations_name_the_value(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        duration_seconds(bad)


PROD_STEPS = [
    {"setWeight": 5},
    {"pause": {"duration": "2m"}},
    {"setWeight": 25},
    {"pause": {"duration": "5m"}},
    {"setWeight": 50},
    {"pause": {"duration": "5m"}},
    {"setWeight": 75},
    {"pause": {"duration": "5m"}},
]
TEMPLATES = {
    "health": {
        "spec": {
            "metrics": [
                {"name": "a", "initialDelay": "1m", "interval": "1m", "count": 5},
                {"name": "b", "interval": "30s", "count": 4},
            ]
        }
    },
    "traffic": {
        "spec": {
            "metrics": [
                {"name": "j", "provider": {"job": {"spec": {"activeDeadlineSeconds": 420}}}}
            ]
        }
    },
}


def canary(steps: list[object]) -> dict[str, object]:
    return {"spec": {"strategy": {"canary": {"steps": steps}}}}


def test_canary_pauses_extend_the_deadline() -> None:
    # prod: 17 minutes of pauses; the 600 s timeout alone rolled every deploy back.
    assert planned_wait_seconds(canary(PROD_STEPS), {}) == 17 * 60
    assert deadline_seconds(600, [canary(PROD_STEPS)], {}) == 600 + 17 * 60


def test_indefinite_pause_and_inline_analysis() -> None:
    steps = [
        {"pause": {}},
        {"analysis": {"templates": [{"templateName": "health"}]}},
        {"pause": {"duration": 30}},
    ]
    # a pause without duration waits for `promote` (reported by the watch, not timed)
    assert planned_wait_seconds(canary(steps), TEMPLATES) == 360 + 30


def test_blue_green_analyses_extend_the_deadline() -> None:
    rollout = {
        "spec": {
            "strategy": {
                "blueGreen": {
                    "prePromotionAnalysis": {
                        "templates": [{"templateName": "health"}, {"templateName": "traffic"}]
                    }
                }
            }
        }
    }
    assert analysis_seconds(TEMPLATES["health"]) == 360
    assert planned_wait_seconds(rollout, TEMPLATES) == 420  # the templates run in parallel
    # several Rollouts progress in parallel: the longest counts
    assert deadline_seconds(300, [rollout, canary(PROD_STEPS[:2])], TEMPLATES) == 300 + 420


def test_rolling_and_unknown_objects_add_nothing() -> None:
    assert deadline_seconds(300, [], {}) == 300
    assert planned_wait_seconds({"spec": {"strategy": {"canary": {}}}}, {}) == 0
    assert planned_wait_seconds(None, {}) == 0


# --- the runtime hook: the wait of an applied prod canary lasts timeout + pauses -------------


@dataclass
class PausedCanary(FakeCluster):
    """The fake API server (none can run here) listing a prod-shaped canary that stays paused
    in a timed step: the wait must give up at timeout + pauses, not at the timeout."""

    def _kubectl(self, argv: tuple[str, ...]) -> CommandResult:
        if argv[:2] == ("get", "rollouts.argoproj.io") and argv[2].startswith("--"):
            items = [
                {"metadata": {"name": n}, "spec": canary(PROD_STEPS)["spec"]}
                for n in self.workloads
            ]
            return self._ok(argv, json.dumps({"items": items}))
        if argv[:2] == ("get", "analysistemplates.argoproj.io"):
            return self._ok(argv, json.dumps({"items": []}))
        return super()._kubectl(argv)


def test_wait_deadline_follows_the_applied_pauses() -> None:
    clock = FakeClock()
    cluster = PausedCanary(clock, strategy="canary", rollout_phases=["Progressing"])
    target = make_target("prod", "canary", timeout_seconds=600)
    start = clock.monotonic()
    outcome = wait_rollouts(cluster, clock, target, list(cluster.workloads), 600)
    assert not outcome.ok
    assert "not healthy within 1620s" in outcome.detail
    assert clock.monotonic() - start >= 1620
