"""Verification and rollback of a release: the phases shared by deploy, promote and rollback.

`Run` times each phase into the report; `verify` waits for the rollout within the deadline,
runs `helm test` and the smoke checks (public URL, or the API-server service proxy on a
throwaway cluster); `restore` aborts Argo Rollouts (traffic back to stable), runs
`helm rollback` to the revision that served before, and verifies that it serves again.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from . import helm
from .helm import HELM_TIMEOUT_S
from .kube import (
    KUBECTL_TIMEOUT_S,
    as_dict,
    find_workloads,
    frontend_service,
    get_rollout,
    rollouts_each,
    uses_rollouts,
)
from .report import CheckRecord, DeployReport, PhaseRecord, RollbackRecord
from .request import SMOKE_TOKEN_ENV, DeployInputError, DeployRequest, DeployTarget
from .tools import Clock, ClusterTools
from .watch import POLL_SECONDS, rollout_state, wait_for_release

SMOKE_RETRY_SECONDS = 3.0
# The smoke credential is an API key of a test account (POST /api/v1/auth/api-keys): unlike an
# access JWT it does not expire within a day, so it can be a stored CI secret; revoke to rotate.
SMOKE_KEY_HEADER = "X-API-Key"


class PhaseFailed(Exception):
    """A phase failed; the message says what (used inside `Run.phase`)."""


@dataclass
class Run:
    """Accumulates phases (with timings) into the report."""

    report: DeployReport
    clock: Clock
    started: float = 0.0

    @contextmanager
    def phase(self, name: str) -> Generator[list[str]]:
        """Time a phase; append detail strings to the yielded list; raise PhaseFailed to fail it."""
        detail: list[str] = []
        begin = self.clock.monotonic()
        try:
            yield detail
        except PhaseFailed as e:
            self._record(name, "failed", begin, [*detail, str(e)])
            raise
        except DeployInputError as e:  # unreadable tool output fails the phase, not the run
            self._record(name, "failed", begin, [*detail, str(e)])
            raise PhaseFailed(f"{name}: {e}") from None
        self._record(name, "ok", begin, detail)

    def _record(self, name: str, status: str, begin: float, detail: list[str]) -> None:
        seconds = round(self.clock.monotonic() - begin, 3)
        self.report.phases.append(PhaseRecord(name, status, seconds, "; ".join(detail)))

    def finish(self, outcome: str, exit_code: int, message: str) -> DeployReport:
        self.report.outcome, self.report.exit_code, self.report.message = (
            outcome,
            exit_code,
            message,
        )
        self.report.total_seconds = round(self.clock.monotonic() - self.started, 3)
        return self.report


def new_run(action: str, target: DeployTarget, clock: Clock, dry_run: bool = False) -> Run:
    report = DeployReport(
        action, target.env, target.namespace, target.release, target.strategy, dry_run
    )
    return Run(report, clock, clock.monotonic())


# ---------------------------------------------------------------- helm helpers


def deployed_revisions(
    tools: ClusterTools, target: DeployTarget
) -> tuple[list[dict[str, object]], str]:
    """`helm history` entries ([] for a first install), or an error when the cluster is unreachable."""
    done = tools.run("helm", helm.history(target), HELM_TIMEOUT_S)
    if not done.ok:
        if "not found" in done.reason().lower():
            return [], ""
        return [], f"cannot read the release history (is the cluster reachable?): {done.reason(3)}"
    return helm.history_entries(done.stdout), ""


# ---------------------------------------------------------------- verification


def verify(
    tools: ClusterTools,
    clock: Clock,
    request: DeployRequest,
    deadline_s: float,
    run: Run,
    label: str = "",
) -> tuple[bool, bool, str]:
    """Rollout, helm test, smoke checks. Returns (ok, awaiting_promotion, what failed)."""
    target = request.target
    suffix = f" ({label})" if label else ""
    awaiting = False
    try:
        with run.phase(f"rollout{suffix}") as detail:
            outcome = wait_for_release(tools, clock, target, deadline_s)
            detail.append(outcome.detail)
            run.report.verification.append(
                CheckRecord(f"rollout{suffix}", outcome.ok, outcome.detail)
            )
            if not outcome.ok:
                raise PhaseFailed("rollout did not become healthy")
            awaiting = outcome.awaiting_promotion
        with run.phase(f"helm-test{suffix}") as detail:
            done = tools.run("helm", helm.test(target), HELM_TIMEOUT_S + 30)
            text = "helm test passed" if done.ok else f"helm test failed: {done.reason(4)}"
            run.report.verification.append(CheckRecord(f"helm-test{suffix}", done.ok, text))
            detail.append(text)
            if not done.ok:
                raise PhaseFailed("helm test failed")
        with run.phase(f"smoke{suffix}") as detail:
            failures = smoke(tools, clock, request, run, suffix)
            detail.append("all smoke checks passed" if not failures else "; ".join(failures))
            if failures:
                raise PhaseFailed("smoke checks failed")
    except PhaseFailed as e:
        failed_checks = [c for c in run.report.verification if c.failed and c.name.endswith(suffix)]
        return False, False, failed_checks[-1].detail if failed_checks else str(e)
    return True, awaiting, ""


def smoke(
    tools: ClusterTools, clock: Clock, request: DeployRequest, run: Run, suffix: str
) -> list[str]:
    """GET each smoke path of the public URL (ephemeral clusters: through the API server proxy)."""
    target = request.target
    failures: list[str] = []
    service = ""
    if target.ephemeral:
        names, error = frontend_service(tools, target)
        if error:
            run.report.verification.append(CheckRecord(f"smoke{suffix}", False, error))
            return [error]
        service = names
    for check in target.smoke_checks:
        name = f"smoke:{check.name}{suffix}"
        if check.authenticated and not request.smoke_token:
            why = f"no test account token (set {SMOKE_TOKEN_ENV}, or --smoke-token)"
            run.report.verification.append(CheckRecord.not_run(name, why))
            continue
        ok, text = _smoke_one(tools, clock, request, check.path, check.authenticated, service)
        run.report.verification.append(CheckRecord(name, ok, text))
        if not ok:
            failures.append(f"{check.name}: {text}")
    return failures


def _smoke_one(
    tools: ClusterTools,
    clock: Clock,
    request: DeployRequest,
    path: str,
    authenticated: bool,
    service: str,
) -> tuple[bool, str]:
    target = request.target
    end = clock.monotonic() + min(60.0, target.timeout_seconds / 4)
    while True:
        if service:
            done = tools.run(
                "kubectl",
                [
                    "get",
                    "--raw",
                    f"/api/v1/namespaces/{target.namespace}/services/{service}/proxy{path}",
                ],
                KUBECTL_TIMEOUT_S,
            )
            ok, text = (
                done.ok,
                f"GET {service}{path} via API server: " + ("ok" if done.ok else done.reason(2)),
            )
        else:
            headers = (
                {SMOKE_KEY_HEADER: request.smoke_token}
                if authenticated and request.smoke_token
                else None
            )
            result = tools.http_get(f"{target.url}{path}", 15, headers)
            ok = result.ok
            text = (
                f"GET {result.url} → {result.status if result.status is not None else result.error}"
            )
        if ok or clock.monotonic() >= end:
            return ok, text
        clock.sleep(SMOKE_RETRY_SECONDS)


def verify_aborted(
    tools: ClusterTools, clock: Clock, target: DeployTarget, names: Sequence[str], run: Run
) -> list[str]:
    """After `abort`: each Rollout took the abort and all its (stable) pods are ready, within
    the deadline. Records one check per Rollout; returns what failed."""
    end = clock.monotonic() + target.timeout_seconds
    while True:
        checks = [_aborted_check(tools, target, name) for name in names]
        if all(c.passed for c in checks) or clock.monotonic() >= end:
            run.report.verification += checks
            return [f"{c.name}: {c.detail}" for c in checks if c.failed]
        clock.sleep(POLL_SECONDS)


def _aborted_check(tools: ClusterTools, target: DeployTarget, name: str) -> CheckRecord:
    obj, error = get_rollout(tools, target, name)
    if error:
        return CheckRecord(f"rollout/{name}", False, f"cannot read the Rollout: {error}")
    state = rollout_state(obj)
    spec, status = as_dict(as_dict(obj).get("spec")), as_dict(as_dict(obj).get("status"))
    ready, desired = status.get("readyReplicas", 0), spec.get("replicas", 1)
    detail = f"{state.phase} {state.ready} {state.message}".strip()
    if status.get("abort") is not True:
        return CheckRecord(f"rollout/{name}", False, f"{detail} (the abort has not taken effect)")
    if not (isinstance(ready, int) and isinstance(desired, int) and ready >= desired):
        return CheckRecord(f"rollout/{name}", False, f"{detail} (stable pods not all ready)")
    return CheckRecord(f"rollout/{name}", True, f"aborted; stable serving {state.ready}")


# ---------------------------------------------------------------- rollback


def restore(
    tools: ClusterTools,
    clock: Clock,
    request: DeployRequest,
    run: Run,
    reason: str,
    to_revision: int | None,
) -> RollbackRecord:
    """Abort Rollouts (traffic back to stable), `helm rollback`, then verify the restored release."""
    target = request.target
    if to_revision is None:
        record = RollbackRecord(
            reason,
            "none",
            None,
            False,
            "first install: no previous revision to restore; the failed release is left in place — inspect with `status`, fix, and deploy again (or `helm uninstall`)",
        )
        run.report.rollback = record
        return record
    steps: list[str] = []
    try:
        with run.phase("rollback") as detail:
            if uses_rollouts(target.strategy):
                names, _ = find_workloads(tools, target)
                for name, done in rollouts_each(tools, target, names, "abort", keep_going=True):
                    detail.append(f"abort {name}: {'ok' if done.ok else done.reason(2)}")
                steps.append("Rollouts abort")
            done = tools.run("helm", helm.rollback(target, to_revision), HELM_TIMEOUT_S + 30)
            steps.append(f"helm rollback to revision {to_revision}")
            if not done.ok:
                raise PhaseFailed(f"helm rollback failed: {done.reason(3)}")
            detail.append(f"helm rollback to {to_revision}")
    except PhaseFailed as e:
        record = RollbackRecord(reason, " + ".join(steps), to_revision, False, str(e))
        run.report.rollback = record
        return record
    ok, _, what = verify(tools, clock, request, target.timeout_seconds, run, "after rollback")
    detail_text = (
        f"revision {to_revision} is serving and verified"
        if ok
        else f"rollback verification failed: {what}"
    )
    record = RollbackRecord(reason, " + ".join(steps), to_revision, ok, detail_text)
    run.report.rollback = record
    return record
