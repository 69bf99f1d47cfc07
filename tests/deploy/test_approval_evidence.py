"""issue 17 item 9: the production approval gate checks explicit evidence, not a bare name.

Where an environment requires approval, `deploy` and `promote` need `--approval-environment`
(the GitHub environment that approves it: pipeline.yaml github_environment, default the env's
name), `--approval-run-url` (https) and `--approval-actor`; a missing or bad one is refused
with exit 2 and a message naming the flag, and the evidence is recorded in the report (JSON +
Markdown). Driven through the real orchestrator CLI (FakeCluster stands in for the API
server) and, for the module side, the schema-validating fake engine (no engine runs here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import module_dagger_harness as h
import pytest
from deploy_fakes import BACKEND, FRONTEND, FakeClock, FakeCluster, make_request, make_target

from pipeline.config import load_config
from pipeline.deploy.__main__ import main
from pipeline.deploy.gates import approval_gate
from pipeline.deploy.report import EXIT_OK, EXIT_REFUSED
from pipeline.deploy.request import ApprovalEvidence
from pipeline.deploy.tools import ClusterTools
from pipeline.deploy_targets import target_for

ROOT = Path(__file__).resolve().parents[2]
RUN_URL = "https://github.com/acme/blog/actions/runs/42"
GOOD = ["--approval-environment", "production", "--approval-run-url", RUN_URL]
GOOD += ["--approval-actor", "alice"]
TARGET: dict[str, object] = {
    "env": "prod",
    "namespace": "blog-prod",
    "values_file": "k8s/environments/prod.yaml",
    "strategy": "canary",
    "url": "https://blog.example.com",
    "require_approval": True,
    "approval_environment": "production",
    "smoke_checks": [{"name": "health", "path": "/api/health"}],
}


def gate(approval: ApprovalEvidence | None, approved_by: str | None = None) -> tuple[bool, str]:
    target = make_target("prod", require_approval=True)
    target = type(target)(**{**target.__dict__, "approval_environment": "production"})
    result = approval_gate(make_request(target, approval=approval, approved_by=approved_by))
    return result.passed, result.detail


# ---- the gate ------------------------------------------------------------------------------


def test_the_evidence_passes_and_is_named_in_the_gate() -> None:
    ok, detail = gate(ApprovalEvidence("production", RUN_URL, "alice"), approved_by="bob")
    assert ok, detail
    assert "production" in detail and RUN_URL in detail and "alice" in detail and "bob" in detail
    # GitHub environment names are case-insensitive
    assert gate(ApprovalEvidence("Production", RUN_URL, "alice"))[0]


@pytest.mark.parametrize(
    ("approval", "approved_by", "named"),
    [
        (None, "alice", ["--approval-environment", "--approval-run-url", "--approval-actor"]),
        (ApprovalEvidence("", RUN_URL, "alice"), None, ["--approval-environment: missing"]),
        (
            ApprovalEvidence("staging", RUN_URL, "alice"),
            None,
            ["--approval-environment: 'staging' is not 'production'"],
        ),
        (ApprovalEvidence("prod", RUN_URL, "alice"), None, ["is not 'production'"]),
        (
            ApprovalEvidence("production", "http://github.com/a/b/actions/runs/1", "alice"),
            None,
            ["--approval-run-url:", "must be an https URL"],
        ),
        (
            ApprovalEvidence("production", "https://user:pw@github.com/x", "alice"),
            None,
            ["--approval-run-url:"],
        ),
        (ApprovalEvidence("production", RUN_URL, ""), None, ["--approval-actor: missing"]),
    ],
)
def test_missing_or_bad_evidence_is_refused_naming_the_flag(
    approval: ApprovalEvidence | None, approved_by: str | None, named: list[str]
) -> None:
    ok, detail = gate(approval, approved_by)
    assert not ok
    assert "environment 'prod' requires approval" in detail
    for text in named:
        assert text in detail


def test_pipeline_yaml_names_the_github_environment_of_prod() -> None:
    config = load_config(ROOT)
    assert target_for(config, "prod").approval_environment == "production"
    assert target_for(config, "staging").approval_environment == "staging"  # default: env name


# ---- the orchestrator CLI --------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "k8s/chart").mkdir(parents=True)
    (tmp_path / "k8s/chart/Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 0.1.0\n")
    (tmp_path / "k8s/environments").mkdir()
    (tmp_path / "k8s/environments/prod.yaml").write_text("{}\n")
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    (tmp_path / "target.json").write_text(json.dumps(TARGET))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEPLOY_SMOKE_TOKEN", raising=False)
    return tmp_path


def cli(args: list[str], cluster: FakeCluster | None) -> int:
    def factory(kubeconfig: str | None, context: str | None) -> ClusterTools:
        assert cluster is not None, "refused input must not reach a tool"
        return cluster

    return main(args, tools_factory=factory, clock=cluster.clock if cluster else FakeClock())


BASE = ["--target", "target.json", "--kubeconfig", "kubeconfig", "--report-dir", "out"]
IMAGES = ["--backend-image", BACKEND, "--frontend-image", FRONTEND]


def test_deploy_without_evidence_is_refused_exit_2_and_nothing_applied(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = FakeCluster(FakeClock())
    code = cli(["deploy", *BASE, *IMAGES, "--approved-by", "alice"], cluster)
    assert code == EXIT_REFUSED
    data = json.loads((workdir / "out/deploy-prod.json").read_text())
    assert data["outcome"] == "refused" and data["approval"] is None
    assert "--approval-environment: missing" in data["message"]
    assert not [c for c in cluster.commands() if c.startswith("helm upgrade")]
    assert "requires approval" in capsys.readouterr().out


def test_bad_run_url_is_an_input_error_naming_the_flag(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [*GOOD[:2], "--approval-run-url", "ftp://x/runs/1", *GOOD[4:]]
    assert cli(["deploy", *BASE, *IMAGES, *bad], None) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "--approval-run-url: 'ftp://x/runs/1' must be an https URL" in err
    assert not (workdir / "out").exists()


def test_the_evidence_is_recorded_in_the_json_and_markdown_reports(workdir: Path) -> None:
    cluster = FakeCluster(FakeClock())
    code = cli(["deploy", *BASE, *IMAGES, *GOOD, "--approved-by", "bob"], cluster)
    assert code in (EXIT_OK, 0)
    data = json.loads((workdir / "out/deploy-prod.json").read_text())
    assert data["approval"] == {"environment": "production", "run_url": RUN_URL, "actor": "alice"}
    assert data["approved_by"] == "bob"
    assert next(g for g in data["gates"] if g["name"] == "approval")["passed"] is True
    markdown = (workdir / "out/deploy-prod.md").read_text()
    assert f"GitHub environment `production`, run {RUN_URL}, actor `alice`" in markdown


def test_promote_needs_the_evidence_where_approval_is_required(workdir: Path) -> None:
    cluster = FakeCluster(FakeClock())
    assert cli(["promote", *BASE], cluster) == EXIT_REFUSED
    data = json.loads((workdir / "out/promote-prod.json").read_text())
    assert data["outcome"] == "refused" and "--approval-run-url: missing" in data["message"]
    assert not cluster.commands("rollouts")
    cli(["promote", *BASE, *GOOD], cluster)
    data = json.loads((workdir / "out/promote-prod.json").read_text())
    assert data["approval"]["run_url"] == RUN_URL
    assert cluster.commands("rollouts")  # went past the gate


# ---- the module: refused before any container ------------------------------------------------

RELEASE = json.dumps(
    {
        "images": {"backend": {"ref": BACKEND}, "frontend": {"ref": FRONTEND}},
        "scan": {"passed": True},
    }
)
MODULE_APPROVAL = {
    "approval_environment": "production",
    "approval_run_url": RUN_URL,
    "approval_actor": "alice",
}


def call(fn: str, inputs: dict[str, Any]) -> h.FakeEngine:
    engine = h.FakeEngine(files={"r": RELEASE})
    anyio.run(h.call, engine, fn, inputs, h.pipeline_state())
    return engine


def call_error(fn: str, inputs: dict[str, Any]) -> tuple[h.FakeEngine, str]:
    """The function's error, as `dagger call` prints it."""
    engine = h.FakeEngine(files={"r": RELEASE})
    with pytest.raises(Exception) as caught:  # the SDK wraps the error
        anyio.run(h.call, engine, fn, inputs, h.pipeline_state())
    return engine, str(caught.value)


@pytest.mark.parametrize("fn", ["deploy", "promote"])
def test_module_refuses_missing_evidence_before_any_container(fn: str) -> None:
    inputs: dict[str, Any] = {"env": "prod", "kubeconfig": h.secret_id("kubeconfig")}
    if fn == "deploy":
        inputs |= {"release_report": "r", "approved_by": "alice"}
    engine, error = call_error(fn, {**inputs, **MODULE_APPROVAL, "approval_actor": ""})
    assert f"{fn} --env prod refused before touching the cluster" in error
    assert "--approval-actor: missing" in error
    assert engine.calls("withExec") == [] and engine.calls("http") == []


def test_module_passes_the_evidence_to_the_orchestrator() -> None:
    inputs = {"env": "prod", "dry_run": True, "release_report": "r", **MODULE_APPROVAL}
    engine = call("deploy", inputs)
    runs = [
        c.args["args"]
        for c in engine.calls("withExec")
        if c.args["args"][:3] == ["python", "-m", "pipeline.deploy"]
    ]
    args = runs[-1]
    for flag, value in zip(
        ["--approval-environment", "--approval-run-url", "--approval-actor"],
        MODULE_APPROVAL.values(),
        strict=True,
    ):
        assert args[args.index(flag) + 1] == value
