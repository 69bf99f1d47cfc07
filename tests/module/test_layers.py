"""The layer contract of src/pipeline (issue 13), enforced on every import statement.

- The Dagger side (`DAGGER_SIDE`) translates decisions into Dagger API calls; it alone may
  import `dagger`.
- The core (`CORE`, plain Python: config, plans, policies, ...) never imports `dagger`, not
  even lazily or under TYPE_CHECKING, and never a Dagger-side module (they import `dagger`).
- The deploy runtime (`src/pipeline/deploy/`, copied whole into the tools container, which
  has Python but none of the module's dependencies) imports only the standard library and
  `pipeline.deploy` itself.

The check reads every `import` / `from ... import` in the files (function-level ones too) by
walking their AST; relative imports are resolved against the file's package. A module in
neither list is held to the core's rule.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "pipeline"
RUNTIME = PACKAGE / "deploy"

# Modules that translate into Dagger API calls (and the package entry the SDK loads).
DAGGER_SIDE = frozenset(
    {
        "pipeline",  # __init__.py: re-exports Pipeline (pipeline.main) lazily for the SDK
        "pipeline.main",
        "pipeline.stages",
        "pipeline.containers",
        "pipeline.deploy_container",
        "pipeline.delivery",  # metrics and preview functions (issue 16)
    }
)
# Plain Python, no dagger: everything else at the top level of src/pipeline.
CORE = frozenset(
    {
        "pipeline.__main__",
        "pipeline.cli",
        "pipeline.config",
        "pipeline.deploy_targets",
        "pipeline.lint",
        "pipeline.loadtest",
        "pipeline.plans",
        "pipeline.policy",
        "pipeline.preview",
        "pipeline.reports",
        "pipeline.scans",
        "pipeline.signing",
        "pipeline.suites",
        "pipeline.toolchain",
        "pipeline.wiring",
    }
)
STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.rule}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, at any depth."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module or ""))
                continue
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - (node.level - 1)])
            if node.module:
                found.append((node.lineno, f"{base}.{node.module}"))
            else:  # `from . import helm`: each name is a module of the package
                found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _within(name: str, modules: frozenset[str]) -> bool:
    return any(name == m or name.startswith(f"{m}.") for m in modules if m != "pipeline")


def violations(source: str, module: str, is_package: bool = False) -> list[Violation]:
    """What `module` (with this source) imports against the contract."""
    found: list[Violation] = []
    in_runtime = module == "pipeline.deploy" or module.startswith("pipeline.deploy.")
    for line, name in imports(source, module, is_package):
        top = name.split(".")[0]
        if in_runtime:
            if top in STDLIB or name == "pipeline.deploy" or name.startswith("pipeline.deploy."):
                continue
            found.append(
                Violation(module, line, name, "the deploy runtime uses only the standard library")
            )
        elif module not in DAGGER_SIDE:
            if top == "dagger":
                found.append(Violation(module, line, name, "the core never imports dagger"))
            elif _within(name, DAGGER_SIDE):
                found.append(
                    Violation(module, line, name, "the core never imports the Dagger side")
                )
    return found


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_keeps_its_layer(path: Path) -> None:
    module = module_name(path)
    found = violations(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    assert found == [], "\n".join(str(v) for v in found)


def test_the_lists_name_existing_modules_and_cover_the_top_level() -> None:
    top_level = {module_name(p) for p in PACKAGE.glob("*.py")}
    assert DAGGER_SIDE | CORE <= top_level, sorted((DAGGER_SIDE | CORE) - top_level)
    assert not DAGGER_SIDE & CORE
    unlisted = top_level - DAGGER_SIDE - CORE
    assert unlisted == set(), f"classify {sorted(unlisted)} in tests/module/test_layers.py"
    assert (RUNTIME / "__main__.py").is_file()  # the runtime is one package


def test_the_dagger_side_really_imports_dagger() -> None:
    """Guards the walk itself: it sees the imports that are there."""
    for module in DAGGER_SIDE - {"pipeline"}:
        path = PACKAGE / f"{module.split('.', 1)[1]}.py"
        names = {n for _, n in imports(path.read_text(encoding="utf-8"), module)}
        assert any(n.split(".")[0] == "dagger" or _within(n, DAGGER_SIDE) for n in names), module


# ---- the check can fail: sources with a bad import ---------------------------------


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("pipeline.config", "import dagger\n", "the core never imports dagger"),
        (
            "pipeline.plans",
            "def f():\n    from dagger import dag\n",
            "the core never imports dagger",
        ),
        (
            "pipeline.policy",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import dagger.client\n",
            "the core never imports dagger",
        ),
        (
            "pipeline.lint",
            "from pipeline.stages import Ctx\n",
            "the core never imports the Dagger side",
        ),
        (
            "pipeline.newcore",
            "from .containers import with_ca\n",
            "the core never imports the Dagger side",
        ),
        (
            "pipeline.deploy.kube",
            "import yaml\n",
            "the deploy runtime uses only the standard library",
        ),
        (
            "pipeline.deploy.actions",
            "from pipeline.config import load_config\n",
            "the deploy runtime uses only the standard library",
        ),
        (
            "pipeline.deploy.helm",
            "from .. import config\n",
            "the deploy runtime uses only the standard library",
        ),
        (
            "pipeline.deploy.verify",
            "import dagger\n",
            "the deploy runtime uses only the standard library",
        ),
    ],
)
def test_a_bad_import_is_reported(module: str, source: str, rule: str) -> None:
    (found,) = violations(source, module)
    assert found.rule == rule and found.module == module


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("pipeline.deploy.actions", "import json\nfrom . import helm\nfrom .kube import get\n"),
        ("pipeline.deploy", "from pipeline.deploy.request import APPS\n"),
        ("pipeline.config", "import yaml\nfrom pipeline.deploy.request import Strategy\n"),
        ("pipeline.stages", "import dagger\n"),
    ],
)
def test_allowed_imports_pass(module: str, source: str) -> None:
    assert violations(source, module, is_package=module == "pipeline.deploy") == []
