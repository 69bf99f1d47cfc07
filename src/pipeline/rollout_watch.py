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

from .cluster_tools import Clock, ClusterTools, CommandResult
from .deploy_plan import DeployTarget, names_from_list, parse_json, selector, workload_kinds

POLL_SECONDS = 2.0
KUBECTL_TIMEOUT_S = 30


@dataclass(frozen=True)
class WorkloadState:
    name: str
    phase: str  # Healthy | Progressing | Paused | AwaitingPromotion | Degraded | Missing
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


def _dict(value: object) -> dict[str, object]:
    return cast(dict[str, object], value) if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return cast(list[object], value) if isinstance(value, list) else []


def rollout_state(obj: object) -> WorkloadState:
    """Interpret one Argo Rollout object (pure; unit-tested on recorded shapes)."""
    rollout = _dict(obj)
    meta, spec, status = (
        _dict(rollout.get("metadata")),
        _dict(rollout.get("spec")),
        _dict(rollout.get("status")),
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
        _dict(_dict(status.get("canary")).get("currentStepAnalysisRunStatus")),
        _dict(_dict(status.get("canary")).get("currentBackgroundAnalysisRunStatus")),
        _dict(_dict(status.get("blueGreen")).get("prePromotionAnalysisRunStatus")),
        _dict(_dict(status.get("blueGreen")).get("postPromotionAnalysisRunStatus")),
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
    strategy = _dict(spec.get("strategy"))
    blue_green = _dict(strategy.get("blueGreen"))
    if blue_green:
        return blue_green.get("autoPromotionEnabled") is False and not blue_green.get(
            "autoPromotionSeconds"
        )
    steps = _list(_dict(strategy.get("canary")).get("steps"))
    index = status.get("currentStepIndex")
    if isinstance(index, int) and 0 <= index < len(steps):
        pause = _dict(steps[index]).get("pause")
        return isinstance(pause, dict) and not cast(dict[str, object], pause).get("duration")
    return False


def list_release_objects(tools: ClusterTools, target: DeployTarget, kind: str) -> CommandResult:
    """`kubectl get KIND` of the release's objects (by the release's label selector), as JSON."""
    return tools.run(
        "kubectl",
        ["get", kind, "--namespace", target.namespace, "--selector", selector(target)]
        + ["--output", "json"],
        KUBECTL_TIMEOUT_S,
    )


def find_workloads(tools: ClusterTools, target: DeployTarget) -> tuple[list[str], str]:
    """Names of the release's Deployments or Rollouts, or ([], error)."""
    done = list_release_objects(tools, target, workload_kinds(target.strategy))
    if not done.ok:
        return [], f"cannot list {workload_kinds(target.strategy)}: {done.reason(3)}"
    names = names_from_list(parse_json(done.stdout, "kubectl get"))
    if not names:
        return (
            [],
            f"no {workload_kinds(target.strategy)} labelled {selector(target)} in namespace {target.namespace}",
        )
    return names, ""


def wait_for_release(
    tools: ClusterTools, clock: Clock, target: DeployTarget, deadline_s: float
) -> WaitOutcome:
    names, error = find_workloads(tools, target)
    if error:
        return WaitOutcome(False, False, error)
    if target.strategy == "rolling":
        return wait_deployments(tools, clock, target, names, deadline_s)
    return wait_rollouts(tools, clock, target, names, deadline_s)


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
    states: list[WorkloadState] = []
    for name in names:
        done = tools.run(
            "kubectl",
            [
                "get",
                "rollouts.argoproj.io",
                name,
                "--namespace",
                target.namespace,
                "--output",
                "json",
            ],
            KUBECTL_TIMEOUT_S,
        )
        if not done.ok:
            states.append(WorkloadState(name, "Missing", done.reason(2)))
        else:
            states.append(rollout_state(parse_json(done.stdout, f"rollout {name}")))
    return states


def wait_rollouts(
    tools: ClusterTools, clock: Clock, target: DeployTarget, names: Sequence[str], deadline_s: float
) -> WaitOutcome:
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
