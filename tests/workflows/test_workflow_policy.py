"""Security and delivery rules of .github/workflows that the linters do not express."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflows_dagger_calls import DAGGER_ACTION, load_workflows
from workflows_dagger_calls import WORKFLOWS as WORKFLOW_DIR

WORKFLOWS = load_workflows()
TEXTS = {
    path.name: path.read_text(encoding="utf-8") for path in sorted(WORKFLOW_DIR.glob("*.y*ml"))
}
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+(\.\d+)*\s*$")
SECRET_REF = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)")


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    on = wf.get("on", wf.get(True))  # PyYAML reads a bare `on` key as the boolean True
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


def jobs(name: str) -> dict[str, dict[str, Any]]:
    return WORKFLOWS[name]["jobs"]


def all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for file_name, wf in WORKFLOWS.items():
        for job_id, job in wf["jobs"].items():
            for step in job.get("steps", []):
                yield file_name, job_id, step


def dagger_calls(name: str, job_id: str) -> list[str]:
    return [
        " ".join(str(step["with"].get("call", "")).split())
        for step in jobs(name)[job_id]["steps"]
        if str(step.get("uses", "")).startswith(DAGGER_ACTION + "@")
    ]


def test_the_four_workflows_exist() -> None:
    assert {"ci.yml", "cd.yml", "rollback.yml", "nightly.yml"} <= set(WORKFLOWS)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_action_is_pinned_to_a_commit_sha(name: str) -> None:
    refs = []
    for number, line in enumerate(TEXTS[name].splitlines(), 1):
        match = USES_LINE.match(line)
        if not match:
            continue
        ref = match["ref"].strip("'\"")
        refs.append(ref)
        if ref.startswith(("./", "$/")):  # this repository, at the running commit
            continue
        if ref.startswith("docker://"):
            assert "@sha256:" in ref, f"{name}:{number}: image {ref} must be pinned by digest"
            continue
        assert PINNED.match(ref), f"{name}:{number}: {ref} is not pinned to a 40-hex commit SHA"
        assert VERSION_COMMENT.match(match["rest"]), (
            f"{name}:{number}: {ref} needs a `# vX.Y.Z` comment naming the release it pins"
        )
    parsed = [
        str(step["uses"])
        for file_name, _, step in all_steps()
        if file_name == name and "uses" in step
    ]
    parsed += [str(job["uses"]) for job in WORKFLOWS[name]["jobs"].values() if "uses" in job]
    assert sorted(parsed) == sorted(refs), "every `uses:` must be on its own line to be checked"


def test_one_sha_per_action() -> None:
    """The same action is pinned to the same commit everywhere (one place to upgrade)."""
    pins: dict[str, set[str]] = {}
    for _, _, step in all_steps():
        if "uses" in step:
            action, _, sha = str(step["uses"]).partition("@")
            pins.setdefault(action, set()).add(sha)
    assert {a: s for a, s in pins.items() if len(s) > 1} == {}


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_no_privileged_triggers(name: str) -> None:
    on = triggers(WORKFLOWS[name])
    assert "pull_request_target" not in on
    assert "workflow_run" not in on


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_permissions_are_least_privilege(name: str) -> None:
    wf = WORKFLOWS[name]
    assert wf.get("permissions") == {}, f"{name}: start from `permissions: {{}}` at the top"
    for job_id, job in wf["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{name}: job {job_id} must list its permissions"
        assert perms.get("contents") in ("read", None), f"{name}: {job_id} writes contents"
        for scope, level in perms.items():
            assert level in ("read", "write"), f"{name}: {job_id}: {scope}: {level}"


def test_oidc_and_package_writes_only_where_needed() -> None:
    id_token = {
        (name, job_id)
        for name, wf in WORKFLOWS.items()
        for job_id, job in wf["jobs"].items()
        if job["permissions"].get("id-token") == "write"
    }
    assert id_token == {
        ("cd.yml", "release"),
        ("cloud-examples.yml", "eks"),
        ("cloud-examples.yml", "gke"),
        ("cloud-examples.yml", "aks"),
    }
    packages = {
        (name, job_id)
        for name, wf in WORKFLOWS.items()
        for job_id, job in wf["jobs"].items()
        if job["permissions"].get("packages") == "write"
    }
    # preview.yml pushes the pr-N-<sha> images of a same-repository pull request (issue 16)
    assert packages == {("cd.yml", "release"), ("preview.yml", "preview")}


def test_ci_job_running_pull_request_code_has_a_read_only_token() -> None:
    assert jobs("ci.yml")["ci"]["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_checkout_does_not_persist_credentials(name: str) -> None:
    for _, job_id, step in (s for s in all_steps() if s[0] == name):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{name}: {job_id}"


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_run_scripts_have_no_expressions(name: str) -> None:
    """Values reach `run:` only through env: (no template injection, no secret on a command line)."""
    for _, job_id, step in (s for s in all_steps() if s[0] == name):
        if "run" in step:
            assert "${{" not in step["run"], (
                f"{name}: {job_id}: {step.get('name')}: use env: instead"
            )


def test_secrets_only_in_env_mappings_or_the_cloud_token() -> None:
    """Each secret is read (a) as the Dagger Cloud token input or (b) in a step's env:, and then
    only in jobs bound to a deployment environment. This backs the zizmor finding accepted in
    .github/zizmor.yml (secrets-outside-env) with a narrower rule."""
    for name, wf in WORKFLOWS.items():
        assert not SECRET_REF.search(str(wf.get("env", ""))), f"{name}: workflow-level env secret"
        for job_id, job in wf["jobs"].items():
            assert not SECRET_REF.search(str(job.get("env", ""))), (
                f"{name}: {job_id}: job-level env"
            )
            for step in job.get("steps", []):
                for key, value in (step.get("with") or {}).items():
                    if SECRET_REF.search(str(value)):
                        assert key == "cloud-token", f"{name}: {job_id}: secret in `with.{key}`"
                        assert value == "${{ secrets.DAGGER_CLOUD_TOKEN }}"
                for value in (step.get("env") or {}).values():
                    secret = SECRET_REF.search(str(value))
                    if secret and secret.group(1) != "GITHUB_TOKEN":
                        assert "environment" in job, (
                            f"{name}: {job_id} reads secrets.{secret.group(1)} without an environment"
                        )


def test_ci_cancels_superseded_runs_and_cd_never_cancels() -> None:
    ci = WORKFLOWS["ci.yml"]["concurrency"]
    assert ci["cancel-in-progress"] is True and "pull_request.number" in ci["group"]
    assert WORKFLOWS["cd.yml"]["concurrency"]["cancel-in-progress"] is False


def test_deploys_to_one_environment_share_one_lock() -> None:
    assert jobs("cd.yml")["staging"]["concurrency"]["group"] == "deploy-staging"
    assert jobs("cd.yml")["production"]["concurrency"]["group"] == "deploy-prod"
    assert (
        jobs("rollback.yml")["rollback"]["concurrency"]["group"]
        == "deploy-${{ inputs.environment }}"
    )
    for job in (
        jobs("cd.yml")["staging"],
        jobs("cd.yml")["production"],
        jobs("rollback.yml")["rollback"],
    ):
        assert job["concurrency"]["cancel-in-progress"] is False


def test_ci_publishes_reports_coverage_and_sarif() -> None:
    steps = jobs("ci.yml")["ci"]["steps"]
    assert dagger_calls("ci.yml", "ci") == [
        "--revision ${{ github.sha }} ci --fail-on-error=false export --path reports"
    ]
    runs = [s.get("run", "") for s in steps]
    assert any("ci_summary.py summary reports" in r and "GITHUB_STEP_SUMMARY" in r for r in runs)
    assert runs[-1].startswith("python3 .github/scripts/ci_summary.py verdict reports")
    upload = jobs("ci.yml")["code-scanning"]["steps"][-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert jobs("ci.yml")["code-scanning"]["permissions"]["security-events"] == "write"


def test_cd_releases_once_and_promotes_the_same_digests() -> None:
    cd = jobs("cd.yml")
    assert set(triggers(WORKFLOWS["cd.yml"])["push"]) == {"branches", "tags"}
    # main: release, then staging from that release's report
    assert cd["release"]["if"] == "${{ github.ref_type == 'branch' }}"
    assert any(" release " in f" {c} " for c in dagger_calls("cd.yml", "release"))
    assert cd["staging"]["needs"] == "release"
    assert cd["staging"]["environment"]["name"] == "staging"
    # tag: no build anywhere; the report of the run that passed staging is promoted
    assert cd["promotion-candidate"]["if"] == "${{ github.ref_type == 'tag' }}"
    assert cd["production"]["needs"] == "promotion-candidate"
    assert cd["production"]["environment"]["name"] == "production"
    for job_id in ("staging", "production"):
        (call,) = dagger_calls("cd.yml", job_id)
        assert "--release-report release/release.json" in call
        assert not {"release", "build", "push", "ci"} & set(call.split())
        download = next(s for s in cd[job_id]["steps"] if "download-artifact" in str(s.get("uses")))
        assert download["with"] == {"name": "release-report", "path": "release"}
    upload_names = {
        s["with"]["name"]
        for job_id in ("release", "promotion-candidate")
        for s in cd[job_id]["steps"]
        if "upload-artifact" in str(s.get("uses"))
    }
    assert upload_names == {"release-report"}
    lookup = next(
        s for s in cd["promotion-candidate"]["steps"] if "gh run list" in s.get("run", "")
    )
    assert '--commit "$COMMIT"' in lookup["run"] and "--status success" in lookup["run"]
    assert "--branch main" in lookup["run"]


def test_production_deploy_passes_the_approval_evidence() -> None:
    """The module cannot see the workflow's context: the production job passes what it has
    (the protected environment, the run, who started it) as arguments, from env: (no ${{ }}
    in the action's script), and the environment named is the job's own."""
    production = jobs("cd.yml")["production"]
    (call,) = dagger_calls("cd.yml", "production")
    step = next(s for s in production["steps"] if str(s.get("uses", "")).startswith(DAGGER_ACTION))
    env = step["env"]
    for flag, var in (
        ("--approval-environment", "APPROVAL_ENVIRONMENT"),
        ("--approval-run-url", "APPROVAL_RUN_URL"),
        ("--approval-actor", "APPROVAL_ACTOR"),
    ):
        assert f"{flag} ${var}" in call
        assert "secrets." not in str(env[var])
    assert env["APPROVAL_ENVIRONMENT"] == production["environment"]["name"]
    config = yaml.safe_load((WORKFLOW_DIR.parents[1] / "pipeline.yaml").read_text())
    assert config["environments"]["prod"]["github_environment"] == env["APPROVAL_ENVIRONMENT"]
    assert env["APPROVAL_RUN_URL"] == (
        "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}"
        "/attempts/${{ github.run_attempt }}"
    )
    assert env["APPROVAL_ACTOR"] == "${{ github.actor }}"


def test_release_report_goes_to_the_job_summary() -> None:
    for job_id in ("release", "promotion-candidate"):
        runs = [s.get("run", "") for s in jobs("cd.yml")[job_id]["steps"]]
        assert any(
            "ci_summary.py release release" in r and "GITHUB_STEP_SUMMARY" in r for r in runs
        )


def test_rollback_is_manual_with_environment_and_optional_revision() -> None:
    on = triggers(WORKFLOWS["rollback.yml"])
    assert set(on) == {"workflow_dispatch", "workflow_call"}  # by hand, or from cd.yml
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["required"] is True
    assert inputs["environment"]["options"] == ["staging", "prod"]
    assert inputs["revision"]["required"] is False
    called = on["workflow_call"]["inputs"]
    assert called["environment"]["required"] is True and called["revision"]["default"] == ""
    (call,) = dagger_calls("rollback.yml", "rollback")
    assert call.startswith(
        "rollback --env ${{ inputs.environment }} --revision ${{ inputs.revision || 0 }}"
    )
    check = next(
        s for s in jobs("rollback.yml")["rollback"]["steps"] if "REVISION" in s.get("env", {})
    )
    assert "REVISION" in check["env"] and "^[0-9]*$" in check["run"]
    # workflow_call inputs are free strings: the environment is checked like the revision
    assert "ENVIRONMENT" in check["env"] and "staging" in check["run"] and "prod" in check["run"]


def local_workflow_calls() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, wf in WORKFLOWS.items():
        for job_id, job in wf["jobs"].items():
            if str(job.get("uses", "")).startswith(("./", "$/")):
                yield name, job_id, job


def test_local_workflow_calls_match_the_called_workflow() -> None:
    """actionlint checks `./` calls against the called workflow but not `$/` ones (GitHub's
    self-repository syntax, which zizmor recommends): inputs and secrets are checked here."""
    calls = list(local_workflow_calls())
    assert {(name, job_id) for name, job_id, _ in calls} == {
        ("cd.yml", "staging-restore"),
        ("cd.yml", "production-restore"),
    }
    for name, job_id, job in calls:
        where = f"{name}: {job_id}"
        assert job["uses"].startswith("$/.github/workflows/"), f"{where}: use the $/ form"
        called = WORKFLOWS[job["uses"].rsplit("/", 1)[1]]
        declared = triggers(called)["workflow_call"]
        inputs = declared.get("inputs") or {}
        given = job.get("with") or {}
        assert set(given) <= set(inputs), f"{where}: unknown inputs {set(given) - set(inputs)}"
        for key, spec in inputs.items():
            assert key in given or not spec.get("required"), f"{where}: needs input {key}"
        secrets = job.get("secrets") or {}
        assert secrets != "inherit", f"{where}: pass each secret by name, never all of them"
        assert set(secrets) <= set(declared.get("secrets") or {}), where


def test_deploy_outcome_decides_the_restore_job() -> None:
    """`dagger call` exits 1 for every failure: the report's outcome tells a deploy that was
    rolled back (and verified) from one that was NOT restored, which gets a rollback job."""
    cd = jobs("cd.yml")
    for job_id, env, restore in (
        ("staging", "staging", "staging-restore"),
        ("production", "prod", "production-restore"),
    ):
        steps = cd[job_id]["steps"]
        outcome = next(s for s in steps if s.get("id") == "outcome")
        assert (
            outcome["run"]
            == f"python3 .github/scripts/ci_summary.py outcome deploy-report deploy {env}"
        )
        assert outcome["if"] == "${{ !cancelled() }}"
        deploy_step = next(s for s in steps if str(s.get("uses", "")).startswith(DAGGER_ACTION))
        assert steps.index(outcome) > steps.index(deploy_step)
        assert cd[job_id]["outputs"]["outcome"] == "${{ steps.outcome.outputs.outcome }}"
        job = cd[restore]
        assert job["needs"] == job_id
        assert job["if"] == f"${{{{ !cancelled() && needs.{job_id}.outputs.outcome == 'failed' }}}}"
        assert job["uses"] == "$/.github/workflows/rollback.yml"
        assert job["with"] == {"environment": env}
    runs = [s.get("run", "") for s in jobs("rollback.yml")["rollback"]["steps"]]
    assert any("ci_summary.py outcome rollback-report rollback" in r for r in runs)


DEPLOY_FAMILY = {"deploy", "promote", "abort", "rollback"}


def test_calls_read_by_an_outcome_step_export_their_report_on_failure() -> None:
    """The outcome step reads the exported report, and `dagger call deploy ... export` exports
    nothing when the action fails unless it runs with --fail-on-error=false (issue 18 item 9)."""
    checked = []
    for name in sorted(WORKFLOWS):
        for job_id, job in jobs(name).items():
            runs = [str(s.get("run", "")) for s in job.get("steps", [])]
            if not any("ci_summary.py outcome" in r for r in runs):
                continue
            for call in dagger_calls(name, job_id):
                if DEPLOY_FAMILY & set(call.split()) and " export " in call:
                    assert "--fail-on-error=false" in call.split(" export ")[0], (name, call)
                    checked.append((name, job_id))
    assert len(checked) >= 7, checked  # cd x2, rollback, cloud examples x3, nightly rehearsal


def test_nightly_scans_load_tests_and_rehearses() -> None:
    on = triggers(WORKFLOWS["nightly.yml"])
    assert "schedule" in on and "workflow_dispatch" in on
    nightly = jobs("nightly.yml")
    assert nightly["scan-deployed"]["strategy"]["matrix"]["env"] == ["staging", "prod"]
    assert "--refresh-db" in dagger_calls("nightly.yml", "scan-deployed")[0]
    assert "staging" in dagger_calls("nightly.yml", "load-test")[0]
    assert dagger_calls("nightly.yml", "rehearsal")[0].startswith("deploy --env local")


def test_cloud_examples_are_off_by_default() -> None:
    wf = WORKFLOWS["cloud-examples.yml"]
    assert set(triggers(wf)) == {"workflow_dispatch"}
    for cloud in ("eks", "gke", "aks"):
        job = wf["jobs"][cloud]
        assert job["if"] == f"${{{{ inputs.cloud == '{cloud}' }}}}"
        assert job["permissions"]["id-token"] == "write"
        (call,) = dagger_calls("cloud-examples.yml", cloud)
        assert "--kubeconfig file://${{ runner.temp }}/kubeconfig" in call
        runs = " ".join(s.get("run", "") for s in job["steps"])
        assert 'write-kubeconfig.sh "${RUNNER_TEMP}/kubeconfig"' in runs
        assert not any(
            "secrets." in str(v) for s in job["steps"] for v in (s.get("with") or {}).values()
        )


# ---- secrets in runner processes and files (issue 17 item 4) ---------------------------------

SCRIPT_TEXTS = {
    **{
        f"{name}: {job_id}: {step.get('name')}": str(step["run"])
        for name, job_id, step in all_steps()
        if "run" in step
    },
    **{
        f".github/scripts/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted((WORKFLOW_DIR.parent / "scripts").glob("*.sh"))
    },
}
CURL_HEADER = re.compile(r"(?:^|\s)(?:-H|--header)(?:\s+|=)(?P<value>\S+)")


@pytest.mark.parametrize("where", sorted(SCRIPT_TEXTS))
def test_curl_headers_come_from_stdin_or_a_file(where: str) -> None:
    """A header value on curl's command line (`-H "Authorization: Bearer $T"`) is visible to
    every process on the runner; headers go through `-H @-` (stdin) or `-H @file`."""
    for match in CURL_HEADER.finditer(SCRIPT_TEXTS[where]):
        assert match["value"].startswith("@"), f"{where}: curl {match.group(0).strip()}"


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_nothing_is_exported_to_every_later_step(name: str) -> None:
    """$GITHUB_ENV reaches every later step of the job (a kubeconfig there is readable by
    every action that runs after the deploy): no workflow writes to it."""
    for _, job_id, step in (s for s in all_steps() if s[0] == name):
        assert "GITHUB_ENV" not in str(step.get("run", "")), f"{name}: {job_id}: {step.get('name')}"


def test_no_helper_script_exports_to_every_later_step() -> None:
    for script, text in SCRIPT_TEXTS.items():
        if script.startswith(".github/scripts/"):
            assert not re.search(r">>\s*\"?\$\{?GITHUB_ENV", text), f"{script} writes $GITHUB_ENV"


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_step_outputs_hold_no_token(name: str) -> None:
    """Step outputs are shown to other jobs and kept with the run: only ci_summary.py writes
    them (digests, `found`, the deploy outcome), and no output is read from a token step."""
    for _, job_id, step in (s for s in all_steps() if s[0] == name):
        run = str(step.get("run", ""))
        if "GITHUB_OUTPUT" in run:
            assert run.startswith("python3 ") and "ci_summary.py" in run, f"{name}: {job_id}"
    # The one token output read anywhere is google-github-actions/auth's access_token (that
    # action's interface, masked by it), in the env of the single step that calls the GKE API.
    reads = re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]*token[\w-]*)", TEXTS[name], re.IGNORECASE)
    assert reads == ([("gcp", "access_token")] if name == "cloud-examples.yml" else []), name
    for job_id, job in WORKFLOWS[name]["jobs"].items():
        assert not re.search("token", str(job.get("outputs", "")), re.IGNORECASE), (
            f"{name}: {job_id}"
        )


def test_secret_files_live_in_runner_temp_for_one_step() -> None:
    """Every secret file (kubeconfig, identity token) is written under $RUNNER_TEMP just before
    the one `dagger call` that reads it and removed by the next step, even on failure."""
    checked = 0
    for name, job_id, step in all_steps():
        call = str((step.get("with") or {}).get("call", ""))
        for secret_file in re.findall(r"file://\$\{\{ runner\.temp \}\}/([\w.-]+)", call):
            steps = jobs(name)[job_id]["steps"]
            index = steps.index(step)
            before, after = steps[index - 1], steps[index + 1]
            assert f"${{RUNNER_TEMP}}/{secret_file}" in str(before.get("run", "")), (
                f"{name}: {job_id}: the step before the deploy writes {secret_file}"
            )
            assert after.get("if") == "${{ always() }}", f"{name}: {job_id}: remove on failure too"
            assert str(after.get("run", "")).startswith("rm -f ")
            assert f"${{RUNNER_TEMP}}/{secret_file}" in after["run"]
            checked += 1
    assert checked == 4  # the release's identity token, the three cloud kubeconfigs


def test_the_readmes_name_every_file() -> None:
    """.github/README.md names every workflow and script; tests/workflows/README.md every file
    of this folder (issue 13: every folder and script listed in its README)."""
    github = WORKFLOW_DIR.parent
    readme = (github / "README.md").read_text(encoding="utf-8")
    files = [*sorted((github / "workflows").iterdir()), *sorted((github / "scripts").iterdir())]
    assert [p.name for p in files if f"`{p.name}`" not in readme] == []
    here = Path(__file__).resolve().parent
    readme = (here / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in sorted(here.glob("*.py")) if f"`{p.name}`" not in readme] == []
