"""`python -m pipeline.deploy.metrics`: delivery metrics of one environment, from its history.

Reads the environment's deploy history (ConfigMap `<release>-deploy-history`, see
history.py) with kubectl — read access to one ConfigMap is all it needs — and prints the
four metrics (dora.py) as Markdown; writes `metrics-ENV.json` and `metrics-ENV.md`.
Exit 0, or 2 with a message naming the flag for bad input or an unreadable history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import dora, history
from .report import EXIT_OK, EXIT_REFUSED
from .request import DeployInputError
from .tools import ClusterTools, SubprocessClusterTools

MAX_DAYS = 3650


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="metrics", description="Delivery metrics of an environment from its deploy history."
    )
    p.add_argument("--env", required=True, help="environment name (shown in the report)")
    p.add_argument("--namespace", required=True, help="the environment's namespace")
    p.add_argument("--release", default="blog-creator", help="Helm release name")
    p.add_argument("--days", type=int, default=30, help="window: the last DAYS days")
    p.add_argument("--kubeconfig", help="kubeconfig file (read-only access is enough)")
    p.add_argument("--context", help="kubeconfig context")
    p.add_argument("--report-dir", default="reports/metrics", help="where JSON and Markdown go")
    p.add_argument("--now", help=argparse.SUPPRESS)  # tests: the end of the window
    return p


def main(
    argv: Sequence[str] | None = None,
    tools_factory: Callable[[str | None, str | None], ClusterTools] | None = None,
) -> int:
    args = _parser().parse_args(argv)
    try:
        if not 1 <= args.days <= MAX_DAYS:
            raise DeployInputError(f"--days: {args.days} must be 1..{MAX_DAYS}")
        now = history.parse_time(args.now, "--now") if args.now else dt.datetime.now(dt.UTC)
        tools = (tools_factory or _subprocess_tools)(args.kubeconfig, args.context)
        records, _, error = history.load(tools, args.namespace, args.release)
        if error:
            raise DeployInputError(f"--namespace {args.namespace}: {error}")
    except DeployInputError as e:
        print(f"metrics: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    result = dora.compute(records, args.env, args.days, now)
    text = dora.to_markdown(result)
    out = Path(args.report_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"metrics-{args.env}.json").write_text(
        json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8"
    )
    (out / f"metrics-{args.env}.md").write_text(text, encoding="utf-8")
    print(text)
    print("```json\n" + json.dumps(result.to_json(), indent=2) + "\n```")
    return EXIT_OK


def _subprocess_tools(kubeconfig: str | None, context: str | None) -> ClusterTools:
    return SubprocessClusterTools(kubeconfig=kubeconfig, context=context)


if __name__ == "__main__":
    sys.exit(main())
