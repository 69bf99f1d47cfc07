"""`python -m pipeline.deploy.preview_cli up|down|gc`: preview environments without Dagger.

The `preview`, `preview-down` and `preview-gc` functions run it in the tools container; it
runs the same way on a laptop. `up` writes the deploy report (deploy-pr-N.json/.md) and
preview-pr-N.json (URL, namespace, expiry); bad input exits 2 naming the flag or the
`preview.` field of pipeline.yaml; otherwise the exit code is the deploy report's.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import preview
from .history import parse_time
from .report import EXIT_OK, EXIT_REFUSED, to_markdown, write
from .request import DeployInputError, ImageRef, parse_json
from .tools import Clock, ClusterTools, SubprocessClusterTools, SystemClock


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="preview", description="Preview environments per pull request."
    )
    p.add_argument("action", choices=["up", "down", "gc"])
    p.add_argument("--settings", required=True, help="JSON of pipeline.yaml's preview section")
    p.add_argument("--pr", type=int, help="pull request number (up, down)")
    p.add_argument("--ttl", default="", help="up: lifetime like 72h or 3d (default: preview.ttl)")
    p.add_argument("--backend-image", default="", help="up: backend image REPO@sha256:<digest>")
    p.add_argument("--frontend-image", default="", help="up: frontend image REPO@sha256:<digest>")
    p.add_argument("--chart", default="k8s/chart", help="Helm chart directory")
    p.add_argument("--values-root", default=".", help="directory values_file is relative to")
    p.add_argument("--kubeconfig", help="kubeconfig file (mounted secret)")
    p.add_argument("--context", help="kubeconfig context (must be preview.cluster when set)")
    p.add_argument("--report-dir", default="reports/preview", help="where the reports go")
    p.add_argument("--no-wait", action="store_true", help="down/gc: do not wait for deletion")
    p.add_argument("--now", help=argparse.SUPPRESS)  # tests: the current time
    return p


def load_settings(args: argparse.Namespace) -> preview.PreviewSettings:
    try:
        text = Path(args.settings).read_text(encoding="utf-8")
    except OSError as e:
        raise DeployInputError(f"--settings: cannot read {args.settings}: {e.strerror}") from None
    settings = preview.PreviewSettings.from_json(parse_json(text, f"--settings {args.settings}"))
    if args.context and settings.context and args.context != settings.context:
        raise DeployInputError(
            f"--context: {args.context!r} is not the preview cluster; previews run only on "
            f"context {settings.context!r} (pipeline.yaml preview.cluster)"
        )
    values = os.path.join(args.values_root, settings.values_file)
    if args.action == "up" and not os.path.isfile(values):
        raise DeployInputError(f"preview.values_file: {values} does not exist")
    return dataclasses.replace(
        settings, values_file=values, context=args.context or settings.context
    )


def main(
    argv: Sequence[str] | None = None,
    tools_factory: Callable[[str | None, str | None], ClusterTools] | None = None,
    clock: Clock | None = None,
) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args)
        now = parse_time(args.now, "--now") if args.now else dt.datetime.now(dt.UTC)
        if args.action in ("up", "down"):
            if args.pr is None:
                raise DeployInputError(f"--pr: required for {args.action}")
            preview.check_pr(args.pr)
        ttl = preview.parse_duration(args.ttl, "--ttl") if args.ttl else settings.ttl_seconds
        images = (
            {
                "backend": ImageRef.parse(args.backend_image, "--backend-image"),
                "frontend": ImageRef.parse(args.frontend_image, "--frontend-image"),
            }
            if args.action == "up"
            else {}
        )
        if args.action == "up":
            preview.check_up(settings, ttl, images)
        tools = (tools_factory or _subprocess_tools)(args.kubeconfig, settings.context)
        if args.action == "down":
            print(preview.down(tools, args.pr, wait=not args.no_wait))
            return EXIT_OK
        if args.action == "gc":
            gone, kept = preview.gc(tools, now, wait=not args.no_wait)
            print(f"removed {len(gone)} expired preview(s): {', '.join(gone) or 'none'}")
            print(f"kept {len(kept)}: {', '.join(kept) or 'none'}")
            return EXIT_OK
        result = preview.up(
            tools, clock or SystemClock(), settings, args.pr, images, ttl, now, now.date(),
            chart=args.chart,
        )  # fmt: skip
    except DeployInputError as e:
        print(f"preview {args.action}: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    if result.report is None:
        print(f"preview up: error: {result.error}", file=sys.stderr)
        return EXIT_REFUSED
    write(result.report, args.report_dir)
    summary = {
        "pr": args.pr,
        "namespace": result.namespace,
        "url": result.url,
        "expires": result.expires,
        "redis_db": result.redis_db,
        "outcome": result.report.outcome,
    }
    out = Path(args.report_dir)
    (out / f"preview-{result.namespace}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"# Preview `{result.namespace}`: {result.report.outcome}\n")
    print(f"- URL: {result.url}\n- expires: {result.expires}\n")
    print(to_markdown(result.report))
    return result.report.exit_code


def _subprocess_tools(kubeconfig: str | None, context: str | None) -> ClusterTools:
    return SubprocessClusterTools(kubeconfig=kubeconfig, context=context)


if __name__ == "__main__":
    sys.exit(main())
