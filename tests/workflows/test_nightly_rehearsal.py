"""The nightly rehearsal exercises an upgrade, not only a first install (issue 15, D6).

The job's own `run:` steps are run with bash in a scratch directory holding what
`dagger call deploy --env local ... export --path rehearsal` exports. Those reports are made
by the real two-deploy runtime (`pipeline.deploy.rehearse`, in-process against the recording
fake cluster of tests/deploy: no k3s or Argo Rollouts controller runs here), so the check reads
exactly the files the runtime writes.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploy_fakes import FakeClock
from module_local_rehearsal import ANALYSIS_RUN, RolloutsCluster, rehearse_run
from workflows_dagger_calls import REPO, load_workflows
from workflows_steps import find_step

STEPS = (
    "Baseline install outcome",
    "Upgrade outcome",
    "The rehearsed release was an upgrade",
)


def rehearsal_job() -> dict[str, Any]:
    return load_workflows()["nightly.yml"]["jobs"]["rehearsal"]


def exported(tmp_path: Path, **cluster: Any) -> Path:
    """The `rehearsal/` folder the dagger call exports, written by the real runtime."""
    clock = FakeClock()
    (tmp_path / "run").mkdir()
    code, _ = rehearse_run(
        tmp_path / "run", RolloutsCluster(clock, strategy="canary", history=[], **cluster), clock
    )
    work = tmp_path / "work"
    work.mkdir()
    (work / "rehearsal").symlink_to(tmp_path / "run" / "reports")
    (work / ".github").symlink_to(REPO / ".github")
    assert (code == 0) == cluster.get("upgrade_ok", True)
    return work


def run_checks(work: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    for name in STEPS:
        step = find_step("nightly.yml", "rehearsal", name)
        assert step.get("if") == "${{ !cancelled() }}", name  # also after a failed deploy
        results[name] = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=work,
            env={**os.environ, "GITHUB_OUTPUT": str(work / "out")},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    return results


def test_the_job_deploys_local_once_and_checks_both_deploys_after_it() -> None:
    steps = rehearsal_job()["steps"]
    names = [s.get("name", "") for s in steps]
    (deploy,) = [i for i, s in enumerate(steps) if "dagger" in str(s.get("uses", ""))]
    call = " ".join(str(steps[deploy]["with"]["call"]).split())
    assert call.startswith("deploy --env local ") and "--fail-on-error=false" in call
    assert call.endswith("export --path rehearsal")
    checks = [next(i for i, n in enumerate(names) if n.startswith(s)) for s in STEPS]
    assert deploy < checks[0] < checks[1] < checks[2]
    upload = next(s for s in steps if "upload-artifact" in str(s.get("uses", "")))
    assert upload["with"]["path"] == "rehearsal/"  # baseline/ and rehearsal-local.json too


def test_a_rehearsed_upgrade_with_analysis_passes(tmp_path: Path) -> None:
    results = run_checks(exported(tmp_path))
    for name, done in results.items():
        assert done.returncode == 0, (name, done.stdout, done.stderr)
    line = results[STEPS[2]].stdout
    assert "baseline revision 1 upgraded to 2 (canary); 1 AnalysisRun(s) Successful" in line


@pytest.mark.parametrize(
    ("cluster", "message"),
    [
        ({"analysis_runs": []}, "no AnalysisRun ran during the canary upgrade"),
        (
            {"analysis_runs": [{**ANALYSIS_RUN, "status": {"phase": "Failed"}}]},
            "AnalysisRuns not Successful",
        ),
        ({"upgrade_ok": False}, "the baseline install did not succeed"),
    ],
)
def test_no_upgrade_or_no_analysis_fails_the_night(
    tmp_path: Path, cluster: dict[str, Any], message: str
) -> None:
    done = run_checks(exported(tmp_path, **cluster))[STEPS[2]]
    assert done.returncode == 1
    assert message in done.stdout


def test_a_first_install_reported_as_the_release_fails_the_night(tmp_path: Path) -> None:
    work = exported(tmp_path)
    report = work / "rehearsal" / "deploy-local.json"
    data = json.loads(report.read_text())
    report.write_text(json.dumps({**data, "revision_before": None}))
    done = run_checks(work)[STEPS[2]]
    assert done.returncode == 1 and "did not upgrade the baseline" in done.stdout
