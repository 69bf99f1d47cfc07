"""Waiting for the release's workloads, per strategy, within a deadline.

`rolling`: `kubectl rollout status` of each Deployment. `blueGreen`/`canary`: poll each Argo
Rollout (`kubectl get rollouts.argoproj.io -o json`) and read its phase, its pause and its
analysis runs: Healthy → done; paused indefinitely (manual promotion) → done, awaiting
`promote`; Degraded or aborted (e.g. a failed analysis) → failed; timed pauses and
progress → keep waiting until the deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from .deadline import rollout_deadline
from .kube import (
    KUBECTL_TIMEOUT_S,
    as_dict,
    as_list,
    find_workloads,
    get_rollout,
    unreachable,
    uses_rollouts,
)
from .request import DeployTarget
from .tools import Clock, ClusterTools

POLL_SECONDS = 2.0


@dataclass(frozen=True)
class WorkloadState:
    name: str
    # Healthy | Progressing | Paused | AwaitingPromotion | Degraded | Missing | Unreachable
    phase: str
    message: str = ""
    ready: str = ""
    analysis: str = ""

    @property
    def settled(self) -> bool:
        return self.phase in ("Healthy", "AwaitingPromotion")

    @property
    def failed(self) -> bool:
        return self.phase in ("Degraded", "Missing")


@dataclass(frozen=True)
class WaitOutcome:
    ok: bool
    awaiting_promotion: bool
    detail: str
    workloads: tuple[WorkloadState, ...] = ()


def rollout_state(obj: object) -> WorkloadState:
    """Interpret one Argo Rollout object (pure; unit-tested on recorded shapes)."""
    rollout = as_dict(obj)
    meta, spec, status = (
        as_dict(rollout.get("metadata")),
        as_dict(rollout.get("spec")),
        as_dict(rollout.get("status")),
    )
    name = str(meta.get("name", "?"))
    ready = f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}"
    message = str(status.get("message", ""))
    analysis = _analysis(status)
    if str(status.get("observedGeneration", "")) != str(meta.get("generation", "")):
        return WorkloadState(
            name, "Progressing", "controller has not observed the new spec yet", ready, analysis
        )
    if status.get("abort") is True:
        return WorkloadState(name, "Degraded", message or "rollout aborted", ready, analysis)
    phase = str(status.get("phase", "Progressing"))
    if phase == "Paused":
        if _indefinite_pause(spec, status):
            return WorkloadState(
                name, "AwaitingPromotion", message or "paused for promotion", ready, analysis
            )
        return WorkloadState(name, "Progressing", message or "timed pause step", ready, analysis)
    if phase not in ("Healthy", "Degraded", "Progressing"):
        phase = "Progressing"
    return WorkloadState(name, phase, message, ready, analysis)


def _analysis(status: dict[str, object]) -> str:
    runs = [
        as_dict(as_dict(status.get("canary")).get("currentStepAnalysisRunStatus")),
        as_dict(as_dict(status.get("canary")).get("currentBackgroundAnalysisRunStatus")),
        as_dict(as_dict(status.get("blueGreen")).get("prePromotionAnalysisRunStatus")),
        as_dict(as_dict(status.get("blueGreen")).get("postPromotionAnalysisRunStatus")),
    ]
    parts = [
        f"{r.get('name')}: {r.get('status')}"
        + (f" ({r.get('message')})" if r.get("message") else "")
        for r in runs
        if r
    ]
    return "; ".join(parts)


def _indefinite_pause(spec: dict[str, object], status: dict[str, object]) -> bool:
    """True when the Rollout waits for a human (`promote`), not for a timer."""
    if spec.get("paused") is True:
        return True
    strategy = as_dict(spec.get("strategy"))
    blue_green = as_dict(strategy.get("blueGreen"))
    if blue_green:
        return blue_green.get("autoPromotionEnabled") is False and not blue_green.get(
            "autoPromotionSeconds"
        )
    steps = as_list(as_dict(strategy.get("canary")).get("steps"))
    index = status.get("currentStepIndex")
    if isinstance(index, int) and 0 <= index < len(steps):
        pause = as_dict(steps[index]).get("pause")
        return isinstance(pause, dict) and not cast(dict[str, object], pause).get("duration")
    return False


def wait_for_release(
    tools: ClusterTools, clock: Clock, target: DeployTarget, deadline_s: float
) -> WaitOutcome:
    names, error = find_workloads(tools, target)
    if error:
        return WaitOutcome(False, False, error)
    if uses_rollouts(target.strategy):
        return wait_rollouts(tools, clock, target, names, deadline_s)
    return wait_deployments(tools, clock, target, names, deadline_s)


def wait_deployments(
    tools: ClusterTools, clock: Clock, target: DeployTarget, names: Sequence[str], deadline_s: float
) -> WaitOutcome:
    end = clock.monotonic() + deadline_s
    states: list[WorkloadState] = []
    for name in names:
        left = max(1, int(end - clock.monotonic()))
        done = tools.run(
            "kubectl",
            [
                "rollout",
                "status",
                f"deployment/{name}",
                "--namespace",
                target.namespace,
                f"--timeout={left}s",
            ],
            left + KUBECTL_TIMEOUT_S,
        )
        if not done.ok:
            states.append(WorkloadState(name, "Degraded", done.reason(3)))
            return WaitOutcome(
                False,
                False,
                f"deployment/{name} not ready within {deadline_s:.0f}s: {done.reason(3)}",
                tuple(states),
            )
        states.append(
            WorkloadState(
                name, "Healthy", done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            )
        )
    return WaitOutcome(True, False, f"{len(names)} deployment(s) rolled out", tuple(states))


def get_rollouts(
    tools: ClusterTools, target: DeployTarget, names: Sequence[str]
) -> list[WorkloadState]:
    """The state of each named Rollout: `Missing` when it cannot be read, `Unreachable` when
    the API server did not answer (a blip the wait rides out until its deadline)."""
    states: list[WorkloadState] = []
    for name in names:
        obj, error = get_rollout(tools, target, name)
        if not error:
            states.append(rollout_state(obj))
        else:
            states.append(
                WorkloadState(name, "Unreachable" if unreachable(error) else "Missing", error)
            )
    return states


def wait_rollouts(
    tools: ClusterTools, clock: Clock, target: DeployTarget, names: Sequence[str], deadline_s: float
) -> WaitOutcome:
    # The timeout covers pods becoming ready; the applied canary pauses and analyses add to it.
    deadline_s = rollout_deadline(tools, target, names, deadline_s)
    end = clock.monotonic() + deadline_s
    while True:
        states = get_rollouts(tools, target, names)
        failed = [s for s in states if s.failed]
        if failed:
            detail = "; ".join(
                f"rollout/{s.name} {s.phase}: {s.message}"
                + (f" [analysis {s.analysis}]" if s.analysis else "")
                for s in failed
            )
            return WaitOutcome(False, False, detail, tuple(states))
        if all(s.settled for s in states):
            waiting = [s.name for s in states if s.phase == "AwaitingPromotion"]
            if waiting:
                return WaitOutcome(
                    True,
                    True,
                    f"paused for promotion: {', '.join(waiting)} (run `promote`)",
                    tuple(states),
                )
            return WaitOutcome(True, False, f"{len(states)} rollout(s) healthy", tuple(states))
        if clock.monotonic() >= end:
            pending = "; ".join(
                f"rollout/{s.name} {s.phase} {s.ready} {s.message}".strip()
                for s in states
                if not s.settled
            )
            return WaitOutcome(
                False, False, f"not healthy within {deadline_s:.0f}s: {pending}", tuple(states)
            )
        clock.sleep(POLL_SECONDS)
