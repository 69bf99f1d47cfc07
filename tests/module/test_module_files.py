"""dagger.json and pyproject.toml follow the module conventions of DESIGN.md."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT.parent / "shared" / "dagger" / "dagger.json.schema.json"


def test_dagger_json_matches_the_schema_and_pins_the_engine() -> None:
    assert SCHEMA.is_file(), f"missing {SCHEMA} (../shared/dagger/dagger.json.schema.json)"
    config = json.loads((ROOT / "dagger.json").read_text())
    jsonschema.validate(config, json.loads(SCHEMA.read_text()))
    assert config == {"name": "pipeline", "engineVersion": "v0.21.11", "sdk": {"source": "python"}}


def test_pyproject_is_the_module_package() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    assert project["name"] == "pipeline" and project["requires-python"] == ">=3.11"
    deps = " ".join(project["dependencies"])
    for dep in ("dagger-io", "anyio", "pydantic", "pyyaml"):
        assert dep in deps
    assert data["build-system"]["build-backend"] == "uv_build"
    assert data["tool"]["uv"]["sources"]["dagger-io"] == {"path": "sdk", "editable": True}
    assert (ROOT / "src" / "pipeline" / "__init__.py").is_file()
    pytest_opts = data["tool"]["pytest"]["ini_options"]
    assert (
        pytest_opts["testpaths"] == ["tests"]
        and pytest_opts["addopts"] == "--import-mode=importlib"
    )


def test_generated_sdk_is_git_ignored() -> None:
    assert "/sdk/" in (ROOT / ".gitignore").read_text().splitlines()
