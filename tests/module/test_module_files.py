"""dagger.json and pyproject.toml follow the module conventions of DESIGN.md."""

from __future__ import annotations

import json
import re
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


def test_module_runtime_image_is_pinned_by_digest_and_matches_the_dockerfiles() -> None:
    """The SDK reads [tool.dagger] base-image; a tag alone would float (issue: real engine)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    base = data["tool"]["dagger"]["base-image"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim@sha256:[0-9a-f]{64}", base), base
    backend = (ROOT / "dockerfiles" / "backend.Dockerfile").read_text()
    assert f"ARG PYTHON_IMAGE={base}" in backend, "one Python base image for module and images"
    # requires-python stays the lower bound the tests import the module with
    assert data["project"]["requires-python"] == ">=3.11"


def test_generated_sdk_is_git_ignored() -> None:
    assert "/sdk/" in (ROOT / ".gitignore").read_text().splitlines()
