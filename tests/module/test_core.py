"""The plain-Python core: tags and plans, scan policy, signing commands, summaries, lint steps,
and the smoke checker against a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

from pipeline.config import AllowlistEntry, ScanPolicy, load_config
from pipeline.deploy import smoke
from pipeline.lint import lint_steps
from pipeline.loadtest import LOCUSTFILE, LoadSettings, LoadTestError, judge
from pipeline.plans import (
    BuildInputs,
    PlanError,
    build_args,
    digest_ref,
    image_plans,
    image_tags,
    make_plan,
    render_plan,
    split_digest_ref,
    version_tag,
)
from pipeline.policy import evaluate, failure_message, parse_trivy, render_markdown
from pipeline.reports import ReleaseReport, StepResult, summary_json, summary_text
from pipeline.signing import choose_mode, full_script

CONFIG = load_config(ROOT)
REV = "ABCDEF0123456789abcdef0123456789abcdef01"
DIGEST = "sha256:" + "b" * 64

# ---- plans --------------------------------------------------------------------------


def test_tags_from_revision_and_version() -> None:
    assert image_tags(REV) == ["sha-abcdef012345"]
    assert image_tags(REV, "v1.2.3") == ["sha-abcdef012345", "1.2.3"]
    assert version_tag("2.0.0-rc.1+build.5") == "2.0.0-rc.1_build.5"


@pytest.mark.parametrize("revision", ["", "HEAD", "main", "abc", "g123456789"])
def test_bad_revisions_are_refused(revision: str) -> None:
    with pytest.raises(PlanError, match="git rev-parse HEAD"):
        image_tags(revision)


@pytest.mark.parametrize("version", ["latest", "1.2", "v1", "release-1"])
def test_bad_versions_are_refused(version: str) -> None:
    with pytest.raises(PlanError, match="semantic version"):
        version_tag(version)


def test_digest_refs() -> None:
    assert digest_ref(f"ghcr.io/a/backend:sha-1@{DIGEST}") == f"ghcr.io/a/backend@{DIGEST}"
    assert (
        digest_ref(f"localhost:5000/a/backend:1.0@{DIGEST}") == f"localhost:5000/a/backend@{DIGEST}"
    )
    assert split_digest_ref(f"localhost:5000/b@{DIGEST}") == ("localhost:5000/b", DIGEST)
    for bad in ("ghcr.io/a/backend:latest", "ghcr.io/a/backend@sha256:abc", f"x @{DIGEST}"):
        with pytest.raises(PlanError, match="not addressed by digest"):
            split_digest_ref(bad)


def test_image_plans_follow_pipeline_yaml() -> None:
    plans = image_plans(CONFIG, BuildInputs(revision=REV, version="v3.1.0"))
    backend = plans["backend"]
    assert backend.dockerfile == "dockerfiles/backend.Dockerfile"
    assert (backend.target, backend.test_target) == ("runtime", "test")
    assert backend.addresses == [
        "ghcr.io/blog-creator-agent/blog-creator-agent/backend:sha-abcdef012345",
        "ghcr.io/blog-creator-agent/blog-creator-agent/backend:3.1.0",
    ]
    assert plans["frontend"].port == 3000


def test_build_args_leave_base_images_to_dockerfiles_unless_overridden() -> None:
    assert build_args(CONFIG, BuildInputs()) == {"VCS_REF": "unknown", "VERSION": "0.0.0-dev"}
    args = build_args(
        CONFIG,
        BuildInputs(revision=REV, python_image="m/python:3", build_date="2026-01-01T00:00:00Z"),
    )
    assert args == {
        "PYTHON_IMAGE": "m/python:3",
        "VCS_REF": REV,
        "VERSION": "0.0.0-dev",
        "BUILD_DATE": "2026-01-01T00:00:00Z",
    }


def test_plan_for_one_environment() -> None:
    plan = make_plan(CONFIG, BuildInputs(revision=REV), "staging")
    data = plan.to_dict()
    assert list(data["environments"]) == ["staging"]
    assert data["environments"]["staging"]["strategy"] == "blueGreen"
    assert data["release_steps"][0].startswith("ci")
    text = render_plan(plan)
    assert "staging" in text and "prod " not in text and "target=runtime" in text


# ---- scan policy --------------------------------------------------------------------

TRIVY = json.dumps(
    {
        "Results": [
            {
                "Target": "debian 12",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": "CVE-1",
                        "PkgName": "libssl",
                        "InstalledVersion": "1",
                        "FixedVersion": "2",
                        "Severity": "CRITICAL",
                        "Title": "t1",
                    },
                    {
                        "VulnerabilityID": "CVE-2",
                        "PkgName": "zlib",
                        "InstalledVersion": "1",
                        "FixedVersion": "",
                        "Severity": "HIGH",
                        "Title": "t2",
                    },
                    {
                        "VulnerabilityID": "CVE-3",
                        "PkgName": "bash",
                        "InstalledVersion": "1",
                        "FixedVersion": "2",
                        "Severity": "LOW",
                        "Title": "t3",
                    },
                ],
            },
            {
                "Target": "backend.Dockerfile",
                "Misconfigurations": [
                    {"ID": "DS002", "Severity": "HIGH", "Title": "root user", "Status": "FAIL"},
                    {"ID": "DS001", "Severity": "HIGH", "Title": "ok", "Status": "PASS"},
                ],
            },
            {
                "Target": "app/x.py",
                "Secrets": [
                    {
                        "RuleID": "aws-access-key-id",
                        "Severity": "LOW",
                        "Title": "AWS key",
                        "StartLine": 3,
                    }
                ],
            },
        ]
    }
)
TODAY = dt.date(2026, 6, 1)


def test_parse_trivy_finds_vulns_failed_misconfigs_and_secrets() -> None:
    findings = parse_trivy("image backend", TRIVY)
    assert [(f.kind, f.id) for f in findings] == [
        ("vulnerability", "CVE-1"),
        ("vulnerability", "CVE-2"),
        ("vulnerability", "CVE-3"),
        ("misconfiguration", "DS002"),
        ("secret", "aws-access-key-id"),
    ]


def test_policy_fails_on_configured_severities_and_any_secret() -> None:
    result = evaluate(
        parse_trivy("image backend", TRIVY), ScanPolicy(fail_on=["CRITICAL", "HIGH"]), TODAY
    )
    assert {f.id for f in result.violations} == {"CVE-1", "CVE-2", "DS002", "aws-access-key-id"}
    assert not result.passed
    assert result.counts["image backend"]["CRITICAL"] == 1
    message = failure_message(result)
    assert "CRITICAL CVE-1 [image backend] libssl 1 (fixed in 2) in debian 12" in message


def test_policy_ignore_unfixed_and_allowlist_with_expiry() -> None:
    policy = ScanPolicy(
        fail_on=["CRITICAL", "HIGH"],
        ignore_unfixed=True,
        allowlist=[
            AllowlistEntry(
                id="CVE-1", reason="mitigated by network policy", expires=dt.date(2026, 12, 31)
            ),
            AllowlistEntry(
                id="DS002", reason="temporary, tracked in #12", expires=dt.date(2026, 1, 1)
            ),
        ],
    )
    result = evaluate(parse_trivy("x", TRIVY), policy, TODAY)
    assert [f.id for f in result.allowed] == ["CVE-1"]
    assert {f.id for f in result.violations} == {"DS002", "aws-access-key-id"}  # CVE-2 unfixed
    assert result.expired_allowlist == ["DS002"]
    md = render_markdown(result, policy)
    assert "Security scan: FAILED" in md and "Expired allowlist entries" in md and "- DS002" in md


def test_clean_report_passes() -> None:
    result = evaluate(parse_trivy("x", '{"Results": []}'), ScanPolicy(), TODAY)
    assert result.passed and result.to_dict()["violations"] == []


@pytest.mark.parametrize("text", ["not json", "[]"])
def test_garbage_reports_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match="Trivy report"):
        parse_trivy("x", text)


# ---- signing ------------------------------------------------------------------------


def test_sign_mode_choice() -> None:
    assert choose_mode(True, True, True).keyless is False
    assert choose_mode(False, True, True).keyless is True
    with pytest.raises(PlanError, match="signing.keyless: false"):
        choose_mode(False, True, False)
    with pytest.raises(PlanError, match="nothing to sign with"):
        choose_mode(False, False, True)


def test_sign_script_reads_secrets_from_files_and_env_only() -> None:
    ref = f"ghcr.io/a/backend@{DIGEST}"
    script = full_script(
        "ghcr.io", ref, choose_mode(False, True, True), "backend.cdx.json", "cyclonedx-json"
    )
    lines = script.splitlines()
    assert lines[0] == "set -eu"
    # the credential cosign login writes goes to the tmpfs only, and is deleted at exit
    assert lines[1].startswith('[ "${DOCKER_CONFIG:-}" = /run/cosign-auth ] ||')
    assert lines[2] == "trap 'rm -f /run/cosign-auth/config.json' EXIT"
    assert (
        lines[3]
        == 'printf "%s" "$REGISTRY_PASSWORD" | cosign login ghcr.io -u "$REGISTRY_USERNAME" --password-stdin'
    )
    assert lines[4] == f"cosign sign --yes --identity-token /run/secrets/oidc-token {ref}"
    assert (
        lines[5].startswith("cosign attest --yes --identity-token")
        and "--type cyclonedx" in lines[5]
    )
    with pytest.raises(PlanError):
        full_script(
            "ghcr.io",
            "ghcr.io/a/backend:1.0",
            choose_mode(True, False, True),
            None,
            "cyclonedx-json",
        )


# ---- summaries ----------------------------------------------------------------------


def test_summaries_list_every_step_and_failed_output() -> None:
    results = [StepResult("ruff", True, "ok"), StepResult("hadolint", False, "DL3008 pin versions")]
    text = summary_text("lint", results)
    assert text.splitlines()[:3] == ["lint: 1/2 passed", "PASS  ruff", "FAIL  hadolint"]
    assert "DL3008 pin versions" in text
    data = json.loads(summary_json("lint", results))
    assert data["passed"] is False and data["steps"][1]["name"] == "hadolint"


def test_release_report_json_and_markdown() -> None:
    report = ReleaseReport(
        project="p",
        revision=REV,
        version="v1.0.0",
        images={"backend": f"r/backend@{DIGEST}"},
        tags={"backend": ["sha-x", "1.0.0"]},
        scan={"passed": True},
        sbom={"backend": "sbom/backend.cdx.json"},
        signatures={"backend": "cosign key pair"},
    )
    assert json.loads(report.to_json())["images"]["backend"].endswith(DIGEST)
    md = report.to_markdown()
    assert (
        f"`r/backend@{DIGEST}`" in md and "cosign key pair" in md and "# Release v1.0.0 of p" in md
    )


def test_lint_steps_cover_every_tool_and_environment_values() -> None:
    steps = lint_steps(CONFIG)
    commands = [" ".join(s.command) for s in steps]
    for tool in (
        "ruff check",
        "pyright src/pipeline",
        "pyright app",
        "hadolint",
        "actionlint .github/workflows/*.yml",
        "zizmor --offline",
        "npm run lint",
        "npm run typecheck",
    ):
        assert any(tool in c for c in commands), tool
    helm = [c for c in commands if c.startswith("helm lint")]
    assert len(helm) == len({e.values_file for e in CONFIG.environments.values()})


# ---- load test verdict --------------------------------------------------------------

STATS = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
    "GET,/,200,4,30,35,5,900,1000,20.0,0.4,30,32,35,40,50,120,200,300,900,900,900\n"
    "GET,/api/health,200,0,10,11,2,50,10,20.0,0.0,10,10,11,12,14,20,30,40,50,50,50\n"
    ",Aggregated,400,4,20,23,2,900,505,40.0,0.4,20,22,25,30,40,90,150,250,900,900,900\n"
)


def _settings(**overrides: object) -> LoadSettings:
    base: dict[str, object] = {
        "url": "https://s.example.com", "users": 5, "spawn_rate": 5, "duration": "30s",
        "paths": ("/",), "max_error_rate": 0.05, "max_p95_ms": 500.0,
    }  # fmt: skip
    base.update(overrides)
    return LoadSettings(**base)  # type: ignore[arg-type]


def test_load_verdict_within_and_over_limits() -> None:
    ok = judge(STATS, _settings())
    assert ok.passed and ok.total.requests == 400 and len(ok.endpoints) == 2
    bad = judge(STATS, _settings(max_error_rate=0.001, max_p95_ms=50.0))
    assert not bad.passed
    assert bad.reasons == ["error rate 1.00% is above 0.10%", "p95 90 ms is above 50 ms"]
    assert "| /api/health | 200 | 0 |" in bad.to_markdown(_settings())


def test_load_verdict_refuses_missing_stats_and_no_traffic() -> None:
    with pytest.raises(LoadTestError, match="Locust's CSV format"):
        judge("", _settings())
    empty = STATS.splitlines()[0] + "\n,Aggregated,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
    assert judge(empty, _settings()).reasons == ["no request was made: is the URL reachable?"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url": "ftp://x"}, r"http\(s\) URL"),
        ({"users": 0}, "--users"),
        ({"spawn_rate": 50}, "--spawn-rate"),
        ({"duration": "10 minutes"}, "--duration"),
        ({"paths": ("api",)}, "--paths"),
        ({"max_error_rate": 2.0}, "--max-error-rate"),
    ],
)
def test_load_settings_refuse_bad_arguments(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(LoadTestError, match=message):
        _settings(**overrides).validate()


def test_locustfile_is_valid_python() -> None:
    compile(LOCUSTFILE, "locustfile.py", "exec")
    assert "/run/secrets/load-token" in LOCUSTFILE


# ---- smoke checker against a real HTTP server ----------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_smoke_passes_and_fails_by_status_and_writes_junit(server: str, tmp_path: Path) -> None:
    code = smoke.main(
        [f"{server}/healthz", f"{server}/broken", "--reports", str(tmp_path), "--deadline", "0"]
    )
    assert code == 1
    junit = (tmp_path / "smoke.xml").read_text()
    assert 'tests="2" failures="1"' in junit and "HTTP 503" in junit
    assert smoke.main([f"{server}/healthz", "--reports", str(tmp_path), "--deadline", "0"]) == 0


def test_smoke_reports_unreachable_service(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a free port with nothing listening once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, outcome, _ = smoke.check(f"http://127.0.0.1:{port}/none", deadline_seconds=0)
    assert not ok and outcome.startswith("no answer")
