"""The deploy runtime's command line: `python -m pipeline.deploy ACTION --target FILE ...`.

Runs wherever helm/kubectl run: inside the Dagger tools container (the deploy @functions
call it there) or on a laptop, with the same flags. Bad input exits 2 (`EXIT_REFUSED`) with
a message naming the flag; otherwise it writes the report (JSON + Markdown) and exits with
the report's exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence

from . import actions, ephemeral, history
from .report import EXIT_REFUSED, to_markdown, write
from .request import (
    ApprovalEvidence,
    DeployInputError,
    DeployRequest,
    DeployTarget,
    ReleaseEvidence,
    parse_json,
    resolve_images,
)
from .tools import Clock, ClusterTools, SubprocessClusterTools, SystemClock
from .verify import SMOKE_TOKEN_ENV


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
        "--kubeconfig-from",
        help="HOST:PORT: first fetch --kubeconfig from the throwaway cluster's one-shot handoff",
    )
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
    p.add_argument(
        "--approval-environment",
        default="",
        help="approval evidence: the GitHub environment whose required reviewers approved the run",
    )
    p.add_argument(
        "--approval-run-url", default="", help="approval evidence: https URL of the approved run"
    )
    p.add_argument(
        "--approval-actor", default="", help="approval evidence: GitHub login that started the run"
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
    p.add_argument("--commit", default="", help="commit being deployed (delivery history)")
    p.add_argument(
        "--commit-time", default="", help="RFC 3339 time of that commit (lead time for changes)"
    )
    p.add_argument(
        "--history-limit",
        type=int,
        default=history.DEFAULT_LIMIT,
        help="records kept in the environment's deploy history ConfigMap",
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
        approval=ApprovalEvidence.from_flags(
            args.approval_environment, args.approval_run_url, args.approval_actor
        ),
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
        if args.kubeconfig_from:
            if not args.kubeconfig:
                raise DeployInputError("--kubeconfig-from: needs --kubeconfig (where to write it)")
            ephemeral.fetch_kubeconfig(args.kubeconfig_from, args.kubeconfig)
    except ephemeral.HandoffFailed as e:
        print(f"{args.action}: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except DeployInputError as e:
        print(f"{args.action}: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        request = build_request(args, dict(os.environ))
        today = dt.date.fromisoformat(args.today) if args.today else dt.datetime.now(dt.UTC).date()
        if args.commit_time:
            history.parse_time(args.commit_time, "--commit-time")
        history.check_limit(args.history_limit)
    except DeployInputError as e:
        print(f"{args.action}: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    context = args.context or request.target.context
    tools = (tools_factory or _subprocess_tools)(args.kubeconfig, context)
    clock = clock or SystemClock()
    try:
        if args.action == "deploy":
            report = actions.deploy(request, tools, clock, today)
        elif args.action == "rollback":
            report = actions.rollback(request, tools, clock, args.revision)
        elif args.action == "promote":
            report = actions.promote(request, tools, clock, args.full)
        elif args.action == "abort":
            report = actions.abort(request, tools, clock)
        elif args.action == "status":
            report = actions.status(request, tools, clock)
        else:
            report = actions.diff(request, tools, clock)
    except DeployInputError as e:  # malformed tool output, reported like bad input
        print(f"{args.action}: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    note = history.record(
        tools,
        request.target,
        report,
        commit=args.commit or history.release_commit(args.release_report),
        commit_time=args.commit_time,
        limit=args.history_limit,
    )
    if note:
        print(note, file=sys.stderr)
    json_path, _ = write(report, args.report_dir)
    print(to_markdown(report))
    print(f"report: {json_path}", file=sys.stderr)
    return report.exit_code


def _subprocess_tools(kubeconfig: str | None, context: str | None) -> ClusterTools:
    return SubprocessClusterTools(kubeconfig=kubeconfig, context=context)


if __name__ == "__main__":
    sys.exit(main())
