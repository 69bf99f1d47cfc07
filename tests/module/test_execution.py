"""Schema-validated execution: every function body runs through the SDK's invoke path against
a fake engine that validates each query against ../shared/dagger/schema.graphqls; the
assertions are on the queries the module would send to a real engine."""

from __future__ import annotations

import json
from typing import Any

import anyio
import module_dagger_harness as h
import pytest

REV = "0123456789abcdef0123456789abcdef01234567"
REPO = "ghcr.io/blog-creator-agent/blog-creator-agent"
PASSWORD_ID = h.secret_id("registry-password")
TRIVY_EMPTY = {
    "/out/image-backend.json": '{"Results": []}',
    "/out/image-frontend.json": '{"Results": []}',
    "/out/config.json": '{"Results": []}',
    "/out/secrets.json": '{"Results": []}',
}


def run(
    fn: str,
    inputs: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
    resolvers: dict[str, Any] | None = None,
    **state: Any,
) -> tuple[Any, h.FakeEngine]:
    engine = h.FakeEngine(files={**TRIVY_EMPTY, **(files or {})}, resolvers=resolvers)
    result = anyio.run(h.call, engine, fn, inputs or {}, h.pipeline_state(**state))
    return result, engine


def run_error(
    fn: str,
    inputs: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
    resolvers: dict[str, Any] | None = None,
    **state: Any,
) -> tuple[str, h.FakeEngine]:
    engine = h.FakeEngine(files={**TRIVY_EMPTY, **(files or {})}, resolvers=resolvers)
    with pytest.raises(Exception) as info:
        anyio.run(h.call, engine, fn, inputs or {}, h.pipeline_state(**state))
    return str(info.value), engine


def build_args(call: h.FieldCall) -> dict[str, str]:
    return {a["name"]: a["value"] for a in call.args.get("buildArgs", [])}


def chain_names(call: h.FieldCall) -> list[str]:
    return [a.name for a in call.ancestors()]


def new_file(engine: h.FakeEngine, path: str) -> str:
    found = [c.args["contents"] for c in engine.calls("withNewFile") if c.args["path"] == path]
    assert found, f"no withNewFile({path!r}) in the queries"
    return found[-1]


def assert_no_plaintext_secrets(engine: h.FakeEngine) -> None:
    """Secrets travel only as IDs: no setSecret (except the public proxy CA), no credential
    in an env var or command line."""
    for call in engine.calls("setSecret"):
        assert call.args["name"] == "ca", f"setSecret puts a plaintext into the query: {call.args}"
    for call in engine.calls("withEnvVariable"):
        name = call.args["name"].upper()
        if any(word in name for word in ("PASSWORD", "TOKEN", "SECRET", "KEY")):
            assert call.args["value"] == "", f"credential {name} passed as a plain env var"
    # a Secret ID reaches only the fields made for secrets
    secret_fields = {
        "withSecretVariable",
        "withMountedSecret",
        "withRegistryAuth",
        "node",
        "dockerBuild",
    }
    for query in engine.queries:
        for call in query.calls:
            for value in call.args.values():
                values = value if isinstance(value, list) else [value]
                if any(isinstance(v, str) and v.startswith("secret-id-") for v in values):
                    assert call.name in secret_fields, (
                        f"secret ID passed to {call.name}: {call.args}"
                    )


# ---- build --------------------------------------------------------------------------


def test_build_uses_dockerfile_runtime_targets_with_build_args_concurrently() -> None:
    result, engine = run("build", revision=REV, version="v1.2.3", build_date="2026-01-02T03:04:05Z")
    builds = engine.calls("dockerBuild")
    assert sorted({c.args["dockerfile"] for c in builds}) == [
        "dockerfiles/backend.Dockerfile",
        "dockerfiles/frontend.Dockerfile",
    ]
    for call in builds:
        assert call.args["target"] == "runtime"
        assert build_args(call) == {
            "VCS_REF": REV,
            "VERSION": "v1.2.3",
            "BUILD_DATE": "2026-01-02T03:04:05Z",
        }
        assert call.parent is not None and call.parent.name == "node"
        assert call.parent.args["id"] == "source-directory-id"
    # really evaluated: each image is synced
    synced = [c for c in engine.calls("sync") if c.parent and c.parent.name == "dockerBuild"]
    assert len(synced) == 2
    assert set(result) == {"backend", "frontend"}


def test_build_passes_base_image_overrides_and_proxy_ca_as_build_secret() -> None:
    _, engine = run(
        "build",
        revision=REV,
        python_image="mirror.local/python:3.13-slim",
        node_image="mirror.local/node:22-slim",
        ca="ca-file-id",
        files={"ca-file-id": "-----BEGIN CERTIFICATE-----"},
    )
    builds = engine.calls("dockerBuild")
    for call in builds:
        args = build_args(call)
        assert args["PYTHON_IMAGE"] == "mirror.local/python:3.13-slim"
        assert args["NODE_IMAGE"] == "mirror.local/node:22-slim"
        assert len(call.args["secrets"]) == 1
    ca = engine.calls("setSecret")
    assert ca and {c.args["name"] for c in ca} == {"ca"}
    assert {c.args["plaintext"] for c in ca} == {"-----BEGIN CERTIFICATE-----"}


def test_build_refuses_a_ca_bundle_too_big_or_not_pem() -> None:
    big = "-----BEGIN CERTIFICATE-----\n" + "A" * 130_000
    message, engine = run_error("build", ca="ca-file-id", files={"ca-file-id": big})
    assert "pass only the proxy's CA certificate" in message
    assert engine.calls("setSecret") == [] and engine.calls("dockerBuild") == []
    message, _ = run_error("build", ca="ca-file-id", files={"ca-file-id": "hello"})
    assert "must be a PEM certificate" in message


def test_build_without_overrides_keeps_dockerfile_pinned_base_images() -> None:
    _, engine = run("build")
    for call in engine.calls("dockerBuild"):
        assert "PYTHON_IMAGE" not in build_args(call) and "NODE_IMAGE" not in build_args(call)
        assert build_args(call)["VCS_REF"] == "unknown"
        assert call.args.get("secrets", []) == []


def test_images_object_exports_tarballs_and_chains_images() -> None:
    engine = h.FakeEngine()
    state = {"backend": "backend-ctr-id", "frontend": "frontend-ctr-id"}
    anyio.run(h.call, engine, "tarballs", {}, state, "Images")
    tars = engine.calls("asTarball")
    assert len(tars) == 2
    assert sorted(c.args["path"] for c in engine.calls("withFile")) == [
        "backend.tar",
        "frontend.tar",
    ]
    engine = h.FakeEngine()
    result = anyio.run(h.call, engine, "image", {"app": "FRONTEND"}, state, "Images")
    assert result == "frontend-ctr-id"


# ---- test ---------------------------------------------------------------------------


def test_test_binds_redis_and_elasticsearch_services_and_returns_reports() -> None:
    _, engine = run("test", revision=REV)
    test_builds = [c for c in engine.calls("dockerBuild") if c.args["target"] == "test"]
    assert sorted({c.args["dockerfile"] for c in test_builds}) == [
        "dockerfiles/backend.Dockerfile",
        "dockerfiles/frontend.Dockerfile",
    ]
    bindings = engine.calls("withServiceBinding")
    backend_test_bindings = {
        c.args["alias"]
        for c in bindings
        if any(
            a.name == "dockerBuild"
            and a.args.get("target") == "test"
            and "backend" in a.args["dockerfile"]
            for a in c.ancestors()
        )
    }
    assert backend_test_bindings == {"redis", "elasticsearch"}
    envs = {c.args["name"]: c.args["value"] for c in engine.calls("withEnvVariable")}
    assert envs["REDIS_URL"] == "redis://redis:6379/0"
    assert envs["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    # the services are real containers exposing their ports
    images = {c.args["address"] for c in engine.calls("from")}
    assert any(i.startswith("redis:") for i in images)
    assert any("elasticsearch" in i for i in images)
    ports = {c.args["port"] for c in engine.calls("withExposedPort")}
    assert {6379, 9200, 8000, 3000} <= ports
    # smoke runner bound to backend + frontend services
    smoke = [c for c in engine.calls("withExec") if "/smoke/smoke.py" in c.args["args"]]
    assert smoke and "http://backend:8000/healthz" in smoke[0].args["args"]
    assert "http://frontend:3000/api/health" in smoke[0].args["args"]
    # tests run with expect=ANY so that reports survive failures; reports read from /reports
    default_runs = [c for c in engine.calls("withExec") if c.args.get("useEntrypoint")]
    assert default_runs and all(c.args["expect"] == "ANY" for c in default_runs)
    assert {c.args["path"] for c in engine.calls("directory") if c.parent_type == "Container"} == {
        "/reports"
    }
    summary = json.loads(new_file(engine, "summary.json"))
    assert summary["passed"] is True and len(summary["steps"]) == 3


def test_test_fails_after_reports_when_a_test_fails() -> None:
    failing = {"Container.exitCode": lambda call: 1}
    message, _ = run_error("test", resolvers=failing)
    assert "FAIL  backend tests" in message and "FAIL  frontend unit tests" in message
    _, engine = run("test", {"fail_on_error": False}, resolvers=failing)
    summary = json.loads(new_file(engine, "summary.json"))
    assert summary["passed"] is False
    assert "FAIL" in new_file(engine, "summary.md")


# ---- scan ---------------------------------------------------------------------------

HIGH_VULN = json.dumps(
    {
        "Results": [
            {
                "Target": "app",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": "CVE-2099-0001",
                        "PkgName": "openssl",
                        "InstalledVersion": "3.0.0",
                        "FixedVersion": "3.0.1",
                        "Severity": "HIGH",
                        "Title": "bad bug",
                    }
                ],
            }
        ]
    }
)


def test_scan_runs_trivy_on_images_config_and_secrets_with_cached_db() -> None:
    _, engine = run("scan", revision=REV)
    volumes = {c.args["key"] for c in engine.calls("cacheVolume")}
    assert "pipeline-trivy-db" in volumes
    trivy_runs = [
        c.args["args"] for c in engine.calls("withExec") if c.args["args"][:1] == ["trivy"]
    ]
    kinds = {args[1] for args in trivy_runs}
    assert {"image", "config", "fs", "convert"} <= kinds
    image_inputs = {args[args.index("--input") + 1] for args in trivy_runs if "--input" in args}
    assert image_inputs == {"/images/backend.tar", "/images/frontend.tar"}
    assert any("secret" in args for args in trivy_runs if args[1] == "fs")
    assert any(args[-1] == "/src" for args in trivy_runs if args[1] == "config")
    sarif = [c.args["path"] for c in engine.calls("withFile") if c.args["path"].endswith(".sarif")]
    assert len(sarif) == 4
    assert "Security scan: PASSED" in new_file(engine, "findings.md")
    assert json.loads(new_file(engine, "policy.json"))["passed"] is True


def test_scan_with_a_pre_fetched_db_downloads_nothing() -> None:
    _, engine = run("scan", {"trivy_db": "trivy-db-dir-id"})
    runs = [c.args["args"] for c in engine.calls("withExec") if c.args["args"][:1] == ["trivy"]]
    images = [a for a in runs if a[1] == "image"]
    assert images and all(
        {"--skip-db-update", "--skip-java-db-update", "--offline-scan"} <= set(a) for a in images
    )
    assert all("--skip-check-update" in a for a in runs if a[1] == "config")
    assert not [a for a in runs if "--download-db-only" in a]
    mounts = {c.args["path"]: c.args["source"] for c in engine.calls("withDirectory")}
    assert mounts["/trivy-offline/db"] == "trivy-db-dir-id"
    envs = {c.args["name"]: c.args["value"] for c in engine.calls("withEnvVariable")}
    assert envs["TRIVY_CACHE_DIR"] == "/trivy-offline"
    assert not [c for c in engine.calls("withMountedCache") if "trivy" in c.args["path"]]
    message, engine = run_error("scan", {"trivy_db": "trivy-db-dir-id", "refresh_db": True})
    assert "pass only one" in message and not engine.calls("withExec")


def test_scan_fails_naming_each_finding_that_violates_the_policy() -> None:
    message, _ = run_error("scan", files={"/out/image-backend.json": HIGH_VULN})
    assert "CVE-2099-0001" in message and "openssl" in message and "image backend" in message


def _with_allowlist(expires: str) -> str:
    text = (h.REPO_ROOT / "pipeline.yaml").read_text()
    entry = (
        f"  allowlist:\n    - id: CVE-2099-0001\n      reason: not reachable from our code paths\n"
        f"      expires: {expires}\n"
    )
    assert "  allowlist: []\n" in text
    return text.replace("  allowlist: []\n", entry)


def test_scan_allowlist_accepts_until_expiry_then_fails() -> None:
    files = {"/out/image-backend.json": HIGH_VULN, "pipeline.yaml": _with_allowlist("2999-01-01")}
    _, engine = run("scan", files=files)
    assert "Allowed by the allowlist (1)" in new_file(engine, "findings.md")
    files["pipeline.yaml"] = _with_allowlist("2001-01-01")
    message, _ = run_error("scan", files=files)
    assert "CVE-2099-0001" in message and "expired" in message


def test_scan_of_published_images_pulls_by_digest_with_a_fresh_db() -> None:
    refs = [f"{REPO}/backend@{DIGEST}", f"{REPO}/frontend@{DIGEST}"]
    inputs = {
        "images": refs,
        "refresh_db": True,
        "registry_username": "bot",
        "registry_password": PASSWORD_ID,
    }
    _, engine = run("scan", inputs)
    assert engine.calls("dockerBuild") == []  # nothing is built
    pulled = {c.args["address"] for c in engine.calls("from")}
    assert set(refs) <= pulled
    for call in engine.calls("from"):
        if call.args["address"] in refs:
            auth = call.nearest("withRegistryAuth")
            assert auth is not None and auth.args["secret"] == PASSWORD_ID
    execs = [c.args["args"] for c in engine.calls("withExec")]
    assert ["trivy", "clean", "--vuln-db"] in execs
    assert ["trivy", "image", "--download-db-only"] in execs
    envs = {c.args["name"] for c in engine.calls("withEnvVariable")}
    assert {"PIPELINE_SCAN_DAY", "PIPELINE_DB_REFRESH"} <= envs
    assert_no_plaintext_secrets(engine)


def test_scan_refuses_foreign_or_tagged_images() -> None:
    message, _ = run_error("scan", {"images": [f"{REPO}/backend:latest"]})
    assert "not addressed by digest" in message


# ---- load test ----------------------------------------------------------------------

LOCUST_STATS = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
    "GET,/,100,0,20,25,5,90,1000,10.0,0.0,20,22,25,30,40,60,80,90,90,90,90\n"
    ",Aggregated,100,0,20,25,5,90,1000,10.0,0.0,20,22,25,30,40,60,80,90,90,90,90\n"
)


def test_load_test_runs_locust_with_the_token_as_a_mounted_secret() -> None:
    inputs = {"url": "https://staging.example.com", "token": h.secret_id("smoke"), "users": 10}
    _, engine = run("load_test", inputs, files={"/out/load_stats.csv": LOCUST_STATS})
    (locust,) = {
        tuple(c.args["args"]) for c in engine.calls("withExec") if c.args["args"][0] == "locust"
    }
    assert "-H" in locust and locust[locust.index("-H") + 1] == "https://staging.example.com"
    assert locust[locust.index("-u") + 1] == "10"
    mounts = {c.args["path"]: c.args["source"] for c in engine.calls("withMountedSecret")}
    assert mounts == {"/run/secrets/load-token": h.secret_id("smoke")}
    envs = {c.args["name"]: c.args["value"] for c in engine.calls("withEnvVariable")}
    assert envs["LOAD_PATHS"] == "/,/api/health"
    assert "PASSED" in new_file(engine, "load-test.md")
    assert_no_plaintext_secrets(engine)


def test_load_test_fails_over_the_latency_limit_and_refuses_bad_input() -> None:
    inputs = {"url": "https://staging.example.com", "max_p95_ms": 50}
    message, _ = run_error("load_test", inputs, files={"/out/load_stats.csv": LOCUST_STATS})
    assert "p95 60 ms is above 50 ms" in message
    message, engine = run_error("load_test", {"url": "staging", "duration": "forever"})
    assert "must be an http(s) URL" in message
    assert not [c for c in engine.calls("withExec") if c.args["args"][0] == "locust"]


# ---- sbom ---------------------------------------------------------------------------


def test_sbom_is_cyclonedx_per_image() -> None:
    _, engine = run("sbom", revision=REV)
    runs = [c.args for c in engine.calls("withExec") if c.args["args"][:1] == ["scan"]]
    assert sorted(r["args"][1] for r in runs) == [
        "oci-archive:/images/backend.tar",
        "oci-archive:/images/frontend.tar",
    ]
    assert all(r["args"][-1] == "cyclonedx-json" and r["useEntrypoint"] for r in runs)
    names = sorted(
        c.args["path"] for c in engine.calls("withFile") if c.args["path"].endswith(".cdx.json")
    )
    assert names == ["backend.cdx.json", "frontend.cdx.json"]


# ---- push and sign ------------------------------------------------------------------


def test_push_publishes_revision_and_version_tags_and_returns_digests() -> None:
    result, engine = run(
        "push",
        {"registry_username": "bot", "registry_password": PASSWORD_ID},
        revision=REV,
        version="v1.2.3",
    )
    published = sorted(c.args["address"] for c in engine.calls("publish"))
    assert published == sorted(
        f"{REPO}/{app}:{tag}"
        for app in ("backend", "frontend")
        for tag in ("sha-0123456789ab", "1.2.3")
    )
    for call in engine.calls("publish"):
        auth = call.nearest("withRegistryAuth")
        assert auth is not None
        assert auth.args == {"address": "ghcr.io", "username": "bot", "secret": PASSWORD_ID}
    refs = json.loads(result)
    assert set(refs) == {"backend", "frontend"}
    for app, ref in refs.items():
        assert ref.startswith(f"{REPO}/{app}@sha256:") and len(ref.split("@sha256:")[1]) == 64
    assert_no_plaintext_secrets(engine)


def test_push_refuses_without_revision_before_publishing() -> None:
    message, engine = run_error(
        "push", {"registry_username": "bot", "registry_password": PASSWORD_ID}
    )
    assert "--revision" in message
    assert engine.calls("publish") == []


def test_push_refuses_bad_version_before_publishing() -> None:
    message, engine = run_error(
        "push",
        {"registry_username": "bot", "registry_password": PASSWORD_ID},
        revision=REV,
        version="latest",
    )
    assert "semantic version" in message
    assert engine.calls("publish") == []


DIGEST = "sha256:" + "a" * 64


def test_sign_with_key_pair_mounts_secrets_and_attests_sbom() -> None:
    inputs = {
        "images": [f"{REPO}/backend@{DIGEST}", f"{REPO}/frontend@{DIGEST}"],
        "registry_username": "bot",
        "registry_password": PASSWORD_ID,
        "cosign_key": h.secret_id("cosign-key"),
        "cosign_password": h.secret_id("cosign-password"),
    }
    result, engine = run("sign", inputs)
    mounts = {c.args["path"]: c.args["source"] for c in engine.calls("withMountedSecret")}
    assert mounts == {"/run/secrets/cosign.key": h.secret_id("cosign-key")}
    secret_vars = {c.args["name"]: c.args["secret"] for c in engine.calls("withSecretVariable")}
    assert secret_vars == {
        "REGISTRY_PASSWORD": PASSWORD_ID,
        "COSIGN_PASSWORD": h.secret_id("cosign-password"),
    }
    scripts = [
        c.args["args"][2] for c in engine.calls("withExec") if c.args["args"][:2] == ["sh", "-c"]
    ]
    assert len(scripts) == 2
    for app in ("backend", "frontend"):
        script = next(s for s in scripts if f"/{app}@" in s)
        assert f"cosign sign --yes --key /run/secrets/cosign.key {REPO}/{app}@{DIGEST}" in script
        assert f"--predicate /sbom/{app}.cdx.json" in script and "--type cyclonedx" in script
        assert "--password-stdin" in script and "$REGISTRY_PASSWORD" in script
    assert json.loads(result)["backend"]["signature"] == "cosign key pair"
    assert_no_plaintext_secrets(engine)


def test_sign_keyless_uses_the_oidc_token_file() -> None:
    inputs = {
        "images": [f"{REPO}/backend@{DIGEST}"],
        "registry_username": "bot",
        "registry_password": PASSWORD_ID,
        "oidc_token": h.secret_id("oidc"),
    }
    result, engine = run("sign", inputs)
    mounts = {c.args["path"]: c.args["source"] for c in engine.calls("withMountedSecret")}
    assert mounts == {"/run/secrets/oidc-token": h.secret_id("oidc")}
    assert json.loads(result) == {
        "backend": {
            "image": f"{REPO}/backend@{DIGEST}",
            "signature": "cosign keyless (OIDC)",
            "attestation": "cyclonedx-json (backend.cdx.json)",
        }
    }


@pytest.mark.parametrize(
    ("images", "extra", "expected"),
    [
        ([f"{REPO}/backend:latest"], {"cosign_key": "k"}, "not addressed by digest"),
        ([f"ghcr.io/evil/backend@{DIGEST}"], {"cosign_key": "k"}, "not one of this project's"),
        ([f"{REPO}/backend@{DIGEST}"], {}, "nothing to sign with"),
        ([], {"cosign_key": "k"}, "no image given"),
    ],
)
def test_sign_refuses_bad_input_before_signing(
    images: list[str], extra: dict[str, str], expected: str
) -> None:
    inputs = {
        "images": images,
        "registry_username": "bot",
        "registry_password": PASSWORD_ID,
        **extra,
    }
    message, engine = run_error("sign", inputs)
    assert expected in message
    assert not [c for c in engine.calls("withExec") if "cosign" in " ".join(c.args["args"])]


# ---- ci, release, serve -------------------------------------------------------------


def test_ci_runs_lint_test_build_and_scan_with_one_summary() -> None:
    _, engine = run("ci", revision=REV)
    execs = [" ".join(c.args["args"]) for c in engine.calls("withExec")]
    for needle in (
        "ruff check",
        "pyright src/pipeline",
        "hadolint",
        "actionlint .github/workflows/*.yml",
        "zizmor --offline",
        "npm run lint",
        "npm run typecheck",
        "helm lint --strict k8s/chart",
        "trivy image",
        "uv sync --locked --no-dev --no-install-project --project /deps/backend",
    ):
        assert any(needle in e for e in execs), needle
    targets = {c.args["target"] for c in engine.calls("dockerBuild")}
    lint_stages = {f"lint-{tool}" for tool in ("ruff", "pyright", "hadolint", "actionlint")}
    lint_stages |= {"lint-zizmor", "lint-uv"}  # lint steps: one stage per tool
    assert targets == {"runtime", "test", "lint", "deploy", *lint_stages}  # lint: platform runner
    summary = json.loads(new_file(engine, "summary.json"))
    assert summary["passed"] is True
    names = [s["name"] for s in summary["steps"]]
    assert any(n.startswith("helm lint") for n in names) and "build (runtime images)" in names
    dirs = {c.args["path"] for c in engine.calls("withDirectory") if c.parent_type == "Directory"}
    assert {"test", "scan"} <= dirs


def test_lint_toolbox_is_the_tools_dockerfile_target_with_locked_backend_deps() -> None:
    from pipeline import toolchain

    _, engine = run("lint")
    builds = [c for c in engine.calls("dockerBuild") if c.args["target"].startswith("lint-")]
    assert builds and "lint" not in {c.args["target"] for c in engine.calls("dockerBuild")}
    for build in builds:
        assert build.args["dockerfile"] == "dockerfiles/tools.Dockerfile"
        assert build_args(build) == toolchain.build_args("lint")  # the table's pinned versions
    execs = [c.args["args"] for c in engine.calls("withExec")]
    # nothing is pip-installed at lint time: every tool comes from the Dockerfile target
    assert not [a for a in execs if a[:2] == ["pip", "install"]]
    sync = [a for a in execs if "sync" in a]
    assert sync and all(a[a.index("sync") :][:2] == ["sync", "--locked"] for a in sync)
    deps = [
        c
        for c in engine.calls("withDirectory")
        if c.args["path"] == "/deps/backend" and c.parent_type == "Container"
    ]
    assert deps and all(sorted(c.args["include"]) == ["pyproject.toml", "uv.lock"] for c in deps)
    pyright = [a for a in execs if a[:1] == ["pyright"]]
    assert {a[a.index("--pythonpath") + 1] for a in pyright} == {
        "/home/tools/module-env/bin/python",
        "/home/tools/backend-env/bin/python",
    }
    # the toolbox runs as its unprivileged user: the source and caches are owned by it
    src = [
        c
        for c in engine.calls("withDirectory")
        if c.args["path"] == "/src"
        and any(
            a.name == "dockerBuild" and a.args["target"].startswith("lint-") for a in c.ancestors()
        )
    ]
    assert src and all(c.args.get("owner") == "10001:10001" for c in src)
    # a mirror of the Python base image reaches the tools image too
    _, engine = run("lint", python_image="mirror.example.com/python:3.13-slim")
    lint_builds = [c for c in engine.calls("dockerBuild") if c.args["target"].startswith("lint-")]
    assert lint_builds and all(
        build_args(c)["PYTHON_IMAGE"] == "mirror.example.com/python:3.13-slim" for c in lint_builds
    )


def test_ci_runs_the_platform_suites_in_a_container_built_from_the_repository() -> None:
    from pipeline.suites import HOST_ONLY, platform_suites

    _, engine = run("ci", revision=REV)
    runs = [c for c in engine.calls("withExec") if c.args["args"][:3] == ["python", "-m", "pytest"]]
    paths = {a for c in runs for a in c.args["args"] if a.startswith("tests/")}
    assert paths == {"tests/module", "tests/k8s", "tests/workflows"}
    for call in runs:
        args = call.args["args"]
        assert call.args["expect"] == "ANY"  # each suite reports its own result
        assert any(a.startswith("--junitxml=/reports/platform/") for a in args)
        chain = call.ancestors()
        built = {a.args["target"] for a in chain if a.name == "dockerBuild"}
        assert "lint" in built  # the repository's tools.Dockerfile, not an ad-hoc image
        files = {a.args["path"] for a in chain if a.name == "withFile"}
        deploy_tools = {"/usr/local/bin/helm", "/usr/local/bin/kubectl"}
        if "tests/module" in args:  # needs neither: does not wait for the deploy target
            assert not deploy_tools & files and "deploy" not in built
        else:
            assert deploy_tools <= files
        assert "/deps/tests/requirements.txt" in files
        users = [a.args["name"] for a in chain if a.name == "withUser"]
        assert users[0] == "10001:10001"  # nearest first: the suites run unprivileged
        skipped = {a.split("=", 1)[1] for a in args if a.startswith(("--ignore=", "--deselect="))}
        assert skipped <= set(HOST_ONLY)  # only what needs the host is left to .ci/run
    assert len({tuple(c.args["args"]) for c in runs}) == len(platform_suites())
    names = {s["name"] for s in json.loads(new_file(engine, "summary.json"))["steps"]}
    assert {s.name for s in platform_suites()} <= names
    dirs = {c.args["path"] for c in engine.calls("withDirectory") if c.parent_type == "Directory"}
    assert "platform" in dirs


def test_ci_fails_with_readable_summary_when_a_linter_fails() -> None:
    def exit_code(call: h.FieldCall) -> int:
        runs = [a for a in call.ancestors() if a.name == "withExec"]
        return 1 if runs and runs[0].args["args"][:1] == ["hadolint"] else 0

    message, _ = run_error("ci", resolvers={"Container.exitCode": exit_code})
    assert "FAIL  hadolint (Dockerfiles)" in message
    assert "PASS  ruff" in message


def test_release_pushes_signs_and_writes_report_with_digests() -> None:
    inputs = {
        "registry_username": "bot",
        "registry_password": PASSWORD_ID,
        "oidc_token": h.secret_id("oidc"),
    }
    _, engine = run(
        "release",
        inputs,
        files={"scan/policy.json": '{"passed": true, "counts": {}}'},
        revision=REV,
        version="v2.0.0",
    )
    assert len(engine.calls("publish")) == 4
    report = json.loads(new_file(engine, "release.json"))
    assert report["revision"] == REV and report["version"] == "v2.0.0"
    assert report["images"]["backend"].startswith(f"{REPO}/backend@sha256:")
    assert report["signatures"] == {
        "backend": "cosign keyless (OIDC)",
        "frontend": "cosign keyless (OIDC)",
    }
    assert report["sbom"]["frontend"] == "sbom/frontend.cdx.json"
    assert report["scan"]["passed"] is True
    assert "Image (by digest)" in new_file(engine, "release.md")
    assert_no_plaintext_secrets(engine)


def test_release_stops_before_pushing_when_ci_fails() -> None:
    inputs = {
        "registry_username": "bot",
        "registry_password": PASSWORD_ID,
        "oidc_token": h.secret_id("oidc"),
    }
    message, engine = run_error(
        "release", inputs, files={"/out/image-frontend.json": HIGH_VULN}, revision=REV
    )
    assert "CVE-2099-0001" in message
    assert engine.calls("publish") == []


def test_serve_exposes_frontend_bound_to_backend_and_backing_services() -> None:
    _, engine = run("serve", {"jwt_secret": h.secret_id("jwt")})
    (svc,) = [
        c
        for c in engine.calls("asService")
        if c.nearest("withExposedPort") and c.nearest("withExposedPort").args["port"] == 3000
    ]  # type: ignore[union-attr]
    assert svc.args.get("useEntrypoint") is True
    aliases = {c.args["alias"] for c in engine.calls("withServiceBinding")}
    assert aliases == {"backend", "redis"}  # Elasticsearch only with --elasticsearch
    envs = {c.args["name"]: c.args["value"] for c in engine.calls("withEnvVariable")}
    assert envs["API_URL"] == "http://backend:8000"
    assert envs["REDIS_URL"] == "redis://redis:6379/0" and envs["APP_ENV"] == "development"
    assert "ELASTICSEARCH_URL" not in envs
    secret_vars = {c.args["name"]: c.args["secret"] for c in engine.calls("withSecretVariable")}
    assert secret_vars == {"JWT_SECRET": h.secret_id("jwt")}
    # the service images are resolved before the service is returned
    synced_images = [
        f.args["address"] for f in (c.nearest("from") for c in engine.calls("sync")) if f
    ]
    assert len(synced_images) == 1 and synced_images[0].startswith("redis:")
    _, engine = run("serve", {"elasticsearch": True})
    aliases = {c.args["alias"] for c in engine.calls("withServiceBinding")}
    assert aliases == {"backend", "redis", "elasticsearch"}
    envs = {c.args["name"]: c.args["value"] for c in engine.calls("withEnvVariable")}
    assert envs["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"


def test_serve_with_a_missing_service_image_fails_naming_it() -> None:
    redis = "redis:7.4-alpine"  # pipeline.yaml pins it by digest: redis:7.4-alpine@sha256:...
    engine = h.FakeEngine(failures=[h.image_failure(redis)])
    with pytest.raises(Exception) as info:
        anyio.run(h.call, engine, "serve", {}, h.pipeline_state())
    message = str(info.value)
    assert "serve: a service image cannot be used" in message
    assert f"[redis] image {redis}" in message and "failed to resolve image" in message
    assert "declared return type" not in message


def test_every_query_validates_against_the_schema_file() -> None:
    """The harness itself refuses an invalid query (guards against a harness that accepts all)."""
    import graphql

    engine = h.FakeEngine()
    with pytest.raises(h.SchemaViolation, match="schema.graphqls"):
        engine.answer(graphql.parse("{ container { noSuchField } }"), None)
    with pytest.raises(h.SchemaViolation):
        engine.answer(graphql.parse('{ container { withExec(args: "x", bogus: 1) { id } } }'), None)
