"""Registration through the SDK's own loader: the exact function surface of the module."""

from __future__ import annotations

from typing import Any

import anyio
import dagger
import module_dagger_harness as h
import pytest

MOD = h.load_pipeline_module()
PIPELINE = MOD._objects["Pipeline"]
OPTIONAL_SECRET = dagger.Secret | None

# name -> [(arg, type, default as the SDK sends it (JSON) or None when required)]
SURFACE: dict[str, list[tuple[str, Any, str | None]]] = {
    "build": [],
    "lint": [],
    "test": [("fail_on_error", bool, "true")],
    "scan": [
        ("images", list[str] | None, "null"),
        ("refresh_db", bool, "false"),
        ("registry_username", str, '""'),
        ("registry_password", OPTIONAL_SECRET, "null"),
        ("fail_on_error", bool, "true"),
        ("trivy_db", dagger.Directory | None, "null"),
    ],
    "sbom": [],
    "push": [("registry_username", str, None), ("registry_password", dagger.Secret, None)],
    "sign": [
        ("images", list[str], None),
        ("registry_username", str, None),
        ("registry_password", dagger.Secret, None),
        ("cosign_key", OPTIONAL_SECRET, "null"),
        ("cosign_password", OPTIONAL_SECRET, "null"),
        ("oidc_token", OPTIONAL_SECRET, "null"),
        ("sbom", dagger.Directory | None, "null"),
    ],
    "ci": [("fail_on_error", bool, "true")],
    "release": [
        ("registry_username", str, None),
        ("registry_password", dagger.Secret, None),
        ("cosign_key", OPTIONAL_SECRET, "null"),
        ("cosign_password", OPTIONAL_SECRET, "null"),
        ("oidc_token", OPTIONAL_SECRET, "null"),
    ],
    "serve": [("jwt_secret", OPTIONAL_SECRET, "null"), ("elasticsearch", bool, "false")],
    "load_test": [
        ("url", str, None),
        ("token", OPTIONAL_SECRET, "null"),
        ("paths", list[str] | None, "null"),
        ("users", int, "20"),
        ("spawn_rate", int, "5"),
        ("duration", str, '"1m"'),
        ("max_error_rate", float, "0.01"),
        ("max_p95_ms", float, "1000"),
        ("fail_on_error", bool, "true"),
    ],
}
RETURNS = {
    "build": "Images",
    "lint": str,
    "test": dagger.Directory,
    "scan": dagger.Directory,
    "sbom": dagger.Directory,
    "push": str,
    "sign": str,
    "ci": dagger.Directory,
    "release": dagger.Directory,
    "serve": dagger.Service,
    "load_test": dagger.Directory,
}
SIDE_EFFECTS = {"push", "sign", "release", "load_test"}
# Functions the deploy issue adds to the same object (owned by the deploy suite).
DEPLOY_FUNCTIONS = {"deploy", "promote", "abort", "rollback", "status", "diff"}
# Delivery metrics and preview environments (issue 16; tests/deploy/test_delivery_functions.py).
DELIVERY_FUNCTIONS = {"metrics", "preview", "preview_down", "preview_gc"}


def test_loader_finds_the_main_object_and_its_types() -> None:
    assert MOD.main_cls.__name__ == "Pipeline"
    assert {"Pipeline", "Images"} <= set(MOD._objects)
    assert set(MOD._enums) >= {"App"}
    assert {m.name: m.value for m in MOD._enums["App"]} == {
        "BACKEND": "backend",
        "FRONTEND": "frontend",
    }


def test_function_names_are_exactly_the_issue_surface() -> None:
    names = set(PIPELINE.functions) - {""}  # "" is the constructor once it was resolved
    assert set(SURFACE) <= names
    assert names - set(SURFACE) <= DEPLOY_FUNCTIONS | DELIVERY_FUNCTIONS, names - set(SURFACE)


@pytest.mark.parametrize("name", sorted(SURFACE))
def test_arguments_types_and_defaults(name: str) -> None:
    fn = PIPELINE.functions[name]
    got = [(p.name, p.resolved_type, p.default_value) for p in fn.parameters.values()]
    assert got == SURFACE[name]
    expected = RETURNS[name]
    ret = fn.return_type
    assert (ret.__name__ if isinstance(expected, str) else ret) == expected


@pytest.mark.parametrize("name", sorted(PIPELINE.functions))
def test_docs_on_every_function_and_argument(name: str) -> None:
    fn = PIPELINE.functions[name]
    assert fn.doc and len(fn.doc) > 20, f"{name} needs a docstring that reads as CLI help"
    for param in fn.parameters.values():
        assert param.doc and len(param.doc) > 10, f"{name} --{param.name} needs Doc(...)"
        # `dagger call --help` takes a backticked word of an argument's doc as its value name
        assert "`" not in param.doc, f"{name} --{param.name}: no backticks in Doc(...)"
    # `dagger call --help` lists the first line of each docstring: a whole sentence
    first = fn.doc.strip().splitlines()[0]
    assert first.endswith("."), f"{name}: first docstring line is cut mid-sentence: {first!r}"
    assert first[0].isupper(), f"{name}: first docstring line should start a sentence: {first!r}"


@pytest.mark.parametrize("name", sorted(SURFACE))
def test_cache_policy_never_exactly_on_side_effects(name: str) -> None:
    expected = "never" if name in SIDE_EFFECTS else None
    assert PIPELINE.functions[name].cache_policy == expected


def test_constructor_source_default_path_ignore_and_inputs() -> None:
    ctor = PIPELINE.get_constructor(MOD._converter)
    params = ctor.parameters
    assert list(params) == [
        "source",
        "revision",
        "version",
        "build_date",
        "python_image",
        "node_image",
        "ca",
    ]
    source = params["source"]
    assert source.resolved_type is dagger.Directory
    assert source.default_path == "/"
    for pattern in ("**/node_modules", "**/.venv", "**/.next", ".git", "**/__pycache__", "reports"):
        assert pattern in (source.ignore or []), pattern
    assert params["ca"].resolved_type == (dagger.File | None)
    for name in ("revision", "version", "build_date", "python_image", "node_image"):
        assert params[name].resolved_type is str and params[name].default_value == '""'
    assert all(p.doc for p in params.values())


def test_images_object_fields_and_functions() -> None:
    images = MOD._objects["Images"]
    assert set(images.fields) == {"backend", "frontend"}
    assert set(images.functions) >= {"image", "tarballs"}
    assert images.functions["image"].parameters["app"].resolved_type is MOD._enums["App"]


def test_registration_queries_validate_against_the_schema() -> None:
    engine = h.FakeEngine()
    anyio.run(h.typedefs, engine, MOD)
    functions = {c.args["name"] for c in engine.calls("function") if c.parent_type == "Query"}
    assert set(SURFACE) <= functions
    assert {c.args["policy"] for c in engine.calls("withCachePolicy")} == {"Never"}
    policies = {
        c.nearest("function").args["name"]  # type: ignore[union-attr]
        for c in engine.calls("withCachePolicy")
        if c.nearest("function") is not None
    }
    assert SIDE_EFFECTS <= policies
    assert not (policies & (set(SURFACE) - SIDE_EFFECTS))
    source_args = [c for c in engine.calls("withArg") if c.args["name"] == "source"]
    assert source_args and source_args[0].args["defaultPath"] == "/"
    assert "**/node_modules" in source_args[0].args["ignore"]
    enums = {c.args["name"] for c in engine.calls("withEnum", "TypeDef")}
    assert "App" in enums
    members = {c.args["name"] for c in engine.calls("withEnumMember")}
    assert {"BACKEND", "FRONTEND"} <= members
