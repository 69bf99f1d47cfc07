"""Decisions moved out of stages.py / main.py into the plain-Python core (issue 13 item 2):
scan jobs, the SBOM format table, image references by app, the push checks, the release
report from values in hand, the stack wiring, error details and summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

from pipeline.config import APP_NAMES, load_config
from pipeline.plans import (
    SBOM_FORMATS,
    BuildInputs,
    PlanError,
    push_plans,
    pushed_digest,
    refs_by_app,
    sbom_file,
    sbom_format,
)
from pipeline.policy import Finding, PolicyResult
from pipeline.reports import (
    StepResult,
    error_message,
    exec_error_detail,
    release_report,
    run_detail,
    strip_ansi,
    summary_json,
    summary_markdown,
)
from pipeline.scans import SCAN_KINDS, scan_jobs
from pipeline.signing import attest_script, choose_mode
from pipeline.wiring import backend_env, backing_services, stack

CONFIG = load_config(ROOT)
REV = "0123456789abcdef0123456789abcdef01234567"
REPO = "ghcr.io/blog-creator-agent/blog-creator-agent"
DIGEST = "sha256:" + "c" * 64


# ---- scans -----------------------------------------------------------------------------


def test_scan_jobs_cover_each_image_config_and_secrets() -> None:
    jobs = {job.stem: job for job in scan_jobs(APP_NAMES)}
    assert list(jobs) == ["image-backend", "image-frontend", "config", "secrets"]
    assert {job.kind for job in jobs.values()} == set(SCAN_KINDS)
    backend = jobs["image-backend"]
    assert backend.app == "backend" and backend.source_include is None
    assert backend.args[:4] == ("trivy", "image", "--scanners", "vuln")
    assert "/images/backend.tar" in backend.args and backend.args[-1] == backend.report
    config = jobs["config"]
    assert config.source_include == ("dockerfiles/**", "k8s/**") and config.app is None
    assert config.args[:2] == ("trivy", "config") and config.args[-1] == "/src"
    secrets = jobs["secrets"]
    assert secrets.source_include == () and "secret" in secrets.args
    for job in jobs.values():  # every job writes JSON that the policy reads, never fails itself
        assert job.args[job.args.index("--exit-code") + 1] == "0"
        assert job.args[job.args.index("--output") + 1] == f"/out/{job.stem}.json"
        assert job.convert_args()[-2:] == (f"/out/{job.stem}.sarif", f"/out/{job.stem}.json")


# ---- the SBOM format table ---------------------------------------------------------------


def test_one_sbom_format_table_names_each_tools_spelling() -> None:
    assert set(SBOM_FORMATS) == {"cyclonedx-json", "spdx-json"}
    cdx, spdx = sbom_format("cyclonedx-json"), sbom_format("spdx-json")
    assert (cdx.suffix, cdx.syft, cdx.trivy, cdx.cosign_predicate) == (
        "cdx.json",
        "cyclonedx-json",
        "cyclonedx",
        "cyclonedx",
    )
    assert (spdx.suffix, spdx.trivy, spdx.cosign_predicate) == (
        "spdx.json",
        "spdx-json",
        "spdxjson",
    )
    assert sbom_file("backend", "spdx-json") == "backend.spdx.json"
    ref = f"{REPO}/backend@{DIGEST}"
    script = attest_script(ref, choose_mode(True, False, True), "backend.spdx.json", "spdx-json")
    assert "--type spdxjson" in script
    with pytest.raises(PlanError, match="sbom.format 'cyclonedx-xml'"):
        sbom_format("cyclonedx-xml")


# ---- references and push ------------------------------------------------------------------


def test_refs_by_app_maps_and_refuses_with_the_fix() -> None:
    refs = [f"{REPO}/frontend@{DIGEST}", f"{REPO}/backend@{DIGEST}"]
    assert refs_by_app(CONFIG, refs) == {"frontend": refs[0], "backend": refs[1]}
    with pytest.raises(PlanError, match="not one of this project's repositories"):
        refs_by_app(CONFIG, [f"ghcr.io/other/backend@{DIGEST}"])
    with pytest.raises(PlanError, match="two references given for backend"):
        refs_by_app(CONFIG, [refs[1], refs[1]])
    with pytest.raises(PlanError, match="pass --images"):
        refs_by_app(CONFIG, [])
    with pytest.raises(PlanError, match="not addressed by digest"):
        refs_by_app(CONFIG, [f"{REPO}/backend:latest"])


def test_push_needs_a_revision_and_one_digest_per_app() -> None:
    with pytest.raises(PlanError, match="--revision"):
        push_plans(CONFIG, BuildInputs())
    with pytest.raises(PlanError, match="semantic version"):
        push_plans(CONFIG, BuildInputs(revision=REV, version="latest"))
    plans = push_plans(CONFIG, BuildInputs(revision=REV, version="v1.0.0"))
    assert plans["backend"].addresses == [
        f"{REPO}/backend:sha-0123456789ab",
        f"{REPO}/backend:1.0.0",
    ]
    published = [f"{address}@{DIGEST}" for address in plans["backend"].addresses]
    assert pushed_digest("backend", published) == f"{REPO}/backend@{DIGEST}"
    other = "sha256:" + "d" * 64
    with pytest.raises(PlanError, match="different digests"):
        pushed_digest("backend", [published[0], f"{REPO}/backend:1.0.0@{other}"])


# ---- release report from values in hand -----------------------------------------------------


def test_release_report_is_assembled_from_the_scan_verdict_and_signatures() -> None:
    refs = {app: f"{REPO}/{app}@{DIGEST}" for app in APP_NAMES}
    low = Finding("image backend", "vulnerability", "CVE-1", "LOW", "t", "x")
    policy = PolicyResult(allowed=[low], counts={"image backend": {"LOW": 1}})
    signed = {
        app: {"image": ref, "signature": "cosign keyless (OIDC)", "attestation": "cdx"}
        for app, ref in refs.items()
    }
    report = release_report(
        CONFIG, BuildInputs(revision=REV, version="v2.0.0"), refs, policy, signed
    )
    data = json.loads(report.to_json())
    assert data["scan"] == {"passed": True, "counts": {"image backend": {"LOW": 1}}}
    assert data["tags"]["backend"] == ["sha-0123456789ab", "2.0.0"]
    assert data["sbom"] == {
        "backend": "sbom/backend.cdx.json",
        "frontend": "sbom/frontend.cdx.json",
    }
    assert data["signatures"]["frontend"] == "cosign keyless (OIDC)"
    failed = PolicyResult(violations=[low])
    assert (
        json.loads(release_report(CONFIG, BuildInputs(revision=REV), refs, failed, {}).to_json())[
            "scan"
        ]["passed"]
        is False
    )


# ---- stack wiring ------------------------------------------------------------------------------


def test_stack_wiring_redis_always_elasticsearch_on_request() -> None:
    plain = stack(CONFIG, with_elasticsearch=False)
    assert [s.alias for s in plain.services] == ["redis"]
    assert backend_env(plain.services) == {"REDIS_URL": "redis://redis:6379/0"}
    assert plain.frontend_env == {"API_URL": "http://backend:8000"}
    assert (plain.backend_port, plain.frontend_port, plain.app_env) == (8000, 3000, "development")
    full = backing_services(CONFIG, with_elasticsearch=True)
    assert [s.alias for s in full] == ["redis", "elasticsearch"]
    assert full[1].image == CONFIG.tools.elasticsearch and full[1].port == 9200
    assert ("discovery.type", "single-node") in full[1].env
    assert backend_env(full)["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"


# ---- error details and summaries -------------------------------------------------------------


def test_error_details_name_command_exit_code_and_output_tails() -> None:
    stderr = "\n".join(f"err {i}" for i in range(50))
    text = exec_error_detail(["pip", "install", "ruff==0"], 1, "out\n", stderr)
    lines = text.splitlines()
    assert lines[0] == "command failed with exit code 1: pip install ruff==0"
    assert "err 49" in text and "err 29" not in text  # only the tail of stderr
    assert text.index("--- stderr") < text.index("--- stdout") and "out" in lines[-1]
    assert "printed nothing" in exec_error_detail(["true"], 2, "", "")
    assert run_detail(["ruff", "check"], 0, "All checks passed!") == "All checks passed!"
    assert run_detail(["ruff", "check"], 1, "F401").startswith(
        "command failed with exit code 1: ruff check\nF401"
    )
    assert error_message("exit code: 1 [traceparent:00-abc-def-01]") == "exit code: 1"


def test_summaries_carry_no_colour_codes_and_an_outcome() -> None:
    red = "\x1b[31mFAIL\x1b[0m \x1b[1mbold\x1b[22m"
    assert strip_ansi(red) == "FAIL bold"
    results = [StepResult("a", True), StepResult("b", False, red)]
    data = json.loads(summary_json("ci", results))
    assert data["steps"][1]["detail"] == "FAIL bold"
    assert data["outcome"] == "failed" and data["passed"] is False
    assert json.loads(summary_json("ci", results[:1]))["outcome"] == "passed"
    assert "\x1b" not in summary_markdown("ci", results)


def test_offline_scan_jobs_download_nothing() -> None:
    online = {job.stem: job for job in scan_jobs(APP_NAMES)}
    offline = {job.stem: job for job in scan_jobs(APP_NAMES, offline=True)}
    assert not any("--skip-db-update" in job.args for job in online.values())
    for stem in ("image-backend", "image-frontend"):
        assert {"--skip-db-update", "--skip-java-db-update", "--offline-scan"} <= set(
            offline[stem].args
        )
    assert "--skip-check-update" in offline["config"].args
    assert offline["secrets"].args == online["secrets"].args  # needs no database
