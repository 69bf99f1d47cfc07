"""Failing steps, as a real engine fails them: every step that can fail shows its cause (the
command, its exit code, the tail of stderr and stdout, or the engine's message), and one
failure never takes the other steps or the reports down.

The fake engine (module_dagger_harness) answers a failing exec with the engine's EXEC_ERROR, from
which dagger-io builds `dagger.ExecError`, and a missing image with "failed to resolve image".
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import module_dagger_harness as h
import pytest

from pipeline.config import load_config

REV = "0123456789abcdef0123456789abcdef01234567"
REPO = "ghcr.io/blog-creator-agent/blog-creator-agent"
DIGEST = "sha256:" + "a" * 64
PASSWORD_ID = h.secret_id("registry-password")
TRIVY_EMPTY = {
    f"/out/{stem}.json": '{"Results": []}'
    for stem in ("image-backend", "image-frontend", "config", "secrets")
}
TOOLS = load_config(h.REPO_ROOT).tools  # the images pipeline.yaml pins
TRIVY = TOOLS.trivy
REDIS = TOOLS.redis


def engine_with(*failures: h.Failure, files: dict[str, str] | None = None) -> h.FakeEngine:
    return h.FakeEngine(files={**TRIVY_EMPTY, **(files or {})}, failures=list(failures))


def run(engine: h.FakeEngine, fn: str, inputs: dict[str, Any] | None = None, **state: Any) -> Any:
    return anyio.run(h.call, engine, fn, inputs or {}, h.pipeline_state(**state))


def run_error(
    engine: h.FakeEngine, fn: str, inputs: dict[str, Any] | None = None, **state: Any
) -> str:
    with pytest.raises(Exception) as info:
        run(engine, fn, inputs, **state)
    assert "TaskGroup" not in str(info.value), "an ExceptionGroup escaped"
    return str(info.value)


def summary(engine: h.FakeEngine) -> dict[str, Any]:
    found = [
        c.args["contents"] for c in engine.calls("withNewFile") if c.args["path"] == "summary.json"
    ]
    assert found, "no summary.json written"
    return json.loads(found[-1])


def steps(engine: h.FakeEngine) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in summary(engine)["steps"]}


# ---- the fake engine fails like the real one -------------------------------------------


def test_fake_engine_raises_dagger_exec_error_with_the_commands_output() -> None:
    import dagger
    from dagger import dag

    engine = engine_with(h.exec_failure("boom", exit_code=3, stdout="out\n", stderr="err\n"))

    async def go() -> None:
        async with h.connected(engine):
            ctr = dag.container().from_("alpine").with_exec(["sh", "-c", "boom"])
            with pytest.raises(dagger.ExecError) as info:
                await ctr.sync()
            error = info.value
            assert (error.command, error.exit_code) == (["sh", "-c", "boom"], 3)
            assert (error.stdout, error.stderr) == ("out\n", "err\n")
            with pytest.raises(dagger.ExecError):  # a later tolerant exec does not help
                await ctr.with_exec(["true"], expect=dagger.ReturnType.ANY).exit_code()
            tolerant = (
                dag.container()
                .from_("alpine")
                .with_exec(["sh", "-c", "boom"], expect=dagger.ReturnType.ANY)
            )
            assert await tolerant.exit_code() == 3
            assert await tolerant.combined_output() == "out\nerr\n"

    anyio.run(go)


def test_fake_engine_fails_image_resolution_lazily() -> None:
    import dagger
    from dagger import dag

    engine = engine_with(h.image_failure("missing:1"))

    async def go() -> None:
        async with h.connected(engine):
            ctr = dag.container().from_("missing:1")
            ctr_id = await ctr.id()  # only an ID: nothing evaluated yet
            assert engine.is_failed(ctr_id)
            with pytest.raises(
                dagger.QueryError, match='failed to resolve image "docker.io/missing:1"'
            ):
                await dag.container().with_file("/x", ctr.file("/y")).sync()

    anyio.run(go)


# ---- lint ---------------------------------------------------------------------------------


def test_lint_step_failure_shows_command_exit_code_and_output() -> None:
    engine = engine_with(
        h.exec_failure("ruff check", exit_code=1, stdout="src/x.py:1:1: F401 unused import\n")
    )
    message = run_error(engine, "lint")
    assert "FAIL  ruff (module, backend, tests)" in message
    assert "command failed with exit code 1: ruff check src tests backend" in message
    assert "F401 unused import" in message
    assert "PASS  pyright strict (module)" in message  # the other tools are not taken down


def test_lint_toolbox_failure_shows_the_install_error_in_each_step() -> None:
    stderr = "ERROR: Could not find a version that satisfies the requirement ruff==0.17.5\n"
    engine = engine_with(h.exec_failure("install", exit_code=1, stderr=stderr))
    message = run_error(engine, "lint")
    assert "exit code: 1" not in message  # the engine's bare line is replaced by the cause
    assert "satisfies the requirement ruff==0.17.5" in message
    assert "command failed with exit code 1:" in message
    assert "traceparent" not in message


# ---- test and its smoke step -----------------------------------------------------------------


def test_test_failures_show_each_cause_and_reports_are_kept() -> None:
    engine = engine_with(
        h.exec_failure(
            "/smoke/smoke.py", exit_code=1, stdout="FAIL http://backend:8000/healthz 503\n"
        ),
        h.image_failure(REDIS),
    )
    result = run(engine, "test", {"fail_on_error": False})
    assert not engine.is_failed(result)
    by_name = steps(engine)
    backend = by_name["backend tests (redis, elasticsearch)"]
    assert not backend["ok"] and f'failed to resolve image "docker.io/{REDIS}"' in backend["detail"]
    smoke = by_name["integration smoke (backend + frontend + redis)"]
    assert not smoke["ok"] and f'failed to resolve image "docker.io/{REDIS}"' in smoke["detail"]
    assert by_name["frontend unit tests"]["ok"]


def test_smoke_failure_shows_the_checkers_output() -> None:
    engine = engine_with(
        h.exec_failure(
            "/smoke/smoke.py", exit_code=1, stdout="FAIL http://backend:8000/healthz 503\n"
        )
    )
    message = run_error(engine, "test")
    assert "FAIL  integration smoke" in message
    assert "command failed with exit code 1: python /smoke/smoke.py" in message
    assert "FAIL http://backend:8000/healthz 503" in message


# ---- scan ---------------------------------------------------------------------------------


def test_scan_with_unresolvable_trivy_image_fails_naming_the_image() -> None:
    message = run_error(engine_with(h.image_failure(TRIVY)), "scan")
    assert f'failed to resolve image "docker.io/{TRIVY}"' in message
    assert "[image backend]" in message and "[config]" in message


def test_scan_job_failure_keeps_the_other_scans_reports() -> None:
    engine = engine_with(
        h.exec_failure("trivy config", exit_code=2, stderr="FATAL config scan error\n")
    )
    result = run(engine, "scan", {"fail_on_error": False})
    assert not engine.is_failed(result)
    detail = summary(engine)["steps"][0]["detail"]
    assert "[config] command failed with exit code 2: trivy config" in detail
    assert "FATAL config scan error" in detail
    assert "[image backend]" not in detail


def test_config_scan_never_tries_to_download_the_checks_bundle() -> None:
    """`trivy config` runs with the checks built into the pinned Trivy, with or without a
    pre-fetched DB, so an unreachable checks registry cannot fail or stall the config scan."""
    for inputs in ({}, {"trivy_db": "trivy-db-dir-id"}):
        engine = engine_with()
        run(engine, "scan", {"fail_on_error": False, **inputs})
        runs = [
            c.args["args"]
            for c in engine.calls("withExec")
            if c.args["args"][:2] == ["trivy", "config"]
        ]
        assert runs and all("--skip-check-update" in args for args in runs), (inputs, runs)
        others = [
            c.args["args"] for c in engine.calls("withExec") if c.args["args"][:1] == ["trivy"]
        ]
        assert not [a for a in others if a[1] != "config" and "--skip-check-update" in a]


# ---- sbom, push, sign, release ------------------------------------------------------------------


def test_sbom_failure_names_the_app_and_the_cause() -> None:
    engine = engine_with(
        h.exec_failure(
            "oci-archive:/images/frontend.tar", exit_code=1, stderr="syft: could not read archive\n"
        )
    )
    message = run_error(engine, "sbom")
    assert "sbom failed:" in message
    assert (
        "[frontend] command failed with exit code 1: scan oci-archive:/images/frontend.tar"
        in message
    )
    assert "syft: could not read archive" in message
    assert "[backend]" not in message


def test_push_failure_names_the_app_and_the_registrys_answer() -> None:
    engine = engine_with(
        h.field_failure("publish", "backend", "failed to push ghcr.io/x/backend: 401 Unauthorized")
    )
    inputs = {"registry_username": "bot", "registry_password": PASSWORD_ID}
    message = run_error(engine, "push", inputs, revision=REV)
    assert "push failed:" in message and "[backend]" in message
    assert "401 Unauthorized" in message
    assert "[frontend]" not in message


def test_sign_failure_shows_cosigns_error() -> None:
    engine = engine_with(
        h.exec_failure("cosign sign", exit_code=1, stderr="Error: signing: UNAUTHORIZED\n")
    )
    inputs = {
        "images": [f"{REPO}/backend@{DIGEST}"],
        "registry_username": "bot",
        "registry_password": PASSWORD_ID,
        "oidc_token": h.secret_id("oidc"),
    }
    message = run_error(engine, "sign", inputs)
    assert "sign failed:" in message and "[backend]" in message
    assert "Error: signing: UNAUTHORIZED" in message


def test_release_failure_after_ci_shows_the_cause() -> None:
    engine = engine_with(
        h.field_failure("publish", "frontend", "failed to push: denied: permission_denied"),
        files={"scan/policy.json": '{"passed": true, "counts": {}}'},
    )
    inputs = {
        "registry_username": "bot",
        "registry_password": PASSWORD_ID,
        "oidc_token": h.secret_id("oidc"),
    }
    message = run_error(engine, "release", inputs, revision=REV)
    assert "push failed:" in message and "[frontend]" in message
    assert "denied: permission_denied" in message
    assert engine.calls("withExec") and not [
        c for c in engine.calls("withExec") if "cosign" in " ".join(c.args["args"])
    ], "nothing is signed after a failed push"


# ---- ci ---------------------------------------------------------------------------------------


def test_ci_returns_its_reports_when_one_image_cannot_be_resolved() -> None:
    engine = engine_with(h.image_failure(TRIVY))
    result = run(engine, "ci", {"fail_on_error": False}, revision=REV)
    assert not engine.is_failed(result), "the exported reports would fail to export"
    by_name = steps(engine)
    scan = by_name["scan (trivy: images, config, secrets)"]
    assert not scan["ok"] and f'failed to resolve image "docker.io/{TRIVY}"' in scan["detail"]
    others = [s for name, s in by_name.items() if not name.startswith("scan")]
    assert others and all(s["ok"] for s in others)
    assert summary(engine)["passed"] is False


def test_ci_reports_every_failure_with_its_cause_and_no_colour_codes() -> None:
    engine = engine_with(
        h.image_failure(TRIVY),
        h.exec_failure(
            "hadolint dockerfiles/", exit_code=1, stdout="\x1b[31mDL3008\x1b[0m pin versions\n"
        ),
    )
    run(engine, "ci", {"fail_on_error": False}, revision=REV)
    by_name = steps(engine)
    hadolint = by_name["hadolint (Dockerfiles)"]
    assert not hadolint["ok"] and "DL3008 pin versions" in hadolint["detail"]
    text = json.dumps(summary(engine))
    assert "\\u001b" not in text and "\x1b" not in text
    assert by_name["ruff (module, backend, tests)"]["ok"]
    message = run_error(engine_with(h.image_failure(TRIVY)), "ci", revision=REV)
    assert "FAIL  scan" in message and "failed to resolve image" in message


def test_ci_platform_suites_fail_alone_when_the_deploy_tools_cannot_be_built() -> None:
    engine = engine_with(
        h.field_failure(
            "dockerBuild",
            "'target': 'deploy'",
            'failed to solve: process "sh /run/fetch-verified.sh helm HELM" did not complete '
            "successfully: helm: download failed (get.helm.sh unreachable)",
        )
    )
    result = run(engine, "ci", {"fail_on_error": False}, revision=REV)
    assert not engine.is_failed(result)
    by_name = steps(engine)
    assert by_name["platform: module core (config, plans, policies, toolchain, layers)"]["ok"]
    for name in (
        "platform: chart render, values schema, policies",
        "platform: workflow checks (actionlint, zizmor, scripts, policies)",
    ):
        assert not by_name[name]["ok"] and "get.helm.sh unreachable" in by_name[name]["detail"]
