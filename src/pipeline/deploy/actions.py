"""The six actions — deploy, promote, abort, rollback, status, diff — each one report.

Every cluster action goes through `ClusterTools`; the decisions are here and in verify.py
(verification, rollback) and gates.py:

deploy = gates → (dry run: render and stop) → snapshot (previous revision) → apply
(`helm upgrade --install`) → verify (rollout within the deadline, `helm test`, smoke checks)
→ on failure: automatic rollback (Rollouts abort + `helm rollback` to the previous revision)
and verification of the rollback → report (JSON + Markdown) → exit code (report.EXIT_*).
"""

from __future__ import annotations

import datetime as dt
import difflib

from . import helm
from .ephemeral import EphemeralSetupFailed
from .ephemeral import prepare as prepare_ephemeral
from .gates import approval_gate, policy_gates, refused, signature_gates
from .helm import HELM_TIMEOUT_S, current_revision, split_documents
from .kube import (
    ROLLOUT_CRD,
    RolloutsVerb,
    as_dict,
    as_list,
    find_workloads,
    has_rollouts_crd,
    recent_events,
    release_items,
    rollouts_each,
    unreachable,
    uses_rollouts,
    workload_kind,
)
from .lock import PENDING, RESTORABLE, Holder, lease_name, read_lease, run_locked, utcnow
from .report import (
    EXIT_NOT_RESTORED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_ROLLED_BACK,
    DeployReport,
)
from .request import DeployRequest, DeployTarget
from .tools import Clock, ClusterTools
from .verify import PhaseFailed, Run, deployed_revisions, new_run, restore, verify, verify_aborted

# ---------------------------------------------------------------- actions


def deploy(
    request: DeployRequest, tools: ClusterTools, clock: Clock, today: dt.date
) -> DeployReport:
    target = request.target
    run = new_run("deploy", target, clock, request.dry_run)
    report = run.report
    report.images = {app: str(ref) for app, ref in request.images.items()}
    report.approved_by = request.approved_by
    report.approval = request.approval.to_json() if request.approval else None

    try:
        with run.phase("gates") as detail:
            report.gates = policy_gates(request, today)
            if not refused(report.gates):
                report.gates += signature_gates(request, tools)
            bad = refused(report.gates)
            detail.append(f"{len(report.gates) - len(bad)}/{len(report.gates)} passed")
            if bad:
                raise PhaseFailed("; ".join(g.detail for g in bad))
    except PhaseFailed as e:
        return run.finish("refused", EXIT_REFUSED, f"refused before touching the cluster: {e}")

    if request.dry_run:
        try:
            with run.phase("render") as detail:
                done = tools.run("helm", helm.template(request), HELM_TIMEOUT_S)
                if not done.ok:
                    raise PhaseFailed(f"helm template failed: {done.reason(6)}")
                report.rendered = sorted(split_documents(done.stdout))
                report.manifest = done.stdout
                report.details = "helm " + " ".join(helm.upgrade(request, target.timeout_seconds))
                detail.append(f"{len(report.rendered)} objects")
        except PhaseFailed as e:
            return run.finish("refused", EXIT_REFUSED, str(e))
        return run.finish(
            "dry-run",
            EXIT_OK,
            f"dry run: would apply {len(report.rendered)} objects with strategy {target.strategy}; nothing applied",
        )

    if target.ephemeral:  # a throwaway cluster serves this one call: nothing to lock
        return _apply_and_verify(request, tools, clock, run)
    body = lambda: _apply_and_verify(request, tools, clock, run)
    return run_locked("deploy", request, tools, clock, body, run)


def _apply_and_verify(
    request: DeployRequest, tools: ClusterTools, clock: Clock, run: Run
) -> DeployReport:
    """The mutating part of `deploy` (under the deploy lock on persistent clusters)."""
    target, report = request.target, run.report
    if target.ephemeral:
        try:
            with run.phase("ephemeral-cluster") as detail:
                try:
                    detail += prepare_ephemeral(tools, clock, target)
                except EphemeralSetupFailed as e:
                    raise PhaseFailed(str(e)) from None
        except PhaseFailed as e:
            return run.finish("refused", EXIT_REFUSED, f"throwaway cluster not ready: {e}")

    try:
        with run.phase("snapshot") as detail:
            history, error = deployed_revisions(tools, target)
            if error:
                raise PhaseFailed(error)
            report.revision_before = current_revision(history)
            detail.append(f"serving revision: {report.revision_before or 'none (first install)'}")
            if uses_rollouts(target.strategy) and not has_rollouts_crd(tools):
                raise PhaseFailed(
                    f"strategy {target.strategy} needs Argo Rollouts, but CRD {ROLLOUT_CRD} is not in the cluster: install the controller (k8s/platform) or use strategy rolling"
                )
    except PhaseFailed as e:
        return run.finish("refused", EXIT_REFUSED, f"refused before applying: {e}")

    failure = ""
    awaiting = False
    try:
        with run.phase("apply") as detail:
            done = tools.run(
                "helm", helm.upgrade(request, target.timeout_seconds), target.timeout_seconds + 30
            )
            if not done.ok:
                raise PhaseFailed(f"helm upgrade failed: {done.reason(4)}")
            report.revision_after = report.revision_attempted = helm.revision_from_upgrade(
                done.stdout
            )
            detail.append(f"revision {report.revision_after}")
    except PhaseFailed as e:
        failure = str(e)
    if not failure:
        ok, awaiting, failure = verify(tools, clock, request, target.timeout_seconds, run)
        if ok:
            failure = ""
    if not failure:
        if awaiting:
            return run.finish(
                "awaiting-promotion",
                EXIT_OK,
                f"revision {report.revision_after} applied and verified; {target.strategy} paused for promotion — run `promote --env {target.env}`",
            )
        return run.finish(
            "succeeded",
            EXIT_OK,
            f"revision {report.revision_after} deployed to {target.env} and verified",
        )

    # Restore what served before this deploy (helm rollback creates a new revision from it).
    record = restore(tools, clock, request, run, failure, report.revision_before)
    if record.method != "none":
        history, _ = deployed_revisions(tools, target)
        report.revision_after = current_revision(history)
    if record.restored:
        return run.finish(
            "rolled-back",
            EXIT_ROLLED_BACK,
            f"deploy failed ({failure}); rolled back to revision {record.to_revision}, which is serving and verified",
        )
    if unreachable(failure) or unreachable(record.detail):
        return run.finish(
            "failed",
            EXIT_NOT_RESTORED,
            _unreachable_message(request, report, failure, record.detail),
        )
    return run.finish(
        "failed", EXIT_NOT_RESTORED, f"deploy failed ({failure}); NOT restored: {record.detail}"
    )


def _unreachable_message(
    request: DeployRequest, report: DeployReport, failure: str, detail: str
) -> str:
    """Exit 3 because the API server stopped answering: what may be left, and what to do."""
    env = request.target.env
    attempted = (
        f"revision {report.revision_attempted}" if report.revision_attempted else "the new revision"
    )
    previous = (
        f"revision {report.revision_before}"
        if report.revision_before
        else "the last deployed revision"
    )
    return (
        f"the Kubernetes API server stopped answering during the deploy to {env} ({failure}); "
        f"NOT restored: {detail}. {attempted[0].upper()}{attempted[1:]} may be half-applied, and "
        "Helm may have left it pending-upgrade. When the API server answers again: "
        f"`status --env {env}` shows what Helm recorded and what runs; `rollback --env {env}` "
        f"restores {previous}; or `deploy` again (a revision left pending is first rolled back "
        "under the deploy lock, once no live action holds it)."
    )


def rollback(
    request: DeployRequest, tools: ClusterTools, clock: Clock, revision: int | None
) -> DeployReport:
    return run_locked(
        "rollback", request, tools, clock, lambda: _rollback(request, tools, clock, revision)
    )


def _rollback(
    request: DeployRequest, tools: ClusterTools, clock: Clock, revision: int | None
) -> DeployReport:
    target = request.target
    run = new_run("rollback", target, clock)
    try:
        with run.phase("snapshot") as detail:
            history, error = deployed_revisions(tools, target)
            if error:
                raise PhaseFailed(error)
            if not history:
                raise PhaseFailed(
                    f"release {target.release} is not installed in namespace {target.namespace}"
                )
            run.report.revision_before = current_revision(history)
            known = [e.get("revision") for e in history]
            if revision is None and history[-1].get("status") in PENDING:
                # An interrupted deploy/rollback left the newest revision pending: restore the
                # last one that was deployed (Helm rolls back over a pending revision).
                revision = run.report.revision_before
                detail.append(
                    f"revision {history[-1].get('revision')} is {history[-1].get('status')}"
                )
            if revision is None:
                # Only a revision that served: never one Helm left pending or failed.
                older = [
                    r
                    for e in history
                    if isinstance(r := e.get("revision"), int)
                    and r < (run.report.revision_before or 0)
                    and e.get("status") in RESTORABLE
                ]
                if not older:
                    raise PhaseFailed("no earlier revision to roll back to")
                revision = max(older)
            elif revision not in known:
                raise PhaseFailed(
                    f"--revision {revision}: not in the release history (known: {', '.join(str(k) for k in known)})"
                )
            detail.append(f"{run.report.revision_before} → {revision}")
    except PhaseFailed as e:
        return run.finish("refused", EXIT_REFUSED, str(e))
    record = restore(tools, clock, request, run, "requested by the operator", revision)
    history, _ = deployed_revisions(tools, target)
    run.report.revision_after = current_revision(history)
    if record.restored:
        return run.finish(
            "succeeded",
            EXIT_OK,
            f"rolled back to revision {revision} (now revision {run.report.revision_after}) and verified",
        )
    return run.finish(
        "failed", EXIT_NOT_RESTORED, f"rollback to revision {revision} failed: {record.detail}"
    )


_DONE: dict[RolloutsVerb, str] = {"promote": "promoted", "abort": "aborted"}


def _rollouts_phase(
    run: Run,
    tools: ClusterTools,
    request: DeployRequest,
    verb: RolloutsVerb,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The `verb` phase: `kubectl argo rollouts VERB` on each of the release's Rollouts.

    Returns the Rollout names; raises PhaseFailed at the first that fails."""
    target = request.target
    with run.phase(verb) as detail:
        names, error = find_workloads(tools, target)
        if error:
            raise PhaseFailed(error)
        for name, done in rollouts_each(tools, target, names, verb, extra):
            if not done.ok:
                raise PhaseFailed(f"{verb} {name} failed: {done.reason(3)}")
            detail.append(f"{_DONE[verb]} {name}{' fully' if extra else ''}")
    return names


def _refuse_rolling(run: Run, request: DeployRequest, what: str) -> DeployReport | None:
    target = request.target
    if uses_rollouts(target.strategy):
        return None
    return run.finish(
        "refused", EXIT_REFUSED, f"environment {target.env!r} uses strategy rolling: {what}"
    )


def promote(request: DeployRequest, tools: ClusterTools, clock: Clock, full: bool) -> DeployReport:
    unapproved = _refuse_unapproved("promote", request, clock)
    if unapproved:  # refused without touching the cluster
        return unapproved
    if request.target.strategy == "rolling":  # refused without touching the cluster
        return _promote(request, tools, clock, full)
    return run_locked(
        "promote", request, tools, clock, lambda: _promote(request, tools, clock, full)
    )


def _refuse_unapproved(action: str, request: DeployRequest, clock: Clock) -> DeployReport | None:
    """Where the environment requires approval, a refused report unless the evidence passes."""
    if not request.target.require_approval:
        return None
    gate = approval_gate(request)
    if gate.passed:
        return None
    run = new_run(action, request.target, clock)
    run.report.gates = [gate]
    run.report.approval = request.approval.to_json() if request.approval else None
    return run.finish(
        "refused", EXIT_REFUSED, f"refused before touching the cluster: {gate.detail}"
    )


def _promote(request: DeployRequest, tools: ClusterTools, clock: Clock, full: bool) -> DeployReport:
    target = request.target
    run = new_run("promote", target, clock)
    run.report.approved_by = request.approved_by
    run.report.approval = request.approval.to_json() if request.approval else None
    if target.require_approval:
        run.report.gates = [approval_gate(request)]
    rolling = _refuse_rolling(
        run, request, "nothing to promote (promote is for canary and blueGreen)"
    )
    if rolling:
        return rolling
    try:
        _rollouts_phase(run, tools, request, "promote", ("--full",) if full else ())
    except PhaseFailed as e:
        return run.finish("refused", EXIT_REFUSED, str(e))
    ok, awaiting, failure = verify(tools, clock, request, target.timeout_seconds, run)
    if ok:
        state = "paused at the next promotion point" if awaiting else "fully promoted"
        return run.finish(
            "awaiting-promotion" if awaiting else "succeeded",
            EXIT_OK,
            f"promoted and verified: {state}",
        )
    return run.finish(
        "failed",
        EXIT_NOT_RESTORED,
        f"promotion verification failed ({failure}); run `abort` then `rollback` to restore the stable version",
    )


def abort(request: DeployRequest, tools: ClusterTools, clock: Clock) -> DeployReport:
    if request.target.strategy == "rolling":  # refused without touching the cluster
        return _abort(request, tools, clock)
    return run_locked("abort", request, tools, clock, lambda: _abort(request, tools, clock))


def _abort(request: DeployRequest, tools: ClusterTools, clock: Clock) -> DeployReport:
    target = request.target
    run = new_run("abort", target, clock)
    rolling = _refuse_rolling(run, request, "nothing to abort; use `rollback`")
    if rolling:
        return rolling
    try:
        names = _rollouts_phase(run, tools, request, "abort")
        with run.phase("verify-abort") as detail:
            failures = verify_aborted(tools, clock, target, names, run)
            if failures:
                raise PhaseFailed("; ".join(failures))
            detail.append(f"{len(names)} rollout(s) back on stable")
    except PhaseFailed as e:
        return run.finish("failed", EXIT_NOT_RESTORED, f"abort not confirmed: {e}")
    return run.finish(
        "succeeded",
        EXIT_OK,
        "aborted: traffic is back on the stable version; run `rollback` to return the release spec to the previous revision",
    )


def status(request: DeployRequest, tools: ClusterTools, clock: Clock) -> DeployReport:
    target = request.target
    run = new_run("status", target, clock)
    sections: list[str] = []
    with run.phase("status") as detail:
        history, error = deployed_revisions(tools, target)
        if error:
            return run.finish("failed", EXIT_REFUSED, error)
        run.report.revision_before = run.report.revision_after = current_revision(history)
        sections.append(
            "revisions: "
            + ", ".join(f"{e.get('revision')}={e.get('status')}" for e in history[-5:])
            if history
            else "release not installed"
        )
        pending = _pending_note(tools, target, history)
        sections += [pending] if pending else []
        items, error = release_items(tools, target, workload_kind(target.strategy))
        if error:
            sections.append(f"workloads: {error}")
        for item in items:
            sections.append(_workload_line(item, uses_rollouts(target.strategy)))
        events, error = recent_events(tools, target)
        if not error:
            sections.append("recent events:")
            for ev in events[-10:]:
                obj = as_dict(ev.get("involvedObject"))
                sections.append(
                    f"  {ev.get('type')} {obj.get('kind')}/{obj.get('name')} {ev.get('reason')}: {ev.get('message')}"
                )
        detail.append(f"revision {run.report.revision_after}")
    run.report.details = "\n".join(sections)
    serving = (
        f"release {target.release} in {target.namespace}: revision {run.report.revision_after}"
    )
    return run.finish("succeeded", EXIT_OK, f"{serving}; {pending}" if pending else serving)


def _pending_note(
    tools: ClusterTools, target: DeployTarget, history: list[dict[str, object]]
) -> str:
    """When Helm's newest revision is pending: who may still be working on it, and what to do."""
    last = history[-1] if history else {}
    state = str(last.get("status", ""))
    if state not in (*PENDING, "pending-install"):
        return ""
    lease, error = read_lease(tools, target)
    where = f"lease {target.namespace}/{lease_name(target)}"
    now = utcnow()
    holder = Holder.of(lease) if lease is not None else None
    if error:
        who = f"the deploy lock ({where}) cannot be read: {error}"
    elif holder is not None and holder.alive(now):
        who = (
            f"{holder.describe(now)} holds the deploy lock ({where}): it may still be working "
            "on it, or it died and its lock has not expired yet"
        )
    else:
        who = "no live action holds the deploy lock: an interrupted action left it"
    fix = (
        f"`helm uninstall {target.release} --namespace {target.namespace}` and deploy again"
        if state == "pending-install"
        else f"`deploy` recovers it (rollback to the last deployed revision first) or `rollback --env {target.env}` restores that revision"
    )
    return f"revision {last.get('revision')} is {state}; {who}; {fix}"


def _workload_line(item: dict[str, object], is_rollout: bool) -> str:
    meta, spec, st = (as_dict(item.get(key)) for key in ("metadata", "spec", "status"))
    template = as_dict(as_dict(spec.get("template")).get("spec"))
    images = ", ".join(str(as_dict(c).get("image")) for c in as_list(template.get("containers")))
    phase = f" phase={st.get('phase')}" if is_rollout else ""
    return f"{'rollout' if is_rollout else 'deployment'}/{meta.get('name')}{phase} ready={st.get('readyReplicas', 0)}/{spec.get('replicas', '?')} images={images}"


def diff(request: DeployRequest, tools: ClusterTools, clock: Clock) -> DeployReport:
    """Rendered manifests of this deploy vs. the release's current manifests, per object."""
    target = request.target
    run = new_run("diff", target, clock)
    with run.phase("diff") as detail:
        new = tools.run("helm", helm.template(request), HELM_TIMEOUT_S)
        if not new.ok:
            return run.finish("refused", EXIT_REFUSED, f"helm template failed: {new.reason(6)}")
        current = tools.run("helm", helm.get_manifest(target), HELM_TIMEOUT_S)
        if not current.ok and "not found" not in current.reason().lower():
            return run.finish(
                "failed", EXIT_REFUSED, f"cannot read the current release: {current.reason(3)}"
            )
        text, changed = manifest_diff(current.stdout if current.ok else "", new.stdout)
        run.report.details = text or "no changes"
        detail.append(f"{changed} object(s) change")
    return run.finish("succeeded", EXIT_OK, f"{changed} object(s) would change in {target.env}")


def manifest_diff(old: str, new: str) -> tuple[str, int]:
    old_docs, new_docs = split_documents(old), split_documents(new)
    out: list[str] = []
    changed = 0
    for key in sorted(set(old_docs) | set(new_docs)):
        a, b = old_docs.get(key, ""), new_docs.get(key, "")
        if a == b:
            continue
        changed += 1
        out += list(
            difflib.unified_diff(
                a.splitlines(), b.splitlines(), f"current/{key}", f"new/{key}", lineterm="", n=2
            )
        )
    return "\n".join(out), changed
