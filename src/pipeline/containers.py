"""Dagger building blocks shared by the functions: images from dockerfiles/, tool containers,
backing services, and running a step without failing the whole call.

Only translation to Dagger API calls lives here; decisions come from the plain-Python modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import toolchain
from pipeline.config import PipelineConfig
from pipeline.lint import (
    BACKEND_DEPS_DIR,
    LINT_TARGET,
    TOOLS_DOCKERFILE,
    TOOLS_USER,
    UV_BINARY,
    UV_CACHE,
    UV_STAGE_BINARY,
    LintTool,
    environment_commands,
    needs_import_environments,
    tool_stage,
)
from pipeline.plans import ImagePlan
from pipeline.scans import OFFLINE_CACHE
from pipeline.suites import APT_PACKAGES, DEPLOY_BINARIES
from pipeline.suites import REPORTS as SUITES_REPORTS
from pipeline.suites import VENV as SUITES_VENV
from pipeline.wiring import BackingService, backend_env, backing_services

SRC = "/src"
CA_PATH = "/etc/pipeline/ca.pem"
# The whole repository minus what no step reads (the Ignore list of `source` already drops
# dependencies and build outputs).
PIP_CACHE = "/root/.cache/pip"
MAX_SECRET_BYTES = 128_000  # Dagger's limit for setSecret plaintext


async def build_ca_secret(ca: dagger.File | None) -> dagger.Secret | None:
    """The proxy CA certificate as the BuildKit secret named `ca` that the Dockerfiles mount.

    dockerBuild mounts secrets by their name, and secrets given on the CLI are named after
    their URI, so the certificate (public data, not a credential) is registered as `ca`.
    """
    if ca is None:
        return None
    pem = await ca.contents()
    if len(pem.encode()) > MAX_SECRET_BYTES:
        raise ValueError(
            f"--ca is {len(pem.encode())} bytes; pass only the proxy's CA certificate, not the "
            f"whole system bundle (a Dagger secret holds at most {MAX_SECRET_BYTES} bytes)"
        )
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("--ca must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
    return dag.set_secret("ca", pem)


def docker_build(
    source: dagger.Directory, plan: ImagePlan, target: str, ca_secret: dagger.Secret | None
) -> dagger.Container:
    """One Dockerfile target of dockerfiles/, built by BuildKit with the plan's build args."""
    return source.docker_build(
        dockerfile=plan.dockerfile,
        target=target,
        build_args=[dagger.BuildArg(name=k, value=v) for k, v in plan.build_args.items()],
        secrets=[ca_secret] if ca_secret is not None else [],
    )


def with_ca(ctr: dagger.Container, ca: dagger.File | None) -> dagger.Container:
    """Trust a TLS-intercepting proxy in a tool container (pip, npm, Go tools)."""
    if ca is None:
        return ctr
    return (
        ctr.with_file(CA_PATH, ca)
        .with_env_variable("SSL_CERT_FILE", CA_PATH)
        .with_env_variable("PIP_CERT", CA_PATH)
        .with_env_variable("NODE_EXTRA_CA_CERTS", CA_PATH)
    )


def tools_target(
    config: PipelineConfig,
    source: dagger.Directory,
    target: toolchain.Target,
    python_image: str,
    ca_secret: dagger.Secret | None,
    stage: str = "",
) -> dagger.Container:
    """A target of dockerfiles/tools.Dockerfile with the table's pinned versions as build args.

    `stage` builds another stage of the target's family (lint-ruff: the lint build args).
    """
    args = toolchain.build_args(target, python_image or config.base_images.python or "")
    return source.docker_build(
        dockerfile=TOOLS_DOCKERFILE,
        target=stage or target,
        build_args=[dagger.BuildArg(name=k, value=v) for k, v in args.items()],
        secrets=[ca_secret] if ca_secret is not None else [],
    )


def python_toolbox(
    config: PipelineConfig,
    source: dagger.Directory,
    python_image: str,
    ca: dagger.File | None,
    ca_secret: dagger.Secret | None,
    tool: LintTool,
) -> dagger.Container:
    """The tools.Dockerfile stage of one lint tool only (lint-<tool>); pyright's also gets uv
    and the import environments it needs (lint.py)."""
    ctr = with_ca(
        tools_target(config, source, LINT_TARGET, python_image, ca_secret, tool_stage(tool)), ca
    )
    if needs_import_environments(tool):
        uv = tools_target(config, source, LINT_TARGET, python_image, ca_secret, tool_stage("uv"))
        ctr = ctr.with_file(UV_BINARY, uv.file(UV_STAGE_BINARY)).with_mounted_cache(
            UV_CACHE, dag.cache_volume("pipeline-lint-uv"), owner=TOOLS_USER
        )
        # only the dependency files first, so these layers are reused until they change
        ctr = ctr.with_directory(
            BACKEND_DEPS_DIR,
            source.directory("backend"),
            include=["pyproject.toml", "uv.lock"],
            owner=TOOLS_USER,
        )
        for command in environment_commands():
            ctr = ctr.with_exec(list(command))
    return ctr.with_directory(SRC, source, owner=TOOLS_USER).with_workdir(SRC)


def platform_runner(
    config: PipelineConfig,
    source: dagger.Directory,
    python_image: str,
    ca: dagger.File | None,
    ca_secret: dagger.Secret | None,
    deploy_tools: bool = True,
) -> dagger.Container:
    """Where `ci` runs the platform suites (suites.py): the lint toolbox, a few Debian tools,
    tests/requirements.txt, and (deploy_tools) helm and kubectl from the deploy target."""
    ctr = with_ca(tools_target(config, source, LINT_TARGET, python_image, ca_secret), ca)
    ctr = ctr.with_user("0").with_exec(
        [
            "sh",
            "-c",
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
            + " ".join(APT_PACKAGES)
            + " && rm -rf /var/lib/apt/lists/*",
        ]
    )
    if deploy_tools:
        deploy = tools_target(config, source, "deploy", python_image, ca_secret)
        for binary in DEPLOY_BINARIES:
            ctr = ctr.with_file(binary, deploy.file(binary))
    requirements = "/deps/tests/requirements.txt"
    return (
        ctr.with_file(requirements, source.file("tests/requirements.txt"))
        .with_mounted_cache("/root/.cache/uv", dag.cache_volume("pipeline-platform-uv"))
        .with_exec(["uv", "venv", "--quiet", SUITES_VENV])
        .with_exec(
            ["uv", "pip", "install", "--quiet", "--python", f"{SUITES_VENV}/bin/python"]
            + ["-r", requirements]
        )
        .with_env_variable("PATH", f"{SUITES_VENV}/bin:${{PATH}}", expand=True)
        .with_env_variable("TOOLS_DIR", "/nonexistent")  # every tool is on PATH
        .with_directory(SRC, source, owner=TOOLS_USER)
        .with_user(TOOLS_USER)
        .with_workdir(SRC)
        .with_exec(["mkdir", "-p", SUITES_REPORTS])
    )


def helm_toolbox(config: PipelineConfig, source: dagger.Directory) -> dagger.Container:
    return (
        dag.container()
        .from_(config.tools.helm)
        .with_mounted_cache("/root/.cache/helm", dag.cache_volume("pipeline-helm"))
        .with_directory(SRC, source)
        .with_workdir(SRC)
    )


def trivy(
    config: PipelineConfig,
    ca: dagger.File | None,
    scan_day: str = "",
    refresh_db: str = "",
    db: dagger.Directory | None = None,
) -> dagger.Container:
    """Trivy with its vulnerability DB in a cache volume (downloaded once, then reused).

    `scan_day` keeps Dagger from reusing yesterday's results for an unchanged image;
    `refresh_db` (a unique value) deletes the cached DB so a fresh one is downloaded;
    `db` is a pre-fetched DB (air-gapped): mounted instead, and nothing is downloaded.
    """
    ctr = dag.container().from_(config.tools.trivy).with_env_variable("TRIVY_NO_PROGRESS", "true")
    if db is not None:
        ctr = ctr.with_directory(f"{OFFLINE_CACHE}/db", db).with_env_variable(
            "TRIVY_CACHE_DIR", OFFLINE_CACHE
        )
    else:
        ctr = ctr.with_mounted_cache(
            "/root/.cache/trivy", dag.cache_volume("pipeline-trivy-db")
        ).with_env_variable("TRIVY_CACHE_DIR", "/root/.cache/trivy")
    if config.scan.trivy_db_repository:
        ctr = ctr.with_env_variable("TRIVY_DB_REPOSITORY", config.scan.trivy_db_repository)
    ctr = with_ca(ctr, ca)
    if scan_day:
        ctr = ctr.with_env_variable("PIPELINE_SCAN_DAY", scan_day)
    if refresh_db:
        ctr = (
            ctr.with_env_variable("PIPELINE_DB_REFRESH", refresh_db)
            .with_exec(["trivy", "clean", "--vuln-db"])
            .with_exec(["trivy", "image", "--download-db-only"])
        )
    return ctr


def service_container(spec: BackingService) -> dagger.Container:
    """The container of a backing service (its image, settings and port), not yet started."""
    ctr = dag.container().from_(spec.image)
    for name, value in spec.env:
        ctr = ctr.with_env_variable(name, value)
    return ctr.with_exposed_port(spec.port)


def with_services(
    ctr: dagger.Container,
    services: list[BackingService],
    started: dict[str, dagger.Container] | None = None,
) -> dagger.Container:
    """Bind the services by their alias and point the app at them (wiring.backend_env).

    `started` gives already evaluated containers by alias (serve checks their images first).
    """
    for spec in services:
        service = (started or {}).get(spec.alias) or service_container(spec)
        ctr = ctr.with_service_binding(spec.alias, service.as_service(use_entrypoint=True))
    for name, value in backend_env(services).items():
        ctr = ctr.with_env_variable(name, value)
    return ctr


def with_backing_services(ctr: dagger.Container, config: PipelineConfig) -> dagger.Container:
    """Bind Redis and Elasticsearch as services and point the backend at them (tests)."""
    return with_services(ctr, backing_services(config, with_elasticsearch=True))


@dataclass(frozen=True)
class Ran:
    """A step run with `expect=ANY`: its container (files written), exit code and output."""

    container: dagger.Container
    exit_code: int
    output: str
    args: list[str]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


async def run(ctr: dagger.Container, args: list[str], use_entrypoint: bool = False) -> Ran:
    """Run a command without failing the call, so reports are kept and failures summarised."""
    done = ctr.with_exec(args, use_entrypoint=use_entrypoint, expect=dagger.ReturnType.ANY)
    code = await done.exit_code()
    output = await done.combined_output()
    return Ran(done, code, output, args)


async def run_default(ctr: dagger.Container) -> Ran:
    """Run the image's default command (a Dockerfile `test` target's CMD)."""
    return await run(ctr, await ctr.default_args(), use_entrypoint=True)
