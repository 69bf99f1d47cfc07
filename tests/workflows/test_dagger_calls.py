"""Every `dagger call` in .github/workflows matches the module's registered functions.

The module is loaded with the SDK's own loader (`dagger.mod.cli.load_module()`), exactly as
the engine registers it; core types (Directory.export, ...) come from the engine's GraphQL
schema in ../shared/dagger/schema.graphqls.
"""

from __future__ import annotations

import pytest
from workflows_dagger_calls import (
    Arg,
    DaggerStep,
    Fn,
    Kind,
    Surface,
    add_core_types,
    check_call,
    engine_version,
    exported_env,
    kebab,
    load_workflows,
    module_surface,
    surface_for_tests,
    workflow_calls,
)

WORKFLOWS = load_workflows()
STEPS = list(workflow_calls(WORKFLOWS))
VERSION = engine_version()


@pytest.fixture(scope="module")
def surface() -> Surface:
    return surface_for_tests()


def test_engine_version_is_pinned() -> None:
    assert VERSION.startswith("v") and VERSION.count(".") == 2, VERSION


def test_the_main_workflows_run_dagger() -> None:
    files = {step.where.split(":")[0] for step in STEPS}
    assert {"ci.yml", "cd.yml", "rollback.yml", "nightly.yml"} <= files


@pytest.mark.parametrize("step", STEPS, ids=[s.where for s in STEPS])
def test_call_matches_the_module(step: DaggerStep, surface: Surface) -> None:
    assert check_call(step, surface, VERSION) == []


def test_expected_functions_are_called(surface: Surface) -> None:
    """What the issue asks of each workflow, by function name."""
    called: dict[str, set[str]] = {}
    for step in STEPS:
        chain: list[str] = []
        check_call(step, surface, VERSION, chain)
        called.setdefault(step.where.split(":")[0], set()).update(chain[:1])
    assert called["ci.yml"] == {"ci"}
    assert {"release", "deploy"} <= called["cd.yml"]
    assert called["rollback.yml"] == {"rollback"}
    assert {"scan", "deploy", "metrics"} <= called["nightly.yml"]
    assert called["preview.yml"] == {"preview", "preview-down", "preview-gc"}


# ---- the loader adapter reads the real SDK registration ------------------------------------


def test_surface_reads_secrets_and_defaults_from_the_sdk(surface: Surface) -> None:
    release = surface.objects["Pipeline"]["release"]
    assert release.args["registry-password"] == Arg("registry-password", Kind.SECRET, True)
    assert release.args["oidc-token"].kind is Kind.SECRET
    assert not release.args["oidc-token"].required
    assert release.returns == "Directory"
    assert surface.objects["Directory"]["export"].args["path"].required
    # The repository is a DefaultPath argument: never required on the command line.
    assert "source" in surface.constructor and not surface.constructor["source"].required


def test_variables_exported_by_earlier_steps_count() -> None:
    assert exported_env('echo "TOKEN=x" >> "$GITHUB_ENV"') == {"TOKEN"}
    assert exported_env('echo "TOKEN=x" >> "$GITHUB_OUTPUT"') == set()
    workflow = {
        "jobs": {
            "j": {
                "steps": [
                    {"run": 'echo "KC=x" >> "$GITHUB_ENV"'},
                    {"uses": "dagger/dagger-for-github@x", "with": {"call": "c"}},
                ]
            }
        }
    }
    (step,) = workflow_calls({"w.yml": workflow})
    assert "KC" in step.env


def test_runner_temp_files_written_before_and_removed_after() -> None:
    workflow = {
        "jobs": {
            "j": {
                "steps": [
                    {"run": 'write-it "${RUNNER_TEMP}/kc"\nother "$RUNNER_TEMP/ca.crt"'},
                    {"uses": "dagger/dagger-for-github@x", "with": {"call": "c"}},
                    {"if": "${{ always() }}", "run": 'rm -f "${RUNNER_TEMP}/kc"'},
                    {"run": 'rm -f "${RUNNER_TEMP}/ca.crt"'},  # not always(): does not count
                ]
            }
        }
    }
    (step,) = workflow_calls({"w.yml": workflow})
    assert step.temp_written == {"kc", "ca.crt"}
    assert step.temp_removed == {"kc"}


def test_kebab_matches_the_cli() -> None:
    assert kebab("fail_on_error") == "fail-on-error"
    assert kebab("failOnError") == "fail-on-error"
    assert kebab("from_") == "from"


# ---- the checker itself finds each kind of mistake -----------------------------------------


@pytest.fixture(scope="module")
def toy() -> Surface:
    surface = Surface(
        main="Pipeline",
        constructor={"revision": Arg("revision", Kind.VALUE, False)},
        objects={
            "Pipeline": {
                "ci": Fn(
                    "ci", {"fail-on-error": Arg("fail-on-error", Kind.BOOL, False)}, "Directory"
                ),
                "lint": Fn("lint", {}, None),
                "deploy": Fn(
                    "deploy",
                    {
                        "env": Arg("env", Kind.VALUE, True),
                        "kubeconfig": Arg("kubeconfig", Kind.SECRET, False),
                    },
                    None,
                ),
            }
        },
    )
    add_core_types(surface)
    return surface


def _step(call: str, env: dict[str, str] | None = None, **inputs: str) -> DaggerStep:
    return DaggerStep("t.yml: job j: s", {"version": VERSION, "call": call, **inputs}, env or {})


@pytest.mark.parametrize(
    ("call", "env", "inputs", "expected"),
    [
        ("ci export --path r", None, {}, []),
        ("--revision x ci --fail-on-error=false export --path r", None, {}, []),
        ("deploy --env prod --kubeconfig env://KC", {"KC": "${{ secrets.KC }}"}, {}, []),
        ("ship", None, {}, ["has no function 'ship'"]),
        ("ci --fast", None, {}, ["has no argument --fast"]),
        ("--commit x ci", None, {}, ["constructor of Pipeline has no argument --commit"]),
        ("deploy --kubeconfig env://KC", {"KC": "x"}, {}, ["Pipeline.deploy needs --env"]),
        (
            "deploy --env prod --kubeconfig ~/.kube/config",
            None,
            {},
            ["must be passed as env://VAR"],
        ),
        (
            "deploy --env p --kubeconfig ${{ secrets.KC }}",
            None,
            {},
            ["secret is written into the command", "must be passed as env://VAR"],
        ),
        ("deploy --env p --kubeconfig env://KC", None, {}, ["environment has no KC"]),
        (
            "deploy --env p --kubeconfig file://${{ runner.temp }}/kc",
            None,
            {},
            ["no earlier step of the job writes ${RUNNER_TEMP}/kc", "must remove it"],
        ),
        (
            "deploy --env p --kubeconfig file://kubeconfig",
            None,
            {},
            ["must be passed as env://VAR"],
        ),
        ("lint", {"KC": "${{ secrets.KC }}"}, {}, ["holds a secret the command never reads"]),
        ("--revision $REV lint", {"REV": "${{ github.sha }}"}, {}, []),
        ("--revision $REV lint", None, {}, ["$REV in `call` is not in the step's env:"]),
        (
            "--revision ${REV} lint",
            {"REV": "${{ secrets.X }}"},
            {},
            ["$REV holds a secret", "holds a secret the command never reads"],
        ),
        ("--revision 'a b' lint", None, {}, ["no quotes, backticks"]),
        ('--revision "a b" lint', None, {}, ["no quotes, backticks"]),
        ("--revision $(id) lint", None, {}, ["no quotes, backticks"]),
        ("lint export --path x", None, {}, ["follows a function whose result has no functions"]),
        ("ci export", None, {}, ["Directory.export needs --path"]),
        ("ci --fail-on-error=maybe", None, {}, ["must be true or false"]),
        ("ci", None, {"version": "v0.20.0"}, ["must equal dagger.json's engineVersion"]),
        ("ci", None, {"module": "github.com/x/y"}, ["must use this repository's module"]),
        ("", None, {}, ["no `call` input"]),
    ],
)
def test_checker_reports(
    toy: Surface, call: str, env: dict[str, str] | None, inputs: dict[str, str], expected: list[str]
) -> None:
    problems = check_call(_step(call, env, **inputs), toy, VERSION)
    assert len(problems) == len(expected), problems
    for problem, text in zip(problems, expected, strict=True):
        assert text in problem


def test_checker_accepts_a_runner_temp_file_written_and_removed(toy: Surface) -> None:
    call = "deploy --env p --kubeconfig file://${{ runner.temp }}/kc"
    step = DaggerStep(
        "t.yml: job j: s",
        {"version": VERSION, "call": call},
        {},
        frozenset({"kc"}),
        frozenset({"kc"}),
    )
    assert check_call(step, toy, VERSION) == []


def test_module_surface_needs_the_main_object() -> None:
    class FakeModule:
        def __init__(self) -> None:
            self._objects: dict[str, object] = {"Images": object()}

    with pytest.raises(LookupError, match="main object 'Pipeline' is not registered"):
        module_surface(FakeModule())


def test_every_workflow_file_parses() -> None:
    assert WORKFLOWS, "no workflow found in .github/workflows"
    for name, wf in WORKFLOWS.items():
        assert isinstance(wf, dict) and wf.get("jobs"), name
