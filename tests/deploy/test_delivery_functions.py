"""The `metrics` @function: registration through the SDK's loader and schema-validated execution
through the module harness (tests/module/module_dagger_harness.py; no engine runs here).

Asserted on the queries the module would send: the kubeconfig travels only as a Secret ID
(mounted file), the metrics CLI of the runtime runs with kubectl only, nothing is cached,
and bad input stops before any container.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import dagger
import module_dagger_harness as h
import pytest

from pipeline.deploy_container import KUBECONFIG_PATH, tool_urls

MOD = h.load_pipeline_module()
PIPELINE = MOD._objects["Pipeline"]
KUBECONFIG_ID = h.secret_id("kubeconfig")


def test_metrics_surface_docs_and_cache_policy() -> None:
    fn = PIPELINE.functions["metrics"]
    assert [(p.name, p.resolved_type, p.default_value) for p in fn.parameters.values()] == [
        ("env", str, None),
        ("kubeconfig", dagger.Secret | None, "null"),
        ("context", str, '""'),
        ("days", int, "30"),
    ]
    assert fn.return_type is str
    assert fn.cache_policy == "never"  # the history changes with every deploy
    assert fn.doc and fn.doc.splitlines()[0].endswith(".")


def run(inputs: dict[str, Any]) -> tuple[Any, h.FakeEngine]:
    engine = h.FakeEngine()
    return anyio.run(h.call, engine, "metrics", inputs, h.pipeline_state()), engine


def test_metrics_mounts_the_kubeconfig_and_runs_the_metrics_cli_with_kubectl_only() -> None:
    _, engine = run({"env": "prod", "kubeconfig": KUBECONFIG_ID, "days": 7})
    mounts = {(c.args["path"], c.args["source"]) for c in engine.calls("withMountedSecret")}
    assert mounts == {(KUBECONFIG_PATH, KUBECONFIG_ID)}
    runs = {
        tuple(c.args["args"])
        for c in engine.calls("withExec")
        if c.args["args"][:3] == ["python", "-m", "pipeline.deploy.metrics"]
    }
    assert len(runs) == 1, runs
    args = list(next(iter(runs))[3:])
    assert args[args.index("--namespace") + 1] == "blog-prod"
    assert args[args.index("--release") + 1] == "blog-creator"
    assert args[args.index("--days") + 1] == "7"
    assert args[args.index("--kubeconfig") + 1] == KUBECONFIG_PATH
    assert KUBECONFIG_ID not in args
    assert {c.args["url"] for c in engine.calls("http")} == {tool_urls("amd64")["kubectl"]}
    assert engine.calls("setSecret") == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"env": "prod"}, "--kubeconfig: required for `metrics --env prod`"),
        ({"env": "prod", "kubeconfig": KUBECONFIG_ID, "days": 0}, "--days: 0 must be 1..3650"),
        (
            {"env": "local", "kubeconfig": KUBECONFIG_ID},
            "a throwaway cluster keeps no deploy history",
        ),
        ({"env": "qa", "kubeconfig": KUBECONFIG_ID}, "--env 'qa'"),
    ],
)
def test_bad_metrics_input_stops_before_any_container(inputs: dict[str, Any], message: str) -> None:
    engine = h.FakeEngine()
    with pytest.raises(Exception) as caught:
        anyio.run(h.call, engine, "metrics", inputs, h.pipeline_state())
    assert message in str(caught.value)
    assert engine.calls("withExec") == [] and engine.calls("http") == []


def test_deploy_passes_commit_commit_time_and_the_history_limit_to_the_runtime() -> None:
    digest = "sha256:" + "e" * 64
    engine = h.FakeEngine()
    inputs = {
        "env": "dev",
        "kubeconfig": KUBECONFIG_ID,
        "backend_image": f"ghcr.io/blog-creator-agent/blog-creator-agent/backend@{digest}",
        "frontend_image": f"ghcr.io/blog-creator-agent/blog-creator-agent/frontend@{digest}",
        "commit_time": "2026-12-01T09:00:00Z",
    }
    state = h.pipeline_state(revision="c0ffee" * 6 + "c0ff")
    anyio.run(h.call, engine, "deploy", inputs, state)
    runs = [
        c.args["args"]
        for c in engine.calls("withExec")
        if c.args["args"][:4] == ["python", "-m", "pipeline.deploy", "deploy"]
    ]
    args = runs[-1]
    assert args[args.index("--commit") + 1] == "c0ffee" * 6 + "c0ff"
    assert args[args.index("--commit-time") + 1] == "2026-12-01T09:00:00Z"
    assert args[args.index("--history-limit") + 1] == "200"  # pipeline.yaml metrics


# ---- preview, preview-down, preview-gc ------------------------------------------------

DIGEST = "sha256:" + "e" * 64
REPO = "ghcr.io/blog-creator-agent/blog-creator-agent"
PREVIEW_SURFACE: dict[str, list[tuple[str, Any, str | None]]] = {
    "preview": [
        ("pr", int, None),
        ("kubeconfig", dagger.Secret | None, "null"),
        ("registry_username", str, '""'),
        ("registry_password", dagger.Secret | None, "null"),
        ("backend_image", str, '""'),
        ("frontend_image", str, '""'),
        ("ttl", str, '""'),
        ("context", str, '""'),
    ],
    "preview_down": [
        ("pr", int, None),
        ("kubeconfig", dagger.Secret | None, "null"),
        ("context", str, '""'),
    ],
    "preview_gc": [("kubeconfig", dagger.Secret | None, "null"), ("context", str, '""')],
}


@pytest.mark.parametrize("name", sorted(PREVIEW_SURFACE))
def test_preview_functions_surface_and_cache_policy(name: str) -> None:
    fn = PIPELINE.functions[name]
    got = [(p.name, p.resolved_type, p.default_value) for p in fn.parameters.values()]
    assert got == PREVIEW_SURFACE[name]
    assert fn.cache_policy == "never"
    assert fn.doc and fn.doc.splitlines()[0].endswith(".")


def preview_exec(engine: h.FakeEngine) -> list[str]:
    runs = {
        tuple(c.args["args"])
        for c in engine.calls("withExec")
        if c.args["args"][:3] == ["python", "-m", "pipeline.deploy.preview_cli"]
    }
    assert len(runs) == 1, runs
    return list(next(iter(runs))[3:])


def call(fn: str, inputs: dict[str, Any], **state: Any) -> h.FakeEngine:
    engine = h.FakeEngine()
    anyio.run(h.call, engine, fn, inputs, h.pipeline_state(**state))
    return engine


def test_preview_of_given_digests_runs_up_with_the_settings_of_pipeline_yaml() -> None:
    engine = call(
        "preview",
        {
            "pr": 7,
            "kubeconfig": KUBECONFIG_ID,
            "backend_image": f"{REPO}/backend@{DIGEST}",
            "frontend_image": f"{REPO}/frontend@{DIGEST}",
            "ttl": "2d",
        },
    )
    args = preview_exec(engine)
    assert args[:1] == ["up"]
    assert args[args.index("--pr") + 1] == "7"
    assert args[args.index("--ttl") + 1] == f"{2 * 24 * 60}m"
    assert args[args.index("--backend-image") + 1] == f"{REPO}/backend@{DIGEST}"
    assert args[args.index("--kubeconfig") + 1] == KUBECONFIG_PATH
    settings = json.loads(
        next(
            c.args["contents"]
            for c in engine.calls("withNewFile")
            if c.args["path"] == "/deploy/preview.json"
        )
    )
    assert settings["domain"] == "preview.blog-creator.example.com"
    assert settings["context"] == "blog-dev"
    assert settings["values_file"] == "k8s/environments/dev.yaml"
    assert settings["quota"]["pods"] == "8"
    mounts = {(c.args["path"], c.args["source"]) for c in engine.calls("withMountedSecret")}
    assert mounts == {(KUBECONFIG_PATH, KUBECONFIG_ID)}
    urls = {c.args["url"] for c in engine.calls("http")}
    assert urls == {tool_urls("amd64")["helm"], tool_urls("amd64")["kubectl"]}
    assert engine.calls("publish") == []  # given digests: nothing built or pushed


def test_preview_without_digests_builds_and_pushes_pr_tags() -> None:
    revision = "0123456789abcdef0123456789abcdef01234567"
    engine = call(
        "preview",
        {
            "pr": 7,
            "kubeconfig": KUBECONFIG_ID,
            "registry_username": "bot",
            "registry_password": h.secret_id("registry"),
        },
        revision=revision,
    )
    addresses = sorted(c.args["address"] for c in engine.calls("publish"))
    assert addresses == [f"{REPO}/backend:pr-7-0123456789ab", f"{REPO}/frontend:pr-7-0123456789ab"]
    args = preview_exec(engine)
    assert "@sha256:" in args[args.index("--backend-image") + 1]  # deployed by digest


@pytest.mark.parametrize(
    ("fn", "inputs", "message"),
    [
        ("preview", {"pr": 7}, "--kubeconfig: required for previews"),
        ("preview", {"pr": 0, "kubeconfig": KUBECONFIG_ID}, "--pr: 0 must be a pull request"),
        ("preview", {"pr": 7, "kubeconfig": KUBECONFIG_ID, "ttl": "30d"}, "--ttl: 720 h"),
        ("preview", {"pr": 7, "kubeconfig": KUBECONFIG_ID, "context": "prod"}, "not the preview cluster"),
        ("preview", {"pr": 7, "kubeconfig": KUBECONFIG_ID}, "--registry-username and --registry-password"),
        ("preview", {"pr": 7, "kubeconfig": KUBECONFIG_ID, "registry_username": "bot",
                     "registry_password": h.secret_id("registry")}, "--revision: previews push images"),
        ("preview_down", {"pr": 7}, "--kubeconfig: required for previews"),
        ("preview_gc", {"kubeconfig": KUBECONFIG_ID, "context": "other"}, "not the preview cluster"),
    ],
)  # fmt: skip
def test_bad_preview_input_stops_before_any_container(
    fn: str, inputs: dict[str, Any], message: str
) -> None:
    engine = h.FakeEngine()
    with pytest.raises(Exception) as caught:
        anyio.run(h.call, engine, fn, inputs, h.pipeline_state())
    assert message in str(caught.value)
    assert engine.calls("withExec") == [] and engine.calls("publish") == []


@pytest.mark.parametrize(
    ("fn", "inputs", "expected"),
    [
        ("preview_down", {"pr": 9}, ["down", "--pr", "9"]),
        ("preview_gc", {}, ["gc"]),
    ],
)
def test_down_and_gc_run_with_kubectl_only(
    fn: str, inputs: dict[str, Any], expected: list[str]
) -> None:
    engine = call(fn, {"kubeconfig": KUBECONFIG_ID, **inputs})
    args = preview_exec(engine)
    assert args[0] == expected[0] and all(a in args for a in expected)
    assert {c.args["url"] for c in engine.calls("http")} == {tool_urls("amd64")["kubectl"]}
