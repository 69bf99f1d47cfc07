"""Offline commands: `validate` checks pipeline.yaml and the repository layout; `plan` prints
what build / release / deploy would do. Plain Python: no Dagger engine, no network.

Exit codes: 0 fine, 2 bad configuration or arguments (one clear line per problem, no
traceback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Check pipeline.yaml and show what the Dagger pipeline would do.",
    )
    parser.add_argument(
        "--root", default=".", help="repository root holding pipeline.yaml (default: .)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{validate,plan}")
    sub.add_parser("validate", help="check pipeline.yaml and the repository layout")
    plan = sub.add_parser("plan", help="print images, tags, targets and deploy settings")
    plan.add_argument("--env", help="only this environment (e.g. staging)")
    plan.add_argument("--json", action="store_true", help="print JSON instead of text")
    plan.add_argument("--revision", help="git commit (default: git rev-parse HEAD in --root)")
    plan.add_argument("--version", default="", help="release version, e.g. v1.4.0")
    return parser


def _git_head(root: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pipeline.config import ConfigError, check_config, load_config
    from pipeline.plans import BuildInputs, PlanError, make_plan, render_plan

    root = Path(args.root)
    try:
        config = load_config(root)
    except ConfigError as e:
        return _fail([str(p) for p in e.problems])

    if args.command == "validate":
        problems = check_config(config, root, dt.date.today())
        if problems:
            return _fail([str(p) for p in problems])
        print(
            f"pipeline.yaml OK: apps backend, frontend; "
            f"environments {', '.join(config.environments)}"
        )
        return 0

    revision = args.revision if args.revision is not None else _git_head(root)
    try:
        plan = make_plan(config, BuildInputs(revision=revision, version=args.version), args.env)
    except ConfigError as e:
        return _fail([str(p) for p in e.problems])
    except PlanError as e:
        return _fail([str(e)])
    print(json.dumps(plan.to_dict(), indent=2) if args.json else render_plan(plan))
    return 0
