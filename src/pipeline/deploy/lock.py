"""The deploy lock: one mutating action per release at a time, and safe recovery of stuck Helm
releases.

A `coordination.k8s.io/v1` Lease `<release>-deploy-lock` in the release namespace is taken
before `deploy`, `promote`, `rollback` or `abort` changes anything, renewed every
`RENEW_SECONDS` while the action runs, and deleted at the end. A second action finds a live
holder (renewed within `leaseDurationSeconds`) and is refused with the holder's identity and
age. A holder that died (killed runner, API server gone mid-deploy) stops renewing, and its
lease expires `LEASE_SECONDS` after the last renewal; the next action takes it over.

Only while holding the lock — so no other live action can be working on the release — is a
revision that Helm left in `pending-upgrade` / `pending-rollback` (the most reported Helm
problem: every later `helm upgrade` fails with "another operation is in progress") recovered,
by `helm rollback` to the last revision that was deployed; the report says what was done.

Standard library only; every cluster call goes through the ClusterTools port.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from . import helm
from .helm import HELM_TIMEOUT_S
from .kube import KUBECTL_TIMEOUT_S, as_dict, get
from .report import EXIT_REFUSED, DeployReport, PhaseRecord
from .request import DeployRequest, DeployTarget, parse_json
from .tools import Clock, ClusterTools
from .verify import Run, new_run

LEASE_KIND = "leases.coordination.k8s.io"
LEASE_SECONDS = 60
RENEW_SECONDS = 15.0
ACTION_ANNOTATION = "blog-creator/deploy-action"
PENDING = ("pending-upgrade", "pending-rollback")
RESTORABLE = ("deployed", "superseded")

Now = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def lease_name(target: DeployTarget) -> str:
    return f"{target.release}-deploy-lock"[:63]


def new_identity(action: str) -> str:
    """Who holds the lock: action, host, process and a random suffix (unique per run)."""
    return f"{action}@{socket.gethostname()}/pid-{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _micro(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Holder:
    """The current holder as the Lease records it."""

    identity: str
    action: str
    acquired: dt.datetime | None
    renewed: dt.datetime | None
    duration_s: int

    @classmethod
    def of(cls, lease: object) -> Holder:
        meta, spec = as_dict(as_dict(lease).get("metadata")), as_dict(as_dict(lease).get("spec"))
        duration = spec.get("leaseDurationSeconds")
        return cls(
            identity=str(spec.get("holderIdentity") or ""),
            action=str(as_dict(meta.get("annotations")).get(ACTION_ANNOTATION, "?")),
            acquired=_parse_time(spec.get("acquireTime")),
            renewed=_parse_time(spec.get("renewTime")) or _parse_time(spec.get("acquireTime")),
            duration_s=duration if isinstance(duration, int) else LEASE_SECONDS,
        )

    def alive(self, now: dt.datetime) -> bool:
        """Renewed within its lease duration (an empty holder is a released lock)."""
        if not self.identity or self.renewed is None:
            return False
        return now < self.renewed + dt.timedelta(seconds=self.duration_s)

    def describe(self, now: dt.datetime) -> str:
        age = (
            f"{(now - self.acquired).total_seconds():.0f}s ago"
            if self.acquired
            else "at an unknown time"
        )
        renewed = f"{(now - self.renewed).total_seconds():.0f}s ago" if self.renewed else "never"
        return f"`{self.action}` by {self.identity} (taken {age}, renewed {renewed})"


def lease_object(
    target: DeployTarget,
    identity: str,
    action: str,
    now: dt.datetime,
    previous: object | None = None,
) -> dict[str, object]:
    """The Lease a holder writes; with `previous`, a takeover guarded by its resourceVersion."""
    meta: dict[str, object] = {
        "name": lease_name(target),
        "namespace": target.namespace,
        "labels": {"app.kubernetes.io/instance": target.release},
        "annotations": {ACTION_ANNOTATION: action},
    }
    transitions = 0
    if previous is not None:
        old_meta, old_spec = (
            as_dict(as_dict(previous).get("metadata")),
            as_dict(as_dict(previous).get("spec")),
        )
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        count = old_spec.get("leaseTransitions")
        transitions = (count if isinstance(count, int) else 0) + 1
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": LEASE_SECONDS,
            "acquireTime": _micro(now),
            "renewTime": _micro(now),
            "leaseTransitions": transitions,
        },
    }


def _kubectl_with_file(tools: ClusterTools, verb: str, obj: dict[str, object]) -> tuple[bool, str]:
    """`kubectl create|replace -f FILE` (the Lease holds no secret; the file is removed after)."""
    fd, path = tempfile.mkstemp(prefix="deploy-lock-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f)
        done = tools.run("kubectl", [verb, "-f", path, "--output", "json"], KUBECTL_TIMEOUT_S)
    finally:
        os.unlink(path)
    return done.ok, done.stdout if done.ok else done.reason(2)


def read_lease(tools: ClusterTools, target: DeployTarget) -> tuple[object | None, str]:
    """The Lease, (None, "") when there is none, or (None, error)."""
    done = get(tools, [LEASE_KIND, lease_name(target), "--namespace", target.namespace])
    if done.ok:
        return parse_json(done.stdout, "deploy lock lease"), ""
    if "NotFound" in done.stderr or "not found" in done.stderr:
        return None, ""
    return None, done.reason(2)


@dataclass
class DeployLock:
    """A held lock. `renew` keeps it alive; `release` deletes it (only if still ours)."""

    tools: ClusterTools
    target: DeployTarget
    identity: str
    action: str
    now: Now = utcnow
    lease: object = None
    took_over: str = ""  # who held it before (expired), when taken over
    renew_failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def renew(self) -> bool:
        """Write a fresh renewTime (guarded by resourceVersion: a lost lock is not re-taken)."""
        obj = lease_object(self.target, self.identity, self.action, self.now(), self.lease)
        spec = as_dict(obj["spec"])
        old = as_dict(as_dict(self.lease).get("spec"))
        spec["acquireTime"] = old.get("acquireTime", spec["acquireTime"])
        spec["leaseTransitions"] = old.get("leaseTransitions", 0)
        ok, out = _kubectl_with_file(self.tools, "replace", obj)
        if ok:
            self.lease = parse_json(out, "deploy lock lease")
        else:
            self.renew_failures += 1
        return ok

    def start_renewing(self, every_s: float = RENEW_SECONDS) -> None:
        """Renew in a daemon thread until `release` (a deploy waits much longer than a lease)."""

        def loop() -> None:
            while not self._stop.wait(every_s):
                self.renew()

        self._thread = threading.Thread(target=loop, name="deploy-lock-renewal", daemon=True)
        self._thread.start()

    def expires(self) -> str:
        """When the lease runs out without us: the last renewal that reached the API server
        plus the lease duration (UTC), for reports of a lock left behind."""
        renewed = Holder.of(self.lease).renewed if self.lease is not None else None
        if renewed is None:
            return f"{LEASE_SECONDS}s after its last renewal"
        at = renewed + dt.timedelta(seconds=LEASE_SECONDS)
        return f"at {at.astimezone(dt.UTC).strftime('%H:%M:%SZ')} ({LEASE_SECONDS}s after its last renewal)"

    def release(self) -> str:
        """Stop renewing and delete the Lease if it is still ours; returns what happened
        ("released" when it was deleted)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=KUBECTL_TIMEOUT_S + 5)
        current, error = read_lease(self.tools, self.target)
        if error:
            return f"could not read the lock to release it ({error}); it expires {self.expires()}"
        if current is None or Holder.of(current).identity != self.identity:
            return "the lock was no longer ours at the end (expired and taken over)"
        done = self.tools.run(
            "kubectl",
            ["delete", LEASE_KIND, lease_name(self.target), "--namespace", self.target.namespace],
            KUBECTL_TIMEOUT_S,
        )
        return (
            "released"
            if done.ok
            else f"release failed ({done.reason(2)}); it expires {self.expires()}"
        )


def acquire(
    tools: ClusterTools, target: DeployTarget, action: str, now: Now = utcnow, identity: str = ""
) -> tuple[DeployLock | None, str]:
    """Take the lock, or (None, why not) naming the live holder and its age."""
    identity = identity or new_identity(action)
    where = f"lease {target.namespace}/{lease_name(target)}"
    current, error = read_lease(tools, target)
    if error:
        return None, f"cannot read the deploy lock ({where}): {error}"
    previous_holder = ""
    if current is None:
        ok, out = _kubectl_with_file(tools, "create", lease_object(target, identity, action, now()))
        if not ok:
            if "AlreadyExists" in out or "already exists" in out:
                return acquire_refused(tools, target, where, now)
            return None, f"cannot take the deploy lock ({where}): {out}"
    else:
        holder = Holder.of(current)
        if holder.alive(now()):
            return None, _refusal(target, where, holder, now())
        previous_holder = holder.describe(now()) if holder.identity else ""
        ok, out = _kubectl_with_file(
            tools, "replace", lease_object(target, identity, action, now(), current)
        )
        if not ok:
            if "Conflict" in out or "modified" in out:
                return acquire_refused(tools, target, where, now)
            return None, f"cannot take the deploy lock ({where}): {out}"
    lease = parse_json(out, "deploy lock lease") if out.strip() else None
    return DeployLock(tools, target, identity, action, now, lease, previous_holder), ""


def acquire_refused(
    tools: ClusterTools, target: DeployTarget, where: str, now: Now
) -> tuple[None, str]:
    """Someone took the lock between our read and our write: name them."""
    current, _ = read_lease(tools, target)
    holder = Holder.of(current) if current is not None else None
    if holder is None or not holder.identity:
        return None, f"the deploy lock ({where}) was taken concurrently; try again"
    return None, _refusal(target, where, holder, now())


def _refusal(target: DeployTarget, where: str, holder: Holder, now: dt.datetime) -> str:
    left = (
        (holder.renewed + dt.timedelta(seconds=holder.duration_s) - now).total_seconds()
        if holder.renewed
        else 0
    )
    return (
        f"another action is running on {target.env} (release {target.release}): "
        f"{holder.describe(now)} holds the deploy lock ({where}). Wait for it to finish and retry; "
        f"if that process is gone, its lock expires {max(left, 0):.0f}s from now "
        f"({holder.duration_s}s after its last renewal) and the next action takes over."
    )


# ---------------------------------------------------------------- stuck Helm releases


def recover_pending(tools: ClusterTools, target: DeployTarget) -> tuple[bool, str]:
    """With the lock held: roll a `pending-upgrade`/`pending-rollback` revision back to the
    last deployed one. Returns (ok, what was done — "" when nothing was pending)."""
    done = tools.run("helm", helm.history(target), HELM_TIMEOUT_S)
    if not done.ok:
        if "not found" in done.reason(3):
            return True, ""  # first install: nothing to recover
        return False, f"cannot read the release history: {done.reason(3)}"
    entries = sorted(helm.history_entries(done.stdout), key=lambda e: _revision(e))
    if not entries:
        return True, ""
    last = entries[-1]
    status = str(last.get("status", ""))
    if status == "pending-install":
        return False, (
            f"revision {_revision(last)} is pending-install (a first install that never finished "
            f"and no live action holds the lock): remove it with `helm uninstall {target.release} "
            f"--namespace {target.namespace}` and deploy again"
        )
    if status not in PENDING:
        return True, ""
    good = [e for e in entries[:-1] if str(e.get("status", "")) in RESTORABLE]
    if not good:
        return False, f"revision {_revision(last)} is {status} and no earlier revision was deployed"
    to = _revision(good[-1])
    rolled = tools.run("helm", helm.rollback(target, to), HELM_TIMEOUT_S + 30)
    what = (
        f"revision {_revision(last)} was left {status} by an action that no longer holds the "
        f"deploy lock; `helm rollback` to revision {to}"
    )
    if not rolled.ok:
        return False, f"{what} failed: {rolled.reason(3)}"
    return True, f"recovered: {what}"


def _revision(entry: dict[str, object]) -> int:
    value = entry.get("revision")
    return value if isinstance(value, int) else 0


# ---------------------------------------------------------------- wrapping an action


def run_locked(
    action: str,
    request: DeployRequest,
    tools: ClusterTools,
    clock: Clock,
    body: Callable[[], DeployReport],
    run: Run | None = None,
    now: Now = utcnow,
) -> DeployReport:
    """Run a mutating action under the deploy lock (dry runs take none).

    `run`: the action's run when it already recorded phases (deploy's gates); a refusal then
    finishes that run. The lock phase counts only the lock's own calls (take, recover, release).
    """
    if request.dry_run:
        return body()
    target = request.target
    run = run or new_run(action, target, clock)
    begin = clock.monotonic()
    lock, refusal = acquire(tools, target, action, now)
    if lock is None:
        run.report.phases.append(PhaseRecord("lock", "failed", _since(clock, begin), refusal))
        return run.finish("refused", EXIT_REFUSED, refusal)
    lock.start_renewing()
    detail = [f"lease {target.namespace}/{lease_name(target)} taken by {lock.identity}"]
    if lock.took_over:
        detail.append(f"taken over from expired holder {lock.took_over}")
    recovered = ""
    try:
        if action == "deploy":  # `rollback` itself restores the last deployed revision
            ok, recovered = recover_pending(tools, target)
            if not ok:
                why = f"stuck release not recovered: {recovered}"
                run.report.phases.append(
                    PhaseRecord("lock", "failed", _since(clock, begin), "; ".join([*detail, why]))
                )
                return run.finish("refused", EXIT_REFUSED, why)
            if recovered:
                detail.append(recovered)
        held = _since(clock, begin)
        at = len(run.report.phases)
        report = body()
    finally:
        end = clock.monotonic()
        released = lock.release()
    if lock.renew_failures:
        detail.append(f"{lock.renew_failures} lock renewal(s) failed")
    detail.append(f"lock {released}")
    release_s = _since(clock, end)
    # Where the lock was taken: after the phases before it (deploy's gates), else first.
    at = at if report is run.report else 0
    report.phases.insert(
        at, PhaseRecord("lock", "ok", round(held + release_s, 3), "; ".join(detail))
    )
    report.total_seconds = round(report.total_seconds + release_s, 3)
    if recovered:
        report.message = f"{report.message} ({recovered})" if report.message else recovered
    if released != "released" and not released.startswith("the lock was no longer ours"):
        # Left behind (API server gone): say when the next action can take over.
        report.message += (
            f" The deploy lock (lease {target.namespace}/{lease_name(target)}) was left held by "
            f"this run: {released}; until then `deploy`, `rollback`, `promote` and `abort` are "
            "refused, after that the next one takes it over."
        )
    return report


def _since(clock: Clock, begin: float) -> float:
    return round(clock.monotonic() - begin, 3)
