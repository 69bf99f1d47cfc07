"""Full release cycle against a REAL Kubernetes API server (not collected by pytest).

    .venv/bin/python tests/deploy/deploy_release_cycle.py --kubeconfig ~/.kube/config \
        --backend-image REPO@sha256:... --frontend-image REPO@sha256:... [--strategy canary]

Runs, with the real helm/kubectl/kubectl-argo-rollouts on PATH and the `local` environment of
pipeline.yaml (one-node values, add-ons installed, smoke checks through the API server proxy):
1. deploy the good images                 → exit 0 (succeeded or awaiting promotion)
2. deploy an image that cannot be pulled   → exit 1: verification fails, automatic rollback
                                            to the revision of step 1, verified
3. deploy the good images again           → exit 0
4. promote --full (blueGreen/canary)      → exit 0
Prints each step's outcome and phase timings (the deploy-time figures of docs/deploy.md);
exits non-zero on the first unexpected result. No cluster can run where this repository's
CI runs, so this is for a workstation or a CI job with a throwaway cluster (kind, k3d, k3s).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from pipeline.config import load_config
from pipeline.deploy.__main__ import main as orchestrator
from pipeline.deploy.request import check_strategy
from pipeline.deploy_targets import target_for

UNPULLABLE = "sha256:" + "0" * 64


def step(name: str, argv: list[str], expected: set[int], reports: Path) -> dict[str, object]:
    code = orchestrator([*argv, "--report-dir", str(reports / name)])
    files = sorted((reports / name).glob("*.json"))
    report: dict[str, object] = json.loads(files[0].read_text()) if files else {}
    phases = report.get("phases", [])
    timings = (
        ", ".join(f"{p['name']} {p['seconds']:.1f}s" for p in phases)
        if isinstance(phases, list)
        else ""
    )
    print(
        f"{name}: exit {code} {report.get('outcome')} in {report.get('total_seconds')}s [{timings}]"
    )
    if code not in expected:
        print(f"{name}: expected exit {sorted(expected)}: {report.get('message')}", file=sys.stderr)
        sys.exit(1)
    return report


def run() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--backend-image", required=True)
    p.add_argument("--frontend-image", required=True)
    p.add_argument("--strategy", default="rolling")
    p.add_argument(
        "--no-smoke",
        action="store_true",
        help="skip the HTTP smoke checks (clusters without pod networking, e.g. kwok nodes)",
    )
    args = p.parse_args()
    target = dataclasses.replace(
        target_for(load_config(ROOT), "local"), strategy=check_strategy(args.strategy)
    )
    if args.no_smoke:
        target = dataclasses.replace(target, smoke_checks=())
    work = Path(tempfile.mkdtemp(prefix="deploy-e2e-"))
    target_file = work / "target.json"
    target_file.write_text(json.dumps(target.to_json()))
    base = [
        "--target",
        str(target_file),
        "--chart",
        str(ROOT / "k8s/chart"),
        "--values-root",
        str(ROOT),
        "--kubeconfig",
        args.kubeconfig,
    ]
    good = [*base, "--backend-image", args.backend_image, "--frontend-image", args.frontend_image]
    # A repository that does not exist (kwok nodes also keep any "unpullable" image pending).
    repository = args.backend_image.split("@", 1)[0].rsplit("/", 1)[0]
    broken_backend = f"{repository}/unpullable/backend@{UNPULLABLE}"
    broken = [*base, "--backend-image", broken_backend, "--frontend-image", args.frontend_image]

    first = step("1-deploy", ["deploy", *good, "--version", "e2e-1"], {0}, work)
    failed = step("2-failing-deploy", ["deploy", *broken, "--version", "e2e-2"], {1}, work)
    rollback = failed.get("rollback")
    assert isinstance(rollback, dict) and rollback.get("to_revision") == first.get("revision_after")
    step("3-deploy-again", ["deploy", *good, "--version", "e2e-3"], {0}, work)
    if target.strategy != "rolling":
        step("4-promote", ["promote", *base, "--full"], {0}, work)
    print(f"cycle passed; reports in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
