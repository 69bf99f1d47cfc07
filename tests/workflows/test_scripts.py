"""The helper scripts the workflows run (.github/scripts), run for real on sample inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from workflows_dagger_calls import REPO

SCRIPTS = REPO / ".github" / "scripts"
DIGEST = "sha256:" + "ab" * 32
BACKEND = f"ghcr.io/org/blog/backend@{DIGEST}"
FRONTEND = f"ghcr.io/org/blog/frontend@{DIGEST}"


def run(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        args, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def summary_tool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, str(SCRIPTS / "ci_summary.py"), *args], env)


# ---- ci_summary.py -------------------------------------------------------------------------


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    (root / "test").mkdir(parents=True)
    (root / "scan").mkdir()
    (root / "summary.md").write_text(
        "## ci: FAILED\n\n| Step | Result |\n|---|---|\n| test | **FAIL** |\n"
    )
    (root / "summary.json").write_text(
        json.dumps(
            {
                "title": "ci",
                "passed": False,
                "steps": [{"name": "lint", "ok": True}, {"name": "test", "ok": False}],
            }
        )
    )
    (root / "test" / "backend-junit.xml").write_text(
        textwrap.dedent("""\
        <?xml version="1.0"?>
        <testsuites><testsuite name="pytest" tests="10" failures="1" errors="1" skipped="2" time="3.5">
        <testcase name="a"/></testsuite></testsuites>""")
    )
    (root / "test" / "frontend-junit.xml").write_text(
        '<testsuite name="vitest" tests="5" failures="0" errors="0" time="1.25"></testsuite>'
    )
    (root / "test" / "coverage.xml").write_text(
        '<coverage line-rate="0.8731" branch-rate="0.5"></coverage>'
    )
    (root / "test" / "coverage-summary.json").write_text(
        json.dumps({"total": {"lines": {"pct": 91.2}}})
    )
    (root / "scan" / "backend.sarif").write_text(
        json.dumps(
            {
                "runs": [
                    {"results": [{"level": "error"}, {"level": "error"}, {"level": "warning"}, {}]}
                ]
            }
        )
    )
    (root / "scan" / "broken.xml").write_text("<not-closed")
    return root


def test_summary_shows_pipeline_tests_coverage_and_sarif(reports: Path) -> None:
    result = summary_tool("summary", str(reports))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("## ci: FAILED")
    assert "| `test/backend-junit.xml` | 6 | 1 | 1 | 2 | 3.5s |" in out
    assert "| `test/frontend-junit.xml` | 5 | 0 | 0 | 0 | 1.2s |" in out
    assert "**13 of 15 tests passed**, **2 failed**." in out
    assert "| `test/coverage.xml` | 87.3% |" in out
    assert "| `test/coverage-summary.json` | 91.2% |" in out
    assert "| `scan/backend.sarif` | 2 | 2 | 0 |" in out  # a result without level is a warning


def test_summary_includes_other_reports_bounded(tmp_path: Path) -> None:
    (tmp_path / "summary.md").write_text("## load test: PASSED\n")
    (tmp_path / "load-test.md").write_text("| Path | p95 |\n|---|---|\n| / | 120 ms |\n")
    (tmp_path / "findings.md").write_text("x" * 70_000)
    out = summary_tool("summary", str(tmp_path)).stdout
    assert out.index("## load test: PASSED") < out.index("| / | 120 ms |")
    assert "truncated; the full `findings.md` is in the artifact" in out
    assert len(out) < 62_000
    assert "## Tests" not in out  # no JUnit report, no empty section


def test_summary_explains_missing_reports(tmp_path: Path) -> None:
    result = summary_tool("summary", str(tmp_path / "nowhere"))
    assert result.returncode == 0
    assert result.stdout.startswith("## Pipeline reports missing")
    assert "-i" in result.stdout and "docs/ci.md" in result.stdout


def test_verdict_fails_naming_the_failed_steps(reports: Path) -> None:
    result = summary_tool("verdict", str(reports))
    assert result.returncode == 1
    assert result.stdout.strip() == "::error::ci: failed steps: test"


def test_verdict_passes(reports: Path) -> None:
    (reports / "summary.json").write_text(json.dumps({"title": "ci", "passed": True, "steps": []}))
    result = summary_tool("verdict", str(reports))
    assert result.returncode == 0 and result.stdout.strip() == "ci: passed"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "summary.json is missing"),
        ("{not json", "is not JSON"),
        ('{"passed": "yes"}', "needs a boolean 'passed'"),
    ],
)
def test_verdict_fails_on_missing_or_bad_summary(
    tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "summary.json").write_text(content)
    result = summary_tool("verdict", str(tmp_path))
    assert result.returncode == 1 and message in result.stdout


def write_release(
    directory: Path, images: dict[str, object], markdown: str | None = "# Release\n"
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "release.json").write_text(
        json.dumps({"images": images, "scan": {"passed": True}})
    )
    if markdown is not None:
        (directory / "release.md").write_text(markdown)
    return directory


def test_release_prints_report_and_writes_outputs(tmp_path: Path) -> None:
    release = write_release(
        tmp_path / "release", {"backend": BACKEND, "frontend": {"ref": FRONTEND}}
    )
    output = tmp_path / "github_output"
    result = summary_tool("release", str(release), env={"GITHUB_OUTPUT": str(output)})
    assert result.returncode == 0, result.stdout
    assert result.stdout == "# Release\n"
    assert output.read_text() == f"backend-image={BACKEND}\nfrontend-image={FRONTEND}\n"


def test_release_without_markdown_lists_the_digests(tmp_path: Path) -> None:
    release = write_release(
        tmp_path / "r", {"backend": BACKEND, "frontend": FRONTEND}, markdown=None
    )
    result = summary_tool("release", str(release), env={"GITHUB_OUTPUT": ""})
    assert result.returncode == 0
    assert f"- backend: `{BACKEND}`" in result.stdout


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ({"backend": "ghcr.io/org/blog/backend:v1", "frontend": FRONTEND}, "images.backend"),
        ({"backend": BACKEND}, "images.frontend = None"),
        ({"backend": BACKEND, "frontend": f"x@sha256:{'ab' * 31}"}, "images.frontend"),
        ({"backend": BACKEND, "frontend": f"{FRONTEND} ; rm -rf /"}, "images.frontend"),
        ([BACKEND, FRONTEND], "'images' must be an object"),
    ],
)
def test_release_refuses_references_without_digest(
    tmp_path: Path, images: object, message: str
) -> None:
    release = write_release(tmp_path / "r", images)  # type: ignore[arg-type]
    output = tmp_path / "out"
    result = summary_tool("release", str(release), env={"GITHUB_OUTPUT": str(output)})
    assert result.returncode == 1
    assert message in result.stdout and "::error::" in result.stdout
    assert not output.exists()


def test_release_without_report(tmp_path: Path) -> None:
    result = summary_tool("release", str(tmp_path))
    assert result.returncode == 1 and "release.json: missing" in result.stdout


def test_sarif_runs_get_distinct_categories(reports: Path) -> None:
    (reports / "scan" / "two-runs.sarif").write_text(
        json.dumps({"runs": [{"tool": {"driver": {"name": "Trivy"}}}, {"automationDetails": {}}]})
    )
    result = summary_tool("sarif", str(reports), "nightly-prod")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "found=true\n"
    ids = []
    for path in sorted(reports.rglob("*.sarif")):
        runs = json.loads(path.read_text())["runs"]
        ids += [run["automationDetails"]["id"] for run in runs]
    assert ids == [
        "nightly-prod/scan/backend/",
        "nightly-prod/scan/two-runs/1/",
        "nightly-prod/scan/two-runs/2/",
    ]
    # results survive the rewrite
    backend = json.loads((reports / "scan" / "backend.sarif").read_text())
    assert len(backend["runs"][0]["results"]) == 4


def test_sarif_without_files_and_with_a_broken_file(tmp_path: Path) -> None:
    assert summary_tool("sarif", str(tmp_path)).stdout == "found=false\n"
    (tmp_path / "bad.sarif").write_text('{"version": "2.1.0"}')
    result = summary_tool("sarif", str(tmp_path))
    assert result.returncode == 1 and "no 'runs' list" in result.stderr


def test_usage_error() -> None:
    result = summary_tool("publish", "x")
    assert result.returncode == 2 and "ci_summary.py summary DIR" in result.stderr


# ---- ci_summary.py outcome: the deploy report decides, not `dagger call`'s exit code -----
# The reports are written by the module's own writer (pipeline.deploy.report), so a change of
# its file name or fields fails here.


def write_deploy_report(
    directory: Path, action: str, env: str, outcome: str, code: int, message: str
) -> Path:
    from pipeline.deploy import report

    r = report.DeployReport(
        action=action, env=env, namespace="blog", release="blog", strategy="canary"
    )
    r.outcome, r.exit_code, r.message = outcome, code, message
    json_path, _ = report.write(r, directory)
    return json_path


@pytest.mark.parametrize(
    ("outcome", "code", "level"),
    [
        ("succeeded", 0, "notice"),
        ("awaiting-promotion", 0, "notice"),
        ("dry-run", 0, "notice"),
        ("rolled-back", 1, "error"),
        ("refused", 2, "error"),
        ("failed", 3, "error"),
    ],
)
def test_outcome_exits_with_the_documented_code(
    tmp_path: Path, outcome: str, code: int, level: str
) -> None:
    reports = tmp_path / "deploy-report"
    path = write_deploy_report(reports, "deploy", "prod", outcome, code, "what happened\n100%")
    assert path == reports / "deploy-prod.json"
    output = tmp_path / "github_output"
    result = summary_tool(
        "outcome", str(reports), "deploy", "prod", env={"GITHUB_OUTPUT": str(output)}
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert output.read_text() == f"outcome={outcome}\nexit-code={code}\n"
    line = result.stdout.strip()
    # one workflow command: newline and % escaped, or the runner would cut the message
    assert line.startswith(f"::{level} title=deploy prod::{outcome}: what happened%0A100%25")
    assert len(result.stdout.splitlines()) == 1


def test_outcome_of_a_rollback_not_restored_says_act_now(tmp_path: Path) -> None:
    write_deploy_report(tmp_path, "rollback", "staging", "failed", 3, "helm rollback failed")
    result = summary_tool(
        "outcome", str(tmp_path), "rollback", "staging", env={"GITHUB_OUTPUT": ""}
    )
    assert result.returncode == 3
    assert "NOT restored: act now" in result.stdout


def test_outcome_without_a_report(tmp_path: Path) -> None:
    """`dagger call` failed before exporting (e.g. the engine could not start): the state is
    unknown, which is not `failed` (no restore job runs on a guess)."""
    output = tmp_path / "github_output"
    result = summary_tool(
        "outcome", str(tmp_path / "none"), "deploy", "staging", env={"GITHUB_OUTPUT": str(output)}
    )
    assert result.returncode == 1
    assert output.read_text() == "outcome=unknown\nexit-code=1\n"
    assert result.stdout.startswith("::error title=deploy staging::no report: ")
    assert "dagger call status --env staging" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"outcome": "pending"}', "outcome 'pending' is not one of succeeded"),
        ('["succeeded"]', "outcome None is not one of"),
    ],
)
def test_outcome_of_a_bad_report(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "deploy-dev.json").write_text(content)
    result = summary_tool("outcome", str(tmp_path), "deploy", "dev", env={"GITHUB_OUTPUT": ""})
    assert result.returncode == 1 and message in result.stdout


def test_outcome_uses_the_reports_own_code(tmp_path: Path) -> None:
    """`status`/`diff` record a `failed` read of the cluster as 2 (nothing was changed)."""
    write_deploy_report(tmp_path, "status", "prod", "failed", 2, "cannot read the release")
    result = summary_tool("outcome", str(tmp_path), "status", "prod", env={"GITHUB_OUTPUT": ""})
    assert result.returncode == 2


def test_outcome_of_a_real_refused_deploy(tmp_path: Path) -> None:
    """End to end with the real orchestrator CLI (`python -m pipeline.deploy`, what the tools
    container runs): production without --approved-by is refused before any cluster tool
    runs; the workflow step reads that report and exits with the documented 2."""
    (tmp_path / "k8s/environments").mkdir(parents=True)
    (tmp_path / "k8s/environments/prod.yaml").write_text("{}\n")
    (tmp_path / "k8s/chart").mkdir()
    (tmp_path / "k8s/chart/Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 0.1.0\n")
    target = {
        "env": "prod",
        "namespace": "blog",
        "values_file": "k8s/environments/prod.yaml",
        "strategy": "canary",
        "url": "https://blog.example.com",
        "require_approval": True,
        "smoke_checks": [],
    }
    (tmp_path / "target.json").write_text(json.dumps(target))
    deploy = run(
        [sys.executable, "-m", "pipeline.deploy", "deploy", "--target", "target.json"]
        + ["--report-dir", "deploy-report", "--backend-image", BACKEND]
        + ["--frontend-image", FRONTEND],
        env={"PYTHONPATH": str(REPO / "src")},
        cwd=tmp_path,
    )
    assert (tmp_path / "deploy-report" / "deploy-prod.json").is_file(), (
        deploy.stdout + deploy.stderr
    )
    output = tmp_path / "github_output"
    result = summary_tool(
        "outcome",
        str(tmp_path / "deploy-report"),
        "deploy",
        "prod",
        env={"GITHUB_OUTPUT": str(output)},
    )
    assert result.returncode == 2, result.stdout
    assert output.read_text() == "outcome=refused\nexit-code=2\n"
    assert "requires approval" in result.stdout


# ---- write-kubeconfig.sh ------------------------------------------------------------------


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n")
    return ca


def write_kubeconfig(
    out: Path, server: str, ca: Path, stdin: str | None, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / "write-kubeconfig.sh"), str(out), server, str(ca), *extra],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_kubeconfig_is_self_contained_and_valid(
    tmp_path: Path, ca_file: Path, kubectl: str
) -> None:
    out = tmp_path / "kubeconfig"
    token = "eyJhbGciOiJSUzI1NiJ9.payload.signature"
    result = write_kubeconfig(out, "https://10.0.0.1:443", ca_file, token + "\n")
    assert result.returncode == 0, result.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    view = run([kubectl, "config", "view", "--raw", "-o", "json", "--kubeconfig", str(out)])
    assert view.returncode == 0, view.stderr
    config = json.loads(view.stdout)
    assert config["current-context"] == "target"
    assert config["clusters"][0]["cluster"]["server"] == "https://10.0.0.1:443"
    assert config["users"][0]["user"] == {"token": token}  # no exec plugin
    assert "exec" not in out.read_text()


def test_kubeconfig_token_is_masked_whatever_its_length(tmp_path: Path, ca_file: Path) -> None:
    """GitHub masks exact values: a short token must be masked too (the old masking of
    export-secret-env.sh skipped lines under 16 characters)."""
    result = write_kubeconfig(tmp_path / "k", "https://h", ca_file, "s3cr3t")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["::add-mask::s3cr3t"]


def test_kubeconfig_refuses_a_token_argument(tmp_path: Path, ca_file: Path) -> None:
    """Arguments are visible to every process on the runner: the token comes on stdin."""
    out = tmp_path / "kubeconfig"
    result = write_kubeconfig(out, "https://h", ca_file, "", "token-as-argument")
    assert result.returncode == 2
    assert "read from stdin, never from an argument" in result.stderr
    assert "token-as-argument" not in result.stderr + result.stdout
    assert not out.exists()


def test_kubeconfig_replaces_a_file_with_wide_permissions(tmp_path: Path, ca_file: Path) -> None:
    out = tmp_path / "kubeconfig"
    out.write_text("old")
    out.chmod(0o644)
    assert write_kubeconfig(out, "https://h", ca_file, "t0ken").returncode == 0
    assert oct(out.stat().st_mode & 0o777) == "0o600" and "t0ken" in out.read_text()


@pytest.mark.parametrize(
    ("server", "token", "message"),
    [
        ("http://10.0.0.1", "t", "must be an https:// URL"),
        ("https://10.0.0.1", "", "the token on stdin is empty"),
        ("https://10.0.0.1", "\n\n", "the token on stdin is empty"),
        ("https://10.0.0.1", "two\nlines", "must be one line without spaces"),
        ("https://10.0.0.1", "a b", "must be one line without spaces"),
    ],
)
def test_kubeconfig_bad_input(
    tmp_path: Path, ca_file: Path, server: str, token: str, message: str
) -> None:
    out = tmp_path / "kubeconfig"
    result = write_kubeconfig(out, server, ca_file, token)
    assert result.returncode == 2 and message in result.stderr
    assert not out.exists()


def test_kubeconfig_missing_ca(tmp_path: Path) -> None:
    result = write_kubeconfig(tmp_path / "k", "https://h", tmp_path / "none", "t")
    assert result.returncode == 2 and "CA file" in result.stderr
    assert not (tmp_path / "k").exists()


# ---- fetch-release-report.sh --------------------------------------------------------------
# `gh` (the GitHub API) cannot exist here: a stand-in prints recorded runs and applies the
# script's --jq filter with the real jq; `run download` writes the run's release.json.

FAKE_GH = """#!/usr/bin/env python3
import json, os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["GH_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
runs = json.loads(os.environ["GH_RUNS"])
if args[:2] == ["run", "list"]:
    jq_filter = args[args.index("--jq") + 1]
    out = subprocess.run([os.environ["JQ"], "-r", jq_filter], input=json.dumps(runs),
                         capture_output=True, text=True, check=True)
    sys.stdout.write(out.stdout)
elif args[:2] == ["run", "download"]:
    dest = args[args.index("--dir") + 1]
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "release.json"), "w") as fh:
        json.dump({"run": int(args[2])}, fh)
else:
    sys.exit("fake gh: unexpected arguments " + " ".join(args))
"""

RUNS = [  # newest first, as `gh run list` returns them
    {"databaseId": 40, "headBranch": "feature/x"},
    {"databaseId": 31, "headBranch": "main"},
    {"databaseId": 30, "headBranch": "v1.2.0"},
    {"databaseId": 20, "headBranch": "main"},
    {"databaseId": 10, "headBranch": "v1.2.0-rc1"},
]


@pytest.fixture
def fake_gh(tmp_path: Path, jq: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GH_LOG": str(tmp_path / "gh.log"),
        "GH_RUNS": json.dumps(RUNS),
        "JQ": jq,
    }


@pytest.mark.parametrize(("env_name", "run_id"), [("staging", 31), ("prod", 30)])
def test_fetch_release_report_picks_the_last_deploy(
    tmp_path: Path, fake_gh: dict[str, str], env_name: str, run_id: int
) -> None:
    dest = tmp_path / "release"
    result = run([str(SCRIPTS / "fetch-release-report.sh"), env_name, str(dest)], env=fake_gh)
    assert result.returncode == 0, result.stderr
    assert json.loads((dest / "release.json").read_text()) == {"run": run_id}
    calls = Path(fake_gh["GH_LOG"]).read_text().splitlines()
    assert calls[0].startswith("run list --workflow cd.yml --event push --status success")
    assert calls[1] == f"run download {run_id} --name release-report --dir {dest}"


def test_fetch_release_report_without_a_deploy(tmp_path: Path, fake_gh: dict[str, str]) -> None:
    fake_gh["GH_RUNS"] = json.dumps([{"databaseId": 1, "headBranch": "feature"}])
    result = run(
        [str(SCRIPTS / "fetch-release-report.sh"), "prod", str(tmp_path / "r")], env=fake_gh
    )
    assert result.returncode == 1 and "no successful cd run has deployed to prod" in result.stderr


def test_fetch_release_report_unknown_environment(tmp_path: Path) -> None:
    result = run([str(SCRIPTS / "fetch-release-report.sh"), "qa", str(tmp_path)])
    assert result.returncode == 2 and "allowed: staging, prod" in result.stderr


def test_workflow_files_are_yaml_mappings() -> None:
    for path in (REPO / ".github" / "workflows").glob("*.yml"):
        assert isinstance(yaml.safe_load(path.read_text()), dict), path
