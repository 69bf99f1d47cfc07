"""The orchestrator CLI (`python -m pipeline.deploy`): flags, files, exit codes.

Bad inputs must stop with exit 2, one clear message naming the flag/field, no traceback, and
no tool invoked. Where a cluster is needed, FakeCluster stands in for the API server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deploy_fakes import BACKEND, FRONTEND, FakeClock, FakeCluster

from pipeline.deploy.__main__ import main
from pipeline.deploy.report import EXIT_OK, EXIT_REFUSED, EXIT_ROLLED_BACK
from pipeline.deploy.tools import ClusterTools

TARGET: dict[str, object] = {
    "env": "staging",
    "namespace": "blog-staging",
    "values_file": "k8s/environments/staging.yaml",
    "strategy": "rolling",
    "url": "https://staging.example.com",
    "smoke_checks": [{"name": "health", "path": "/api/health"}],
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A minimal repository layout: chart, values file, kubeconfig, target file."""
    (tmp_path / "k8s/chart").mkdir(parents=True)
    (tmp_path / "k8s/chart/Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 0.1.0\n")
    (tmp_path / "k8s/environments").mkdir()
    (tmp_path / "k8s/environments/staging.yaml").write_text("{}\n")
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    (tmp_path / "target.json").write_text(json.dumps(TARGET))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEPLOY_SMOKE_TOKEN", raising=False)
    return tmp_path


def run(args: list[str], cluster: FakeCluster | None = None) -> int:
    def factory(kubeconfig: str | None, context: str | None) -> ClusterTools:
        assert cluster is not None, "a bad input must be refused before any tool is created"
        return cluster

    return main(args, tools_factory=factory, clock=cluster.clock if cluster else FakeClock())


BASE = [
    "--target",
    "target.json",
    "--kubeconfig",
    "kubeconfig",
    "--backend-image",
    BACKEND,
    "--frontend-image",
    FRONTEND,
]


def test_deploy_success_writes_reports(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cluster = FakeCluster(FakeClock())
    assert run(["deploy", *BASE, "--report-dir", "out"], cluster) == EXIT_OK
    data = json.loads((workdir / "out/deploy-staging.json").read_text())
    assert data["outcome"] == "succeeded" and data["revision_after"] == 3
    assert (workdir / "out/deploy-staging.md").read_text().startswith("# deploy `staging`")
    assert "# deploy `staging`: succeeded" in capsys.readouterr().out
    upgrade = next(c for c in cluster.commands() if c.startswith("helm upgrade"))
    assert "--values ./k8s/environments/staging.yaml" in upgrade


def test_failed_verification_exits_1_and_names_what_was_restored(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = FakeCluster(FakeClock(), deployment_ready=False)
    assert run(["deploy", *BASE], cluster) == EXIT_ROLLED_BACK
    out = capsys.readouterr().out
    assert "rolled back to revision 2" in out and "not ready" in out


def test_smoke_token_only_from_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = {**TARGET, "smoke_checks": [{"name": "api", "path": "/api/me", "authenticated": True}]}
    (workdir / "target.json").write_text(json.dumps(target))
    monkeypatch.setenv("DEPLOY_SMOKE_TOKEN", "tok-123")
    cluster = FakeCluster(FakeClock())
    assert run(["deploy", *BASE], cluster) == EXIT_OK
    assert cluster.http_calls[0][1] == {"X-API-Key": "tok-123"}
    assert "tok-123" not in (workdir / "reports/deploy/deploy-staging.json").read_text()


def test_rollback_revision_flag(workdir: Path) -> None:
    cluster = FakeCluster(FakeClock())
    assert (
        run(
            [
                "rollback",
                "--target",
                "target.json",
                "--kubeconfig",
                "kubeconfig",
                "--revision",
                "1",
            ],
            cluster,
        )
        == EXIT_OK
    )
    assert any(c.startswith("helm rollback blog-creator 1 ") for c in cluster.commands())


def _target(**changes: object) -> dict[str, object]:
    data = dict(TARGET)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


# (description, files to write, extra argv / replaced argv, expected message)
BAD_CLI: list[tuple[str, dict[str, str], list[str], str]] = [
    (
        "missing target file",
        {},
        ["deploy", "--target", "nope.json", *BASE[2:]],
        "--target: cannot read nope.json",
    ),
    (
        "target not JSON",
        {"target.json": "{oops"},
        ["deploy", *BASE],
        "--target target.json: not valid JSON",
    ),
    (
        "target not object",
        {"target.json": "[]"},
        ["deploy", *BASE],
        "target: must be a JSON object",
    ),
    (
        "unknown target key",
        {"target.json": json.dumps(_target(colour="blue"))},
        ["deploy", *BASE],
        "target: unknown keys colour",
    ),
    (
        "missing namespace",
        {"target.json": json.dumps(_target(namespace=None))},
        ["deploy", *BASE],
        "target.namespace: required",
    ),
    (
        "bad strategy",
        {"target.json": json.dumps(_target(strategy="bigBang"))},
        ["deploy", *BASE],
        "target.strategy: 'bigBang' is not one of rolling, blueGreen, canary",
    ),
    (
        "bad namespace",
        {"target.json": json.dumps(_target(namespace="Blog_Prod"))},
        ["deploy", *BASE],
        "target.namespace: 'Blog_Prod' must be a DNS label",
    ),
    (
        "bad url",
        {"target.json": json.dumps(_target(url="staging.example.com"))},
        ["deploy", *BASE],
        "target.url: 'staging.example.com' must be an http(s) URL",
    ),
    (
        "timeout range",
        {"target.json": json.dumps(_target(timeout_seconds=5))},
        ["deploy", *BASE],
        "target.timeout_seconds: 5 must be 10..3600",
    ),
    (
        "flag not bool",
        {"target.json": json.dumps(_target(require_signature="yes"))},
        ["deploy", *BASE],
        "target.require_signature: 'yes' must be true or false",
    ),
    (
        "smoke path",
        {"target.json": json.dumps(_target(smoke_checks=[{"name": "h", "path": "health"}]))},
        ["deploy", *BASE],
        "target.smoke_checks[0]: needs a name and a path starting with '/'",
    ),
    (
        "values file missing",
        {"target.json": json.dumps(_target(values_file="k8s/environments/qa.yaml"))},
        ["deploy", *BASE],
        "target.values_file: ./k8s/environments/qa.yaml does not exist",
    ),
    (
        "chart missing",
        {},
        ["deploy", *BASE, "--chart", "charts/none"],
        "--chart: charts/none has no Chart.yaml",
    ),
    (
        "kubeconfig missing",
        {},
        ["deploy", *BASE[:2], "--kubeconfig", "missing", *BASE[4:]],
        "--kubeconfig: missing does not exist",
    ),
    (
        "revision zero",
        {},
        ["rollback", "--target", "target.json", "--kubeconfig", "kubeconfig", "--revision", "0"],
        "--revision: 0 must be a revision number >= 1",
    ),
    (
        "keyless half",
        {},
        ["deploy", *BASE, "--cosign-identity", "https://github.com/acme/.*"],
        "--cosign-identity and --cosign-issuer go together",
    ),
    (
        "cosign key missing",
        {},
        ["deploy", *BASE, "--cosign-key", "cosign.pub"],
        "--cosign-key: cosign.pub does not exist",
    ),
    (
        "bad digest",
        {},
        [
            "deploy",
            *BASE[:4],
            "--backend-image",
            "ghcr.io/acme/backend@sha256:123",
            "--frontend-image",
            FRONTEND,
        ],
        "--backend-image: digest 'sha256:123' is not sha256:<64 lowercase hex characters>",
    ),
    ("no frontend image", {}, ["deploy", *BASE[:6]], "--frontend-image: no image for frontend"),
    (
        "release report not JSON",
        {"release.json": "nope"},
        ["deploy", *BASE, "--release-report", "release.json"],
        "--release-report release.json: not valid JSON",
    ),
    (
        "bad context",
        {"target.json": json.dumps(_target(context="my context!"))},
        ["deploy", *BASE],
        "target.context: 'my context!' is not a kubeconfig context name",
    ),
]


@pytest.mark.parametrize(
    ("files", "argv", "message"), [c[1:] for c in BAD_CLI], ids=[c[0] for c in BAD_CLI]
)
def test_bad_input_exit_2_with_message_and_no_tool(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    argv: list[str],
    message: str,
) -> None:
    for name, text in files.items():
        (workdir / name).write_text(text)
    assert run(argv) == EXIT_REFUSED  # run() fails the test if a tool were created
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.startswith(f"{argv[0]}: error: ")
    assert not (workdir / "reports").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["explode", "--target", "t.json"],
        ["deploy"],
        ["rollback", "--target", "t", "--revision", "two"],
    ],
)
def test_argparse_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(argv)
    assert caught.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_tag_in_staging_refused_exit_2_nothing_applied(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = FakeCluster(FakeClock())
    code = run(
        [
            "deploy",
            *BASE[:4],
            "--backend-image",
            "ghcr.io/acme/backend:latest",
            "--frontend-image",
            FRONTEND,
        ],
        cluster,
    )
    assert code == EXIT_REFUSED
    assert cluster.calls == []
    assert "deploys images by digest only" in capsys.readouterr().out


def test_expired_allowlist_from_pipeline_yaml_refuses(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pipeline.yaml's scan.allowlist reaches the runtime as a field of the target."""
    allowlist = [{"id": "CVE-2024-1", "expires": "2020-01-01"}]
    target = {**TARGET, "require_signature": True, "allowlist": allowlist}
    (workdir / "target.json").write_text(json.dumps(target))
    (workdir / "release.json").write_text(
        json.dumps({"images": {"backend": BACKEND, "frontend": FRONTEND}, "scan": {"passed": True}})
    )
    cluster = FakeCluster(FakeClock())
    code = run(["deploy", *BASE, "--release-report", "release.json"], cluster)
    assert code == EXIT_REFUSED
    assert cluster.calls == []
    assert "CVE-2024-1 (expired 2020-01-01)" in capsys.readouterr().out
