"""Deploy, verify, roll back — and promote, abort, rollback, status, diff — as plain Python.

Runs wherever helm/kubectl run (inside the Dagger tools container, or on a laptop):
`python -m pipeline.deploy_orchestrator deploy --target target.json --kubeconfig PATH ...`.
Every cluster action goes through `ClusterTools`; the decisions are here and in
rollout_verify.py (verification, rollback) and deploy_gates.py:

deploy = gates → (dry run: render and stop) → snapshot (previous revision) → apply
(`helm upgrade --install`) → verify (rollout within the deadline, `helm test`, smoke checks)
→ on failure: automatic rollback (Rollouts abort + `helm rollback` to the previous revision)
and verification of the rollback → report (JSON + Markdown) → exit code (deploy_report.EXIT_*).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import difflib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import cast

from .cluster_ephemeral import EphemeralSetupFailed
from .cluster_ephemeral import prepare as prepare_ephemeral
from .cluster_tools import Clock, ClusterTools, SubprocessClusterTools, SystemClock
from .deploy_gates import policy_gates, refused, signature_gates
from .deploy_plan import (
    DeployInputError,
    DeployRequest,
    DeployTarget,
    ReleaseEvidence,
    helm_template_args,
    helm_upgrade_args,
    parse_json,
    resolve_images,
    split_documents,
)
from .deploy_report import (
    EXIT_NOT_RESTORED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_ROLLED_BACK,
    CheckRecord,
    DeployReport,
    to_markdown,
    write,
)
from .rollout_verify import (
    HELM_TIMEOUT_S,
    SMOKE_TOKEN_ENV,
    PhaseFailed,
    current_revision,
    deployed_revisions,
    new_run,
    restore,
    verify,
)
from .rollout_watch import KUBECTL_TIMEOUT_S, find_workloads, get_rollouts, list_release_objects

ROLLOUT_CRD = "rollouts.argoproj.io"


# ---------------------------------------------------------------- actions


def deploy(
    request: DeployRequest, tools: ClusterTools, clock: Clock, today: dt.date
) -> DeployReport:
    target = request.target
    run = new_run("deploy", target, clock, request.dry_run)
    report = run.report
    report.images = {app: str(ref) for app, ref in request.images.items()}
    report.approved_by = request.approved_by

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
                done = tools.run("helm", helm_template_args(request), HELM_TIMEOUT_S)
                if not done.ok:
                    raise PhaseFailed(f"helm template failed: {done.reason(6)}")
                report.rendered = sorted(split_documents(done.stdout))
                report.manifest = done.stdout
                report.details = "helm " + " ".join(
                    helm_upgrade_args(request, target.timeout_seconds)
                )
                detail.append(f"{len(report.rendered)} objects")
        except PhaseFailed as e:
            return run.finish("refused", EXIT_REFUSED, str(e))
        return run.finish(
            "dry-run",
            EXIT_OK,
            f"dry run: would apply {len(report.rendered)} objects with strategy {target.strategy}; nothing applied",
        )

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
            if target.strategy != "rolling":
                crd = tools.run(
                    "kubectl",
                    ["get", "customresourcedefinition", ROLLOUT_CRD, "--output", "name"],
                    KUBECTL_TIMEOUT_S,
                )
                if not crd.ok:
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
                "helm",
                helm_upgrade_args(request, target.timeout_seconds),
                target.timeout_seconds + 30,
            )
            if not done.ok:
                raise PhaseFailed(f"helm upgrade failed: {done.reason(4)}")
            report.revision_after = report.revision_attempted = _revision_from_upgrade(done.stdout)
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
    return run.finish(
        "failed", EXIT_NOT_RESTORED, f"deploy failed ({failure}); NOT restored: {record.detail}"
    )


def _revision_from_upgrade(stdout: str) -> int | None:
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    version = cast(dict[str, object], data).get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) else None


def rollback(
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
            if revision is None:
                older = [
                    r for r in known if isinstance(r, int) and r < (run.report.revision_before or 0)
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


def promote(request: DeployRequest, tools: ClusterTools, clock: Clock, full: bool) -> DeployReport:
    target = request.target
    run = new_run("promote", target, clock)
    if target.strategy == "rolling":
        return run.finish(
            "refused",
            EXIT_REFUSED,
            f"environment {target.env!r} uses strategy rolling: nothing to promote (promote is for canary and blueGreen)",
        )
    try:
        with run.phase("promote") as detail:
            names, error = find_workloads(tools, target)
            if error:
                raise PhaseFailed(error)
            for name in names:
                done = tools.run(
                    "rollouts",
                    [
                        "promote",
                        name,
                        "--namespace",
                        target.namespace,
                        *(["--full"] if full else []),
                    ],
                    KUBECTL_TIMEOUT_S,
                )
                if not done.ok:
                    raise PhaseFailed(f"promote {name} failed: {done.reason(3)}")
                detail.append(f"promoted {name}{' fully' if full else ''}")
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
    target = request.target
    run = new_run("abort", target, clock)
    if target.strategy == "rolling":
        return run.finish(
            "refused",
            EXIT_REFUSED,
            f"environment {target.env!r} uses strategy rolling: nothing to abort; use `rollback`",
        )
    try:
        with run.phase("abort") as detail:
            names, error = find_workloads(tools, target)
            if error:
                raise PhaseFailed(error)
            for name in names:
                done = tools.run(
                    "rollouts", ["abort", name, "--namespace", target.namespace], KUBECTL_TIMEOUT_S
                )
                if not done.ok:
                    raise PhaseFailed(f"abort {name} failed: {done.reason(3)}")
                detail.append(f"aborted {name}")
            states = get_rollouts(tools, target, names)
            run.report.verification += [
                CheckRecord(f"rollout/{s.name}", True, f"{s.phase} {s.ready} {s.message}".strip())
                for s in states
            ]
    except PhaseFailed as e:
        return run.finish("failed", EXIT_NOT_RESTORED, str(e))
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
        kind = "deployments.apps" if target.strategy == "rolling" else "rollouts.argoproj.io"
        done = list_release_objects(tools, target, kind)
        if done.ok:
            for item in cast(
                list[dict[str, object]],
                cast(dict[str, object], parse_json(done.stdout, "kubectl get")).get("items", []),
            ):
                sections.append(_workload_line(item, target.strategy != "rolling"))
        else:
            sections.append(f"workloads: {done.reason(2)}")
        events = tools.run(
            "kubectl",
            [
                "get",
                "events",
                "--namespace",
                target.namespace,
                "--sort-by=.lastTimestamp",
                "--output",
                "json",
            ],
            KUBECTL_TIMEOUT_S,
        )
        if events.ok:
            items = cast(
                list[dict[str, object]],
                cast(dict[str, object], parse_json(events.stdout, "kubectl get events")).get(
                    "items", []
                ),
            )
            sections.append("recent events:")
            for ev in items[-10:]:
                obj = cast(dict[str, object], ev.get("involvedObject", {}))
                sections.append(
                    f"  {ev.get('type')} {obj.get('kind')}/{obj.get('name')} {ev.get('reason')}: {ev.get('message')}"
                )
        detail.append(f"revision {run.report.revision_after}")
    run.report.details = "\n".join(sections)
    return run.finish(
        "succeeded",
        EXIT_OK,
        f"release {target.release} in {target.namespace}: revision {run.report.revision_after}",
    )


def _workload_line(item: dict[str, object], is_rollout: bool) -> str:
    meta = cast(dict[str, object], item.get("metadata", {}))
    spec = cast(dict[str, object], item.get("spec", {}))
    st = cast(dict[str, object], item.get("status", {}))
    template = cast(
        dict[str, object], cast(dict[str, object], spec.get("template", {})).get("spec", {})
    )
    images = ", ".join(
        str(cast(dict[str, object], c).get("image"))
        for c in cast(list[object], template.get("containers", []))
    )
    phase = f" phase={st.get('phase')}" if is_rollout else ""
    return f"{'rollout' if is_rollout else 'deployment'}/{meta.get('name')}{phase} ready={st.get('readyReplicas', 0)}/{spec.get('replicas', '?')} images={images}"


def diff(request: DeployRequest, tools: ClusterTools, clock: Clock) -> DeployReport:
    """Rendered manifests of this deploy vs. the release's current manifests, per object."""
    target = request.target
    run = new_run("diff", target, clock)
    with run.phase("diff") as detail:
        new = tools.run("helm", helm_template_args(request), HELM_TIMEOUT_S)
        if not new.ok:
            return run.finish("refused", EXIT_REFUSED, f"helm template failed: {new.reason(6)}")
        current = tools.run(
            "helm",
            ["get", "manifest", target.release, "--namespace", target.namespace],
            HELM_TIMEOUT_S,
        )
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


# ---------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="deploy", description="Gated, verified Helm deploys with automatic rollback."
    )
    p.add_argument("action", choices=["deploy", "promote", "abort", "rollback", "status", "diff"])
    p.add_argument(
        "--target",
        required=True,
        help="JSON file describing the environment (written by the Dagger function)",
    )
    p.add_argument("--chart", default="k8s/chart", help="Helm chart directory")
    p.add_argument(
        "--values-root", default=".", help="directory the target's values_file is relative to"
    )
    p.add_argument("--kubeconfig", help="path to a kubeconfig file (mounted secret)")
    p.add_argument(
        "--context", help="kubeconfig context (default: the target's, else the file's current)"
    )
    p.add_argument("--backend-image", default="", help="backend image, REPO@sha256:<digest>")
    p.add_argument("--frontend-image", default="", help="frontend image, REPO@sha256:<digest>")
    p.add_argument(
        "--release-report", help="release report JSON from `release` (digests + scan verdict)"
    )
    p.add_argument("--cosign-key", help="cosign public key file")
    p.add_argument("--cosign-identity", help="keyless: certificate identity regexp")
    p.add_argument("--cosign-issuer", help="keyless: OIDC issuer URL")
    p.add_argument(
        "--approved-by",
        help="who approved this deploy (required where the environment requires approval)",
    )
    p.add_argument("--version", dest="release_version", help="release version shown in labels")
    p.add_argument(
        "--revision", type=int, help="rollback: revision to restore (default: the previous one)"
    )
    p.add_argument(
        "--full", action="store_true", help="promote: skip remaining steps (full promotion)"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="deploy: check gates and render manifests; apply nothing",
    )
    p.add_argument(
        "--report-dir", default="reports/deploy", help="where the JSON and Markdown reports go"
    )
    p.add_argument(
        "--allowlist",
        help="JSON list of accepted scan findings [{id, expires}] (pipeline.yaml scan.allowlist)",
    )
    p.add_argument("--today", help=argparse.SUPPRESS)
    return p


def build_request(args: argparse.Namespace, env: dict[str, str]) -> DeployRequest:
    target = DeployTarget.from_json(_read_json(args.target, "--target"))
    values = os.path.join(args.values_root, target.values_file)
    if not os.path.isfile(values):
        raise DeployInputError(
            f"target.values_file: {values} does not exist; create k8s/environments/{target.env}.yaml or fix pipeline.yaml"
        )
    if not os.path.isfile(os.path.join(args.chart, "Chart.yaml")):
        raise DeployInputError(f"--chart: {args.chart} has no Chart.yaml")
    target = dataclasses.replace(target, values_file=values)
    if args.kubeconfig is not None and not os.path.isfile(args.kubeconfig):
        raise DeployInputError(f"--kubeconfig: {args.kubeconfig} does not exist")
    if args.revision is not None and args.revision < 1:
        raise DeployInputError(
            f"--revision: {args.revision} must be a revision number >= 1 (see `status`)"
        )
    if bool(args.cosign_identity) != bool(args.cosign_issuer):
        raise DeployInputError(
            "--cosign-identity and --cosign-issuer go together (keyless verification needs both)"
        )
    if args.cosign_key and not os.path.isfile(args.cosign_key):
        raise DeployInputError(f"--cosign-key: {args.cosign_key} does not exist")
    evidence = (
        ReleaseEvidence.from_json(
            _read_json(args.release_report, "--release-report"), "--release-report"
        )
        if args.release_report
        else None
    )
    if args.allowlist and evidence is not None:
        extra = ReleaseEvidence.from_json(
            {"scan": {"allowlisted": _read_json(args.allowlist, "--allowlist")}}, "--allowlist"
        ).allowlisted
        evidence = dataclasses.replace(evidence, allowlisted=(*evidence.allowlisted, *extra))
    needs_images = args.action in ("deploy", "diff")
    images = (
        resolve_images({"backend": args.backend_image, "frontend": args.frontend_image}, evidence)
        if needs_images
        else {}
    )
    return DeployRequest(
        target=target,
        images=images,
        chart=args.chart,
        dry_run=bool(args.dry_run),
        kubeconfig_given=args.kubeconfig is not None,
        approved_by=(args.approved_by or "").strip() or None,
        evidence=evidence,
        cosign_key=args.cosign_key,
        cosign_identity=args.cosign_identity,
        cosign_issuer=args.cosign_issuer,
        smoke_token=env.get(SMOKE_TOKEN_ENV) or None,
        version=args.release_version,
    )


def _read_json(path: str, flag: str) -> object:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise DeployInputError(f"{flag}: cannot read {path}: {e.strerror}") from None
    return parse_json(text, f"{flag} {path}")


def main(
    argv: Sequence[str] | None = None,
    tools_factory: Callable[[str | None, str | None], ClusterTools] | None = None,
    clock: Clock | None = None,
) -> int:
    args = _parser().parse_args(argv)
    try:
        request = build_request(args, dict(os.environ))
        today = dt.date.fromisoformat(args.today) if args.today else dt.datetime.now(dt.UTC).date()
    except DeployInputError as e:
        print(f"{args.action}: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    context = args.context or request.target.context
    tools = (tools_factory or _subprocess_tools)(args.kubeconfig, context)
    clock = clock or SystemClock()
    try:
        if args.action == "deploy":
            report = deploy(request, tools, clock, today)
        elif args.action == "rollback":
            report = rollback(request, tools, clock, args.revision)
        elif args.action == "promote":
            report = promote(request, tools, clock, args.full)
        elif args.action == "abort":
            report = abort(request, tools, clock)
        elif args.action == "status":
            report = status(request, tools, clock)
        else:
            report = diff(request, tools, clock)
    except DeployInputError as e:  # malformed tool output, reported like bad input
        print(f"{args.action}: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    json_path, _ = write(report, args.report_dir)
    print(to_markdown(report))
    print(f"report: {json_path}", file=sys.stderr)
    return report.exit_code


def _subprocess_tools(kubeconfig: str | None, context: str | None) -> ClusterTools:
    return SubprocessClusterTools(kubeconfig=kubeconfig, context=context)


if __name__ == "__main__":
    sys.exit(main())
