"""The deploy @functions: registration through the SDK's loader and schema-validated execution
through the module helper's harness (tests/module/module_dagger_harness.py; no engine runs here).

Asserted on the queries the module would send: the kubeconfig and the smoke token travel only
as Secret IDs (mounted file / secret variable), never in a query as plaintext or on a command
line; every function is cache="never"; the orchestrator CLI runs in a container with the pinned
tools; `--env local` binds a k3s service.
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
SECRET = dagger.Secret | None
FILE = dagger.File | None
KUBECONFIG_ID = h.secret_id("kubeconfig")
TOKEN_ID = h.secret_id("smoke-token")
DIGEST = "sha256:" + "e" * 64
BACKEND = f"ghcr.io/blog-creator-agent/blog-creator-agent/backend@{DIGEST}"
FRONTEND = f"ghcr.io/blog-creator-agent/blog-creator-agent/frontend@{DIGEST}"
# The release reports the tests pass (by File ID): what `release` writes, scan passed.
RELEASE_JSON = json.dumps(
    {
        "images": {"backend": {"ref": BACKEND}, "frontend": {"ref": FRONTEND}},
        "scan": {"passed": True},
    }
)
RELEASE_FILES = {"release-file-id": RELEASE_JSON, "r": RELEASE_JSON}
# Approval evidence of prod (pipeline.yaml github_environment: production).
APPROVAL = {
    "approval_environment": "production",
    "approval_run_url": "https://github.com/o/r/actions/runs/1",
    "approval_actor": "alice",
}
APPROVAL_SURFACE: list[tuple[str, Any, str | None]] = [
    ("approval_environment", str, '""'),
    ("approval_run_url", str, '""'),
    ("approval_actor", str, '""'),
]

COMMON: list[tuple[str, Any, str | None]] = [
    ("env", str, None),
    ("kubeconfig", SECRET, "null"),
    ("context", str, '""'),
]
# deploy, promote, abort, rollback: --fail-on-error=false returns the report of a failure
FAIL_ON_ERROR: tuple[str, Any, str | None] = ("fail_on_error", bool, "true")
SURFACE: dict[str, list[tuple[str, Any, str | None]]] = {
    "deploy": [
        *COMMON,
        ("backend_image", str, '""'),
        ("frontend_image", str, '""'),
        ("release_report", FILE, "null"),
        ("cosign_key", FILE, "null"),
        ("cosign_identity", str, '""'),
        ("cosign_issuer", str, '""'),
        ("approved_by", str, '""'),
        *APPROVAL_SURFACE,
        ("smoke_token", SECRET, "null"),
        ("smoke_api_path", str, '""'),
        ("dry_run", bool, "false"),
        ("commit_time", str, '""'),
        FAIL_ON_ERROR,
    ],
    "promote": [
        *COMMON,
        ("full", bool, "false"),
        ("smoke_token", SECRET, "null"),
        *APPROVAL_SURFACE,
        FAIL_ON_ERROR,
    ],
    "abort": [*COMMON, FAIL_ON_ERROR],
    "rollback": [*COMMON, ("revision", int, "0"), ("smoke_token", SECRET, "null"), FAIL_ON_ERROR],
    "status": COMMON,
    "diff": [
        *COMMON,
        ("backend_image", str, '""'),
        ("frontend_image", str, '""'),
        ("release_report", FILE, "null"),
    ],
}
RETURNS = {
    "deploy": dagger.Directory,
    "promote": dagger.Directory,
    "abort": dagger.Directory,
    "rollback": dagger.Directory,
    "status": str,
    "diff": str,
}


# ---- registration -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SURFACE))
def test_arguments_types_defaults_and_return(name: str) -> None:
    fn = PIPELINE.functions[name]
    assert [(p.name, p.resolved_type, p.default_value) for p in fn.parameters.values()] == SURFACE[
        name
    ]
    assert fn.return_type == RETURNS[name]


@pytest.mark.parametrize("name", sorted(SURFACE))
def test_every_deploy_function_is_never_cached(name: str) -> None:
    assert PIPELINE.functions[name].cache_policy == "never"


@pytest.mark.parametrize("name", sorted(SURFACE))
def test_docs_read_as_cli_help(name: str) -> None:
    fn = PIPELINE.functions[name]
    assert fn.doc and len(fn.doc) > 30
    for param in fn.parameters.values():
        assert param.doc and len(param.doc) > 10, f"{name} --{param.name} needs Doc(...)"


def test_typedefs_register_against_the_schema() -> None:
    engine = h.FakeEngine()
    anyio.run(h.typedefs, engine)
    registered = {c.args["name"] for c in engine.calls("withFunction") if "name" in c.args}
    names = {c.args.get("name") for c in engine.calls("function")}
    assert set(SURFACE) <= registered | names


# ---- execution ----------------------------------------------------------------------


def run(
    fn: str,
    inputs: dict[str, Any],
    resolvers: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
) -> tuple[Any, h.FakeEngine]:
    engine = h.FakeEngine(files={**RELEASE_FILES, **(files or {})}, resolvers=resolvers)
    result = anyio.run(h.call, engine, fn, inputs, h.pipeline_state())
    return result, engine


def run_error(
    fn: str,
    inputs: dict[str, Any],
    resolvers: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
) -> tuple[str, h.FakeEngine]:
    engine = h.FakeEngine(files={**RELEASE_FILES, **(files or {})}, resolvers=resolvers)
    with pytest.raises(Exception) as caught:
        anyio.run(h.call, engine, fn, inputs, h.pipeline_state())
    return str(caught.value), engine


# The deploy runtime, and its two-deploy rehearsal of `--env local` (pipeline.deploy.rehearse).
RUNTIME = ["python", "-m", "pipeline.deploy"]
REHEARSAL = ["python", "-m", "pipeline.deploy.rehearse"]


def orchestrator_exec(engine: h.FakeEngine) -> list[str]:
    """The one orchestrator command (each query of the lazy chain repeats the same exec)."""
    runs = {
        tuple(c.args["args"])
        for c in engine.calls("withExec")
        if c.args["args"][:3] in (RUNTIME, REHEARSAL)
    }
    assert len(runs) == 1, runs
    return list(next(iter(runs))[3:])


def distinct(engine: h.FakeEngine, field: str, *keys: str) -> set[tuple[Any, ...]]:
    return {tuple(c.args.get(k) for k in keys) for c in engine.calls(field)}


def new_file(engine: h.FakeEngine, path: str) -> str:
    found = [c.args["contents"] for c in engine.calls("withNewFile") if c.args["path"] == path]
    assert found, f"no withNewFile({path!r})"
    return found[-1]


def assert_secrets_only_as_ids(engine: h.FakeEngine) -> None:
    assert engine.calls("setSecret") == [], "a plaintext secret was put into a query"
    for call in engine.calls("withEnvVariable"):
        assert not any(
            w in call.args["name"].upper() for w in ("TOKEN", "SECRET", "KUBECONFIG", "PASSWORD")
        )
    for call in engine.calls("withExec"):
        assert KUBECONFIG_ID not in call.args["args"] and TOKEN_ID not in call.args["args"]


def test_deploy_staging_mounts_kubeconfig_secret_and_runs_the_orchestrator() -> None:
    inputs = {
        "env": "staging",
        "kubeconfig": KUBECONFIG_ID,
        "release_report": "release-file-id",
        "smoke_token": TOKEN_ID,
        "smoke_api_path": "/api/v1/auth/me",
        "cosign_key": "cosign-pub-id",
    }
    _, engine = run("deploy", inputs)
    assert distinct(engine, "withMountedSecret", "path", "source") == {
        (KUBECONFIG_PATH, KUBECONFIG_ID)
    }
    assert distinct(engine, "withSecretVariable", "name", "secret") == {
        ("DEPLOY_SMOKE_TOKEN", TOKEN_ID)
    }
    args = orchestrator_exec(engine)
    assert args[0] == "deploy"
    assert args[args.index("--kubeconfig") + 1] == KUBECONFIG_PATH
    assert args[args.index("--release-report") + 1] == "/deploy/release.json"
    assert args[args.index("--cosign-key") + 1] == "/deploy/cosign.pub"
    assert "--dry-run" not in args
    target = json.loads(new_file(engine, "/deploy/target.json"))
    assert (
        target["env"],
        target["namespace"],
        target["strategy"],
        target["require_signature"],
    ) == ("staging", "blog-staging", "blueGreen", True)
    assert target["smoke_checks"][-1] == {
        "name": "api",
        "path": "/api/v1/auth/me",
        "authenticated": True,
    }
    assert_secrets_only_as_ids(engine)


def test_tools_container_downloads_pinned_tools_and_copies_the_runtime() -> None:
    # staging: blueGreen (the Rollouts plugin) with signatures (cosign) needs every tool
    _, engine = run(
        "deploy",
        {
            "env": "staging",
            "kubeconfig": KUBECONFIG_ID,
            "backend_image": BACKEND,
            "frontend_image": FRONTEND,
            "release_report": "r",
        },
    )
    urls = {c.args["url"] for c in engine.calls("http")}
    assert urls == set(tool_urls("amd64").values())
    # the whole runtime package, no file list to keep in sync
    assert {c.args["path"] for c in engine.calls("withDirectory", "Directory")} >= {
        "pipeline/deploy"
    }
    assert "src/pipeline/deploy" in {c.args["path"] for c in engine.calls("directory", "Directory")}
    assert any(
        c.args["name"] == "PIPELINE_RUN" for c in engine.calls("withEnvVariable")
    )  # never from cache
    args = orchestrator_exec(engine)
    assert args[args.index("--backend-image") + 1] == BACKEND
    assert args[args.index("--frontend-image") + 1] == FRONTEND


def test_deploy_failure_raises_with_the_report() -> None:
    report = "# deploy `staging`: rolled-back\n\ndeploy failed (helm test failed); rolled back to revision 4"
    resolvers = {
        "Container.exitCode": lambda call: 1,
        "Container.stdout": lambda call: report,
        "Container.stderr": lambda call: "",
    }
    inputs = {"env": "staging", "kubeconfig": KUBECONFIG_ID, "release_report": "r"}
    message, _ = run_error("deploy", inputs, resolvers)
    assert "deploy --env staging failed (exit 1)" in message
    assert "rolled back to revision 4" in message


def test_dry_run_needs_no_kubeconfig() -> None:
    _, engine = run(
        "deploy",
        {"env": "prod", "dry_run": True, "approved_by": "alice", "release_report": "r", **APPROVAL},
    )
    args = orchestrator_exec(engine)
    assert "--dry-run" in args and "--kubeconfig" not in args
    assert args[args.index("--approved-by") + 1] == "alice"
    assert engine.calls("withMountedSecret") == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"backend_image": "ghcr.io/acme/backend:latest", "frontend_image": FRONTEND},
            "backend image ghcr.io/acme/backend:latest is a tag; environment 'staging' "
            + "deploys images by digest only",
        ),
        ({}, "--backend-image: no image for backend; pass --backend-image REPO@sha256:<digest>"),
        (
            {"release_report": "bad"},
            "--release-report: not valid JSON",
        ),
    ],
)
def test_dry_run_checks_its_inputs_before_any_download(
    inputs: dict[str, Any], message: str
) -> None:
    """issue 18: a missing digest is reported before kubectl, the plugin, cosign or helm is
    downloaded, and before any container runs."""
    error, engine = run_error(
        "deploy", {"env": "staging", "dry_run": True, **inputs}, files={"bad": "{not json"}
    )
    assert message in error
    assert engine.calls("http") == [] and engine.calls("withExec") == []


@pytest.mark.parametrize(
    ("env", "tools"),
    [
        ("dev", {"helm"}),  # render only
        ("prod", {"helm", "cosign"}),  # render + signature gates
        ("local", {"helm"}),  # and no throwaway cluster is started for a render
    ],
)
def test_dry_run_downloads_only_what_it_runs(env: str, tools: set[str]) -> None:
    inputs = {
        "env": env,
        "dry_run": True,
        "release_report": "r",
        "approved_by": "alice",
        **APPROVAL,
    }
    _, engine = run("deploy", inputs)
    urls = {c.args["url"] for c in engine.calls("http")}
    assert urls == {tool_urls("amd64")[t] for t in tools}  # type: ignore[index]
    assert engine.calls("asService") == [] and engine.calls("withServiceBinding") == []
    assert "--kubeconfig" not in orchestrator_exec(engine)


def test_local_rehearsal_binds_a_k3s_service_and_uses_its_kubeconfig() -> None:
    _, engine = run("deploy", {"env": "local", "release_report": "r"})
    services = {
        tuple(c.args["args"])
        for c in engine.calls("asService")
        if c.args.get("insecureRootCapabilities")
    }
    assert len(services) == 1
    assert "k3s server" in new_file(engine, " ".join(next(iter(services))))
    assert {c.args["alias"] for c in engine.calls("withServiceBinding")} == {"k3s"}
    assert any(c.args["address"].startswith("rancher/k3s:") for c in engine.calls("from"))
    assert engine.calls("withMountedSecret") == []
    # its kubeconfig: fetched by the orchestrator itself (tests/deploy/test_local_kubeconfig.py)
    assert "--kubeconfig-from" in orchestrator_exec(engine)
    target = json.loads(new_file(engine, "/deploy/target.json"))
    assert target["ephemeral"] is True and target["values_file"] == "k8s/environments/local.yaml"
    assert "--kubeconfig" in orchestrator_exec(engine)


@pytest.mark.parametrize(
    ("fn", "inputs", "message"),
    [
        (
            "deploy",
            {"env": "qa", "kubeconfig": KUBECONFIG_ID},
            "--env 'qa': unknown environment; choose one of: local, dev, staging, prod",
        ),
        ("deploy", {"env": "staging"}, "--kubeconfig: required for `deploy --env staging`"),
        ("rollback", {"env": "local"}, "a throwaway cluster lives only for one `deploy` call"),
        (
            "deploy",
            {"env": "dev", "kubeconfig": KUBECONFIG_ID, "smoke_api_path": "me"},
            "--smoke-api-path: 'me' must be a URL path starting with '/'",
        ),
        ("status", {"env": "prod"}, "--kubeconfig: required for `status --env prod`"),
    ],
)
def test_bad_input_stops_before_any_container(
    fn: str, inputs: dict[str, Any], message: str
) -> None:
    error, engine = run_error(fn, inputs)
    assert message in error
    assert engine.calls("withExec") == [] and engine.calls("http") == []


@pytest.mark.parametrize(
    ("fn", "inputs", "expected"),
    [
        ("promote", {"full": True, **APPROVAL}, ["promote", "--full", "--approval-actor"]),
        ("abort", {}, ["abort"]),
        ("rollback", {"revision": 3}, ["rollback", "--revision", "3"]),
        ("status", {}, ["status"]),
        (
            "diff",
            {"backend_image": BACKEND, "frontend_image": FRONTEND},
            ["diff", "--backend-image", BACKEND],
        ),
    ],
)
def test_operations_pass_their_flags(fn: str, inputs: dict[str, Any], expected: list[str]) -> None:
    result, engine = run(
        fn,
        {"env": "prod", "kubeconfig": KUBECONFIG_ID, **inputs},
        resolvers={"Container.stdout": lambda call: "# status `prod`: succeeded\n"},
    )
    args = orchestrator_exec(engine)
    assert args[0] == expected[0]
    for flag in expected[1:]:
        assert flag in args
    if fn in ("status", "diff"):
        assert result == "# status `prod`: succeeded\n"
    assert distinct(engine, "withMountedSecret", "source") == {(KUBECONFIG_ID,)}
    assert_secrets_only_as_ids(engine)
