"""`deploy --env local`: a baseline install, then the requested release as an upgrade.

    python -m pipeline.deploy.rehearse deploy --target FILE ... (the flags of `pipeline.deploy`)

A first install on a fresh cluster is one where Argo Rollouts skips every canary step and no
analysis runs (issue 15, D6), so a throwaway cluster that only installs proves little. This
runs the deploy runtime (`pipeline.deploy`) twice on the same throwaway cluster, as
scripts/rehearsal.sh does on the real node (r1, then r2):

1. the baseline: the same images, chart, values file and overlay, labelled
   `release.version=<version>-baseline` (reports in REPORT_DIR/baseline/);
2. the requested release as an upgrade: only the version label differs, so the pod template
   changes and the canary runs its steps and its analysis (reports in REPORT_DIR/).

The analysis needs served requests of the canary pods (no data is never a pass), and nobody
uses a throwaway cluster: during the upgrade `Traffic` sends a bounded GET every
TRAFFIC_INTERVAL_S to the backend Service through the API server's service proxy (the way the
smoke checks reach the app here) — traffic only to this call's own cluster. The kubeconfig is
fetched once (`--kubeconfig-from`, a one-shot handoff) before the first deploy. Exit code: the
baseline's when it failed (the upgrade is then not attempted), else the upgrade's.
REPORT_DIR/rehearsal-local.json records both exit codes, the AnalysisRuns the controller ran
and the traffic sent (the nightly checks from it that an upgrade with analysis happened).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import ephemeral
from .__main__ import main as deploy_main
from .kube import as_dict, as_list, get, list_items
from .report import EXIT_REFUSED
from .request import DeployInputError, DeployTarget
from .tools import Clock, ClusterTools, SubprocessClusterTools

BASELINE_DIR = "baseline"
BASELINE_SUFFIX = "-baseline"
LABEL_MAX = 63  # app.kubernetes.io/version is a label value
TRAFFIC_INTERVAL_S = 0.5
TRAFFIC_MAX_S = 3600.0  # bounded in time and count, whatever the deploy does
TRAFFIC_PATH = "/api/v1/auth/me"  # the API stack (401 without a token); not a probe route
# What the two deploys did, for the nightly's D6 check (.github/scripts/rehearsal_upgraded.py).
REHEARSAL_REPORT = "rehearsal-local.json"

ToolsFactory = Callable[[str | None, str | None], ClusterTools]


def baseline_version(version: str) -> str:
    """The baseline's release.version: differs from `version`, fits a label value."""
    if not version:
        return BASELINE_SUFFIX[1:]
    return version[: LABEL_MAX - len(BASELINE_SUFFIX)] + BASELINE_SUFFIX


def _flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args[:-1] else None


def _without(args: list[str], name: str) -> list[str]:
    """`args` without the flag `name` and its value."""
    if name not in args[:-1]:
        return list(args)
    i = args.index(name)
    return args[:i] + args[i + 2 :]


def _with(args: list[str], name: str, value: str) -> list[str]:
    return [*_without(args, name), name, value]


def deploy_runs(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The two runtime argument lists (baseline, upgrade) for the deploy arguments `argv`."""
    args = list(argv)
    if not args or args[0] != "deploy":
        raise DeployInputError("rehearse: the first argument must be `deploy`")
    if "--dry-run" in args:
        raise DeployInputError("rehearse: --dry-run renders only; run `pipeline.deploy` for it")
    report_dir = _flag(args, "--report-dir") or "reports/deploy"
    upgrade = _without(args, "--kubeconfig-from")  # fetched once, before the baseline
    baseline = _with(upgrade, "--report-dir", f"{report_dir}/{BASELINE_DIR}")
    baseline = _with(baseline, "--version", baseline_version(_flag(args, "--version") or ""))
    return baseline, upgrade


@dataclass
class TrafficCount:
    sent: int = 0
    answered_2xx: int = 0  # the rest: 401 from the API without a token, or errors (the
    # analysis judges the app's own 5xx from its metrics)


class Traffic:
    """Bounded GETs of the backend Service through the API server proxy, in a thread."""

    def __init__(self, tools: ClusterTools, target: DeployTarget) -> None:
        service = f"{target.release}-backend:http"
        self.raw = f"/api/v1/namespaces/{target.namespace}/services/{service}/proxy{TRAFFIC_PATH}"
        self.tools = tools
        self.count = TrafficCount()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rehearsal-traffic", daemon=True)

    def _one(self) -> None:
        result = self.tools.run("kubectl", ["get", "--raw", self.raw], 10)
        self.count.sent += 1
        self.count.answered_2xx += result.ok

    def _loop(self) -> None:
        limit = int(TRAFFIC_MAX_S / TRAFFIC_INTERVAL_S)
        while self.count.sent < limit and not self._stop.wait(TRAFFIC_INTERVAL_S):
            self._one()

    def start(self) -> None:
        self._one()  # the first request before the upgrade starts
        self._thread.start()

    def stop(self) -> TrafficCount:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.count


def analysis_runs(tools: ClusterTools, target: DeployTarget) -> tuple[list[dict[str, str]], str]:
    """The AnalysisRuns the Argo Rollouts controller created in the namespace (name, phase,
    owning Rollout), or the reason they could not be read."""
    done = get(tools, ["analysisruns.argoproj.io", "--namespace", target.namespace])
    if not done.ok:
        return [], f"kubectl get analysisruns failed: {done.reason(2)}"
    try:
        data: object = json.loads(done.stdout or "{}")
    except ValueError:
        return [], "kubectl get analysisruns: the answer is not JSON"
    runs: list[dict[str, str]] = []
    for item in list_items(data):
        meta, status = as_dict(item.get("metadata")), as_dict(item.get("status"))
        owners = [str(as_dict(o).get("name", "")) for o in as_list(meta.get("ownerReferences"))]
        runs.append(
            {
                "name": str(meta.get("name", "")),
                "phase": str(status.get("phase", "")),
                "rollout": owners[0] if owners else "",
            }
        )
    return runs, ""


def write_summary(report_dir: str, summary: dict[str, object]) -> None:
    os.makedirs(report_dir, exist_ok=True)
    with open(os.path.join(report_dir, REHEARSAL_REPORT), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


def _target(path: str | None) -> DeployTarget:
    if not path:
        raise DeployInputError("rehearse: --target is required")
    try:
        with open(path, encoding="utf-8") as f:
            return DeployTarget.from_json(json.load(f))
    except (OSError, ValueError) as e:
        raise DeployInputError(f"--target: cannot read {path}: {e}") from None


def main(
    argv: Sequence[str] | None = None,
    tools_factory: ToolsFactory | None = None,
    clock: Clock | None = None,
) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        baseline, upgrade = deploy_runs(args)
        target = _target(_flag(args, "--target"))
        kubeconfig, handoff = _flag(args, "--kubeconfig"), _flag(args, "--kubeconfig-from")
        if handoff:
            if not kubeconfig:
                raise DeployInputError("--kubeconfig-from: needs --kubeconfig (where to write it)")
            ephemeral.fetch_kubeconfig(handoff, kubeconfig)
    except (DeployInputError, ephemeral.HandoffFailed) as e:
        print(f"deploy: error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    factory = tools_factory or _subprocess_tools
    report_dir = _flag(upgrade, "--report-dir") or "reports/deploy"
    report = f"deploy-{target.env}.json"
    summary: dict[str, object] = {
        "env": target.env,
        "strategy": target.strategy,
        "baseline": {"report": f"{BASELINE_DIR}/{report}", "exit_code": None},
        "upgrade": None,
    }
    print("## 1/2 Baseline install (a first install: Argo Rollouts runs no canary step)\n")
    sys.stdout.flush()
    code = deploy_main(baseline, factory, clock)
    summary["baseline"] = {"report": f"{BASELINE_DIR}/{report}", "exit_code": code}
    if code != 0:
        write_summary(report_dir, summary)
        print(
            f"\nbaseline install failed (exit {code}): the requested release was not deployed; "
            f"see {_flag(baseline, '--report-dir')}"
        )
        return code
    print("\n## 2/2 The requested release as an upgrade (canary steps and analysis run)\n")
    sys.stdout.flush()
    tools = factory(kubeconfig, _flag(args, "--context") or target.context)
    traffic = Traffic(tools, target) if target.strategy == "canary" else None
    if traffic is not None:
        traffic.start()
    try:
        code = deploy_main(upgrade, factory, clock)
    finally:
        count = traffic.stop() if traffic is not None else TrafficCount()
    runs, error = analysis_runs(tools, target)
    summary["upgrade"] = {"report": report, "exit_code": code}
    summary["analysis_runs"] = runs
    summary["analysis_runs_error"] = error
    summary["traffic"] = {"path": TRAFFIC_PATH, **count.__dict__}
    write_summary(report_dir, summary)
    phases = ", ".join(f"{r['name']}: {r['phase']}" for r in runs) or error or "none"
    print(
        f"\nrehearsal: {count.sent} GET {TRAFFIC_PATH} through the API server proxy during "
        f"the upgrade; AnalysisRuns: {phases}"
    )
    return code


def _subprocess_tools(kubeconfig: str | None, context: str | None) -> ClusterTools:
    return SubprocessClusterTools(kubeconfig=kubeconfig, context=context)


if __name__ == "__main__":
    sys.exit(main())
