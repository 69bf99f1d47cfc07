"""What each pipeline function does, as Dagger API calls (shared by ci and release).

Decisions (plans, policy, lint steps, signing commands, summaries) come from the
plain-Python modules; this file only wires them to containers, services and files.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import dagger
from dagger import dag

from pipeline import containers as c
from pipeline.config import APP_NAMES, PipelineConfig
from pipeline.lint import LintStep, lint_steps
from pipeline.loadtest import (
    CSV_PREFIX,
    LOCUST_VERSION,
    LOCUSTFILE,
    TOKEN_PATH,
    LoadSettings,
    LoadTestError,
    judge,
)
from pipeline.plans import (
    BuildInputs,
    ImagePlan,
    PlanError,
    image_plans,
    push_plans,
    pushed_digest,
    python_tool_image,
    refs_by_app,
    sbom_file,
    sbom_format,
)
from pipeline.policy import (
    Finding,
    PolicyResult,
    evaluate,
    failure_message,
    parse_trivy,
    render_markdown,
)
from pipeline.reports import (
    StepResult,
    error_message,
    exec_error_detail,
    release_report,
    run_detail,
    summary_json,
    summary_markdown,
    summary_text,
)
from pipeline.scans import OUT, ScanJob, image_tar, scan_jobs
from pipeline.scans import SRC as SCAN_SRC
from pipeline.signing import (
    AUTH_DIR,
    KEY_PATH,
    OIDC_TOKEN_PATH,
    SBOM_DIR,
    choose_mode,
    full_script,
)
from pipeline.suites import REPORTS as SUITES_REPORTS
from pipeline.suites import Suite, platform_suites
from pipeline.wiring import Stack, stack


class StepFailed(Exception):
    """One or more steps failed; the message is the readable summary."""


class StepsFailed(StepFailed):
    """Concurrent parts of a step failed; the message names each part and its cause."""

    def __init__(self, what: str, errors: dict[str, Exception]) -> None:
        self.errors = errors
        lines = [f"{what} failed:"]
        for key, error in errors.items():
            lines.append(f"[{key}] {_error_text(error)}")
        super().__init__("\n".join(lines))


# What a step records as its own failure instead of taking the others down: engine errors
# (an exec that failed, an image that cannot be resolved), bad input (PlanError, ReportError,
# LoadTestError are ValueErrors) and failed sub-steps.
STEP_ERRORS = (dagger.DaggerError, StepFailed, ValueError)


@dataclass(frozen=True)
class Ctx:
    """Everything a stage needs: the repository, its settings and the run's inputs."""

    source: dagger.Directory
    config: PipelineConfig
    inputs: BuildInputs
    ca: dagger.File | None
    ca_secret: dagger.Secret | None

    @property
    def plans(self) -> dict[str, ImagePlan]:
        return image_plans(self.config, self.inputs)

    def build(self, app: str, target: str | None = None) -> dagger.Container:
        plan = self.plans[app]
        return c.docker_build(self.source, plan, target or plan.target, self.ca_secret)


async def settle(thunks: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, Any]:
    """Run the coroutines concurrently to the end; by key, each result or the exception it raised.

    A failing coroutine never cancels the others, and nothing leaves as an ExceptionGroup
    (anyio's task group would raise one, which no `except SomeError` matches).
    """
    results: dict[str, Any] = {}

    async def one(key: str) -> None:
        try:
            results[key] = await thunks[key]()
        except Exception as e:  # noqa: BLE001 - recorded for its key; cancellation passes
            results[key] = e

    async with anyio.create_task_group() as tg:
        for key in thunks:
            tg.start_soon(one, key)
    return {key: results[key] for key in thunks}


async def gather(
    thunks: dict[str, Callable[[], Awaitable[Any]]], what: str = "step"
) -> dict[str, Any]:
    """Run the coroutines concurrently; results by key, or StepsFailed naming every failure."""
    settled = await settle(thunks)
    errors = {key: value for key, value in settled.items() if isinstance(value, Exception)}
    if errors:
        raise StepsFailed(what, errors)
    return settled


def _error_text(error: BaseException) -> str:
    """Why a step failed, for the summary: the failing command, exit code and output tails."""
    if isinstance(error, dagger.ExecError):
        return exec_error_detail(error.command, error.exit_code, error.stdout, error.stderr)
    return error_message(str(error)) or type(error).__name__


def _ran_result(name: str, ran: c.Ran) -> StepResult:
    return StepResult(name, ran.ok, run_detail(ran.args, ran.exit_code, ran.output))


async def images(ctx: Ctx) -> dict[str, dagger.Container]:
    """Both runtime images, really evaluated, concurrently."""
    built = {app: ctx.build(app) for app in APP_NAMES}
    thunks: dict[str, Callable[[], Awaitable[Any]]] = {app: ctr.sync for app, ctr in built.items()}
    return {app: ctr for app, ctr in (await gather(thunks, "build")).items()}


# ---- lint ------------------------------------------------------------------------------


async def lint(ctx: Ctx) -> list[StepResult]:
    """Every lint step concurrently, each in its own toolbox: a Python step builds only the
    tools.Dockerfile stage of its tool, so a tool that cannot be installed fails its own
    step(s), with the build's error, and no other."""

    def toolbox(step: LintStep) -> dagger.Container:
        if step.toolbox == "python":
            assert step.tool is not None  # LintStep refuses a python step without its tool
            return c.python_toolbox(
                ctx.config, ctx.source, ctx.inputs.python_image, ctx.ca, ctx.ca_secret, step.tool
            )
        if step.toolbox == "helm":
            return c.helm_toolbox(ctx.config, ctx.source)
        return ctx.build("frontend", ctx.config.apps.frontend.targets.test)

    steps = lint_steps(ctx.config)

    async def one(step: LintStep) -> StepResult:
        try:
            ran = await c.run(toolbox(step).with_workdir(step.workdir), list(step.command))
        except STEP_ERRORS as e:
            return StepResult(step.name, False, _error_text(e))
        return _ran_result(step.name, ran)

    results = await gather({step.name: (lambda s=step: one(s)) for step in steps}, "lint")
    return [results[step.name] for step in steps]


# ---- platform suites (in ci) ----------------------------------------------------------------


async def platform(ctx: Ctx) -> tuple[dagger.Directory, list[StepResult]]:
    """The platform's own suites that can run in a container (suites.py), JUnit in reports/."""
    suites = platform_suites()

    async def one(suite: Suite) -> tuple[StepResult, dagger.Directory]:
        runner = c.platform_runner(
            ctx.config,
            ctx.source,
            ctx.inputs.python_image,
            ctx.ca,
            ctx.ca_secret,
            deploy_tools=suite.deploy_tools,
        )
        try:
            ran = await c.run(runner, list(suite.command()))
        except STEP_ERRORS as e:
            return StepResult(suite.name, False, _error_text(e)), dag.directory()
        junit = ran.container.file(f"{SUITES_REPORTS}/{suite.stem}.xml")
        return _ran_result(suite.name, ran), dag.directory().with_file(f"{suite.stem}.xml", junit)

    done = await gather({s.stem: (lambda x=s: one(x)) for s in suites}, "platform suites")
    reports = dag.directory()
    results: list[StepResult] = []
    for suite in suites:
        result, junit = done[suite.stem]
        results.append(result)
        reports = reports.with_directory(".", junit)
    return reports, results


# ---- test ------------------------------------------------------------------------------

SMOKE_SCRIPT = "/smoke/smoke.py"


def smoke_source() -> str:
    smoke = importlib.resources.files("pipeline").joinpath("deploy", "smoke.py")
    return smoke.read_text(encoding="utf-8")


async def _unit(name: str, ctr: dagger.Container) -> tuple[StepResult, dagger.Directory]:
    try:
        ran = await c.run_default(ctr)
    except STEP_ERRORS as e:
        return StepResult(name, False, _error_text(e)), dag.directory()
    return _ran_result(name, ran), ran.container.directory("/reports")


def _stack_services(
    runtime: dict[str, dagger.Container],
    plan: Stack,
    started: dict[str, dagger.Container] | None = None,
) -> tuple[dagger.Service, dagger.Container]:
    """The backend as a service wired to its backing services, and the frontend container."""
    backend = c.with_services(runtime["backend"], plan.services, started).with_env_variable(
        "APP_ENV", plan.app_env
    )
    backend_service = backend.with_exposed_port(plan.backend_port).as_service(use_entrypoint=True)
    frontend = runtime["frontend"].with_service_binding("backend", backend_service)
    for name, value in plan.frontend_env.items():
        frontend = frontend.with_env_variable(name, value)
    return backend_service, frontend.with_exposed_port(plan.frontend_port)


def _smoke_runner(
    ctx: Ctx, runtime: dict[str, dagger.Container]
) -> tuple[dagger.Container, list[str]]:
    config = ctx.config
    be, fe = config.apps.backend, config.apps.frontend
    backend, frontend = _stack_services(runtime, stack(config, with_elasticsearch=False))
    urls = [
        f"http://backend:{be.port}{be.health_path}",
        f"http://frontend:{fe.port}{fe.health_path}",
        f"http://frontend:{fe.port}/",
    ]
    runner = (
        dag.container()
        .from_(python_tool_image(config, ctx.inputs.python_image))
        .with_service_binding("backend", backend)
        .with_service_binding("frontend", frontend.as_service(use_entrypoint=True))
        .with_new_file(SMOKE_SCRIPT, smoke_source())
    )
    return runner, ["python", SMOKE_SCRIPT, "--reports", "/reports", *urls]


async def serve(
    ctx: Ctx, jwt_secret: dagger.Secret | None, with_elasticsearch: bool
) -> dagger.Service:
    """The whole stack as one service (the frontend); every image is resolved first, so a
    missing one fails here with its name instead of when the service starts."""
    plan = stack(ctx.config, with_elasticsearch)
    runtime = await images(ctx)
    started = {spec.alias: c.service_container(spec) for spec in plan.services}
    try:
        await gather({alias: ctr.sync for alias, ctr in started.items()}, "serve")
    except StepsFailed as e:
        names = {spec.alias: spec.image for spec in plan.services}
        lines = [
            f"[{alias}] image {names[alias]}: {_error_text(err)}" for alias, err in e.errors.items()
        ]
        raise StepFailed(
            "serve: a service image cannot be used (set tools.<name> in pipeline.yaml to a "
            "reachable image or mirror):\n" + "\n".join(lines)
        ) from None
    if jwt_secret is not None:
        runtime = {
            **runtime,
            "backend": runtime["backend"].with_secret_variable("JWT_SECRET", jwt_secret),
        }
    _, frontend = _stack_services(runtime, plan, started)
    return frontend.as_service(use_entrypoint=True)


async def _smoke(ctx: Ctx) -> tuple[StepResult, dagger.Directory]:
    name = "integration smoke (backend + frontend + redis)"
    try:
        runner, args = _smoke_runner(ctx, await images(ctx))
        ran = await c.run(runner, args)
    except STEP_ERRORS as e:
        return StepResult(name, False, _error_text(e)), dag.directory()
    return _ran_result(name, ran), ran.container.directory("/reports")


async def test(ctx: Ctx) -> tuple[dagger.Directory, list[StepResult]]:
    be_target = ctx.config.apps.backend.targets.test
    fe_target = ctx.config.apps.frontend.targets.test
    backend = c.with_backing_services(ctx.build("backend", be_target), ctx.config)
    frontend = ctx.build("frontend", fe_target)
    done = await gather(
        {
            "backend": lambda: _unit("backend tests (redis, elasticsearch)", backend),
            "frontend": lambda: _unit("frontend unit tests", frontend),
            "smoke": lambda: _smoke(ctx),
        },
        "test",
    )
    reports = dag.directory()
    results: list[StepResult] = []
    for key in ("backend", "frontend", "smoke"):
        result, directory = done[key]
        results.append(result)
        reports = reports.with_directory(key, directory)
    return reports, results


# ---- scan ------------------------------------------------------------------------------


def _scan_containers(
    ctx: Ctx,
    imgs: dict[str, dagger.Container],
    jobs: list[ScanJob],
    refresh_db: bool,
    trivy_db: dagger.Directory | None,
) -> dict[str, dagger.Container]:
    """stem -> the Trivy container holding what the job scans (scans.scan_jobs decides)."""
    now = dt.datetime.now(dt.UTC)
    refresh = now.isoformat() if refresh_db else ""
    base = c.trivy(ctx.config, ctx.ca, now.date().isoformat(), refresh, trivy_db).with_exec(
        ["mkdir", "-p", OUT]
    )
    out: dict[str, dagger.Container] = {}
    for job in jobs:
        ctr = base
        if job.app is not None:
            ctr = ctr.with_file(image_tar(job.app), imgs[job.app].as_tarball())
        if job.source_include is not None:
            include = list(job.source_include) or None
            ctr = ctr.with_directory(SCAN_SRC, ctx.source, include=include)
        out[job.stem] = ctr
    return out


@dataclass(frozen=True)
class Scanned:
    """What `scan` produced: its reports, its step result and the policy verdict (if judged)."""

    reports: dagger.Directory
    result: StepResult
    policy: PolicyResult | None


async def scan(
    ctx: Ctx,
    imgs: dict[str, dagger.Container],
    refresh_db: bool = False,
    trivy_db: dagger.Directory | None = None,
) -> Scanned:
    if refresh_db and trivy_db is not None:
        raise PlanError("--refresh-db downloads a DB and --trivy-db gives one: pass only one")
    jobs = scan_jobs(imgs, offline=trivy_db is not None)
    containers = _scan_containers(ctx, imgs, jobs, refresh_db, trivy_db)

    async def one(job: ScanJob) -> tuple[list[Finding], dagger.Directory]:
        done = containers[job.stem].with_exec(list(job.args)).with_exec(list(job.convert_args()))
        report = await done.file(job.report).contents()
        files = (
            dag.directory()
            .with_file(f"{job.stem}.json", done.file(job.report))
            .with_file(f"{job.stem}.sarif", done.file(job.sarif))
        )
        return parse_trivy(job.label, report), files

    name = "scan (trivy: images, config, secrets)"
    done = await settle({job.stem: (lambda j=job: one(j)) for job in jobs})
    findings: list[Finding] = []
    reports = dag.directory()
    failed: list[str] = []
    for job in jobs:
        outcome = done[job.stem]
        if isinstance(outcome, Exception):
            if not isinstance(outcome, STEP_ERRORS):
                raise outcome
            failed.append(f"[{job.label}] {_error_text(outcome)}")
            continue
        found, files = outcome
        findings.extend(found)
        reports = reports.with_directory(".", files)
    if failed:  # the scans that ran keep their reports; the step fails naming the others
        return Scanned(reports, StepResult(name, False, "\n".join(["scan failed:", *failed])), None)
    result = evaluate(findings, ctx.config.scan, dt.datetime.now(dt.UTC).date())
    reports = reports.with_new_file(
        "findings.md", render_markdown(result, ctx.config.scan)
    ).with_new_file("policy.json", json.dumps(result.to_dict(), indent=2))
    detail = "" if result.passed else failure_message(result)
    return Scanned(reports, StepResult(name, result.passed, detail), result)


def published_images(
    ctx: Ctx, refs: list[str], username: str, password: dagger.Secret | None
) -> dict[str, dagger.Container]:
    """Containers of already published images (by digest), e.g. what is deployed."""
    by_app = refs_by_app(ctx.config, refs)  # plans.refs_by_app: refuses foreign images
    out: dict[str, dagger.Container] = {}
    for app, ref in by_app.items():
        ctr = dag.container()
        if password is not None:
            ctr = ctr.with_registry_auth(ctx.config.registry.host, username, password)
        out[app] = ctr.from_(ref)
    return out


# ---- load test -------------------------------------------------------------------------


async def load_test(
    ctx: Ctx, settings: LoadSettings, token: dagger.Secret | None
) -> tuple[dagger.Directory, StepResult]:
    settings.validate()
    ctr = (
        c.with_ca(
            dag.container().from_(python_tool_image(ctx.config, ctx.inputs.python_image)), ctx.ca
        )
        .with_mounted_cache(c.PIP_CACHE, dag.cache_volume("pipeline-pip"))
        .with_exec(["pip", "install", "--disable-pip-version-check", f"locust=={LOCUST_VERSION}"])
        .with_new_file("/load/locustfile.py", LOCUSTFILE)
        .with_env_variable("LOAD_PATHS", ",".join(settings.paths))
        .with_env_variable("PIPELINE_RUN_AT", dt.datetime.now(dt.UTC).isoformat())  # never reuse
        .with_exec(["mkdir", "-p", "/out"])
    )
    if token is not None:
        ctr = ctr.with_mounted_secret(TOKEN_PATH, token)
    name = f"load test ({settings.url})"
    try:
        ran = await c.run(ctr, settings.command())
        stats = await ran.container.file(f"{CSV_PREFIX}_stats.csv").contents()
        verdict = judge(stats, settings)
    except (dagger.DaggerError, LoadTestError) as e:
        return dag.directory(), StepResult(name, False, _error_text(e))
    out = (
        ran.container.directory("/out")
        .with_new_file("load-test.md", verdict.to_markdown(settings))
        .with_new_file("load-test.json", verdict.to_json())
    )
    return out, StepResult(name, verdict.passed, "; ".join(verdict.reasons))


# ---- sbom ------------------------------------------------------------------------------


def _sbom_container(ctx: Ctx, app: str, img: dagger.Container) -> tuple[dagger.Container, str]:
    fmt = sbom_format(ctx.config.sbom.format)
    path = f"/{sbom_file(app, ctx.config.sbom.format)}"
    tar = image_tar(app)
    if ctx.config.sbom.tool == "syft":
        ctr = (
            dag.container()
            .from_(ctx.config.tools.syft)
            .with_file(tar, img.as_tarball())
            .with_exec(
                ["scan", f"oci-archive:{tar}", "-o", fmt.syft],
                use_entrypoint=True,
                redirect_stdout=path,
            )
        )
        return ctr, path
    ctr = (
        c.trivy(ctx.config, ctx.ca)
        .with_file(tar, img.as_tarball())
        .with_exec(["trivy", "image", "--input", tar, "--format", fmt.trivy, "--output", path])
    )
    return ctr, path


async def sbom(ctx: Ctx, imgs: dict[str, dagger.Container]) -> dagger.Directory:
    """One SBOM per image, generated concurrently; StepsFailed names the app and the cause."""
    files: dict[str, dagger.File] = {}
    for app in APP_NAMES:
        ctr, path = _sbom_container(ctx, app, imgs[app])
        files[app] = ctr.file(path)
    synced = await gather({app: files[app].sync for app in APP_NAMES}, "sbom")
    out = dag.directory()
    for app in APP_NAMES:
        out = out.with_file(sbom_file(app, ctx.config.sbom.format), synced[app])
    return out


# ---- push and sign ---------------------------------------------------------------------


async def push(
    ctx: Ctx, imgs: dict[str, dagger.Container], username: str, password: dagger.Secret
) -> dict[str, str]:
    """Publish every tag of both images; app -> `<repo>@sha256:<digest>`."""
    plans = push_plans(ctx.config, ctx.inputs)  # refuses before anything is pushed

    async def one(app: str) -> str:
        ctr = imgs[app].with_registry_auth(ctx.config.registry.host, username, password)
        return pushed_digest(app, [await ctr.publish(address) for address in plans[app].addresses])

    done = await gather({app: (lambda a=app: one(a)) for app in APP_NAMES}, "push")
    return {app: str(done[app]) for app in APP_NAMES}


@dataclass(frozen=True)
class SignInputs:
    username: str
    password: dagger.Secret
    cosign_key: dagger.Secret | None
    cosign_password: dagger.Secret | None
    oidc_token: dagger.Secret | None


async def sign(
    ctx: Ctx, refs: dict[str, str], creds: SignInputs, sbom_dir: dagger.Directory | None
) -> dict[str, dict[str, str]]:
    """cosign sign (+ SBOM attestation) of each digest; app -> what was done."""
    config = ctx.config
    mode = choose_mode(
        creds.cosign_key is not None, creds.oidc_token is not None, config.signing.keyless
    )
    ctr = (
        c.with_ca(dag.container().from_(config.tools.cosign), ctx.ca)
        # the registry credential cosign login writes stays in memory for the one exec
        .with_mounted_temp(AUTH_DIR)
        .with_env_variable("DOCKER_CONFIG", AUTH_DIR)
        .with_env_variable("REGISTRY_USERNAME", creds.username)
        .with_secret_variable("REGISTRY_PASSWORD", creds.password)
    )
    if creds.cosign_key is not None:
        ctr = ctr.with_mounted_secret(KEY_PATH, creds.cosign_key)
        if creds.cosign_password is not None:
            ctr = ctr.with_secret_variable("COSIGN_PASSWORD", creds.cosign_password)
        else:
            ctr = ctr.with_env_variable("COSIGN_PASSWORD", "")  # an unencrypted key
    elif creds.oidc_token is not None:
        ctr = ctr.with_mounted_secret(OIDC_TOKEN_PATH, creds.oidc_token)
    attest = config.signing.attest_sbom
    if attest:
        if sbom_dir is None:
            sbom_dir = await sbom(ctx, await images(ctx))
        ctr = ctr.with_directory(SBOM_DIR, sbom_dir)

    async def one(app: str) -> dict[str, str]:
        ref = refs[app]
        sbom_name = sbom_file(app, config.sbom.format) if attest else None
        script = full_script(config.registry.host, ref, mode, sbom_name, config.sbom.format)
        await ctr.with_exec(["sh", "-c", script]).sync()
        signed = {"image": ref, "signature": mode.label}
        if sbom_name:
            signed["attestation"] = f"{config.sbom.format} ({sbom_name})"
        return signed

    done = await gather({app: (lambda a=app: one(a)) for app in refs}, "sign")
    return {app: dict(done[app]) for app in refs}


# ---- ci and release --------------------------------------------------------------------


@dataclass(frozen=True)
class CiRun:
    """What ci produced: its reports, one result per step, and the scan verdict (if judged)."""

    reports: dagger.Directory
    results: list[StepResult]
    policy: PolicyResult | None


async def ci(ctx: Ctx) -> CiRun:
    """lint, test, build + scan and the platform suites concurrently; reports, one result
    per step."""

    async def build_and_scan() -> tuple[StepResult, Scanned]:
        try:
            imgs = await images(ctx)
        except STEP_ERRORS as e:
            failed = StepResult("build (runtime images)", False, _error_text(e))
            not_run = StepResult("scan", False, "not run: the build failed")
            return failed, Scanned(dag.directory(), not_run, None)
        return StepResult("build (runtime images)", True), await scan(ctx, imgs)

    done = await settle(
        {
            "lint": lambda: lint(ctx),
            "test": lambda: test(ctx),
            "build+scan": build_and_scan,
            "platform": lambda: platform(ctx),
        }
    )
    for key, outcome in done.items():  # a part that failed as a whole is recorded as such
        if isinstance(outcome, STEP_ERRORS):
            failed = StepResult(key, False, _error_text(outcome))
            not_run = Scanned(dag.directory(), StepResult("scan", False, "not run"), None)
            done[key] = {
                "lint": [failed],
                "test": (dag.directory(), [failed]),
                "build+scan": (failed, not_run),
                "platform": (dag.directory(), [failed]),
            }[key]
        elif isinstance(outcome, Exception):
            raise outcome
    lint_results: list[StepResult] = done["lint"]
    test_dir, test_results = done["test"]
    built, scanned = done["build+scan"]
    platform_dir, platform_results = done["platform"]
    results = [*lint_results, *test_results, built, scanned.result, *platform_results]
    reports = (
        dag.directory()
        .with_directory("test", test_dir)
        .with_directory("scan", scanned.reports)
        .with_directory("platform", platform_dir)
    )
    return CiRun(reports, results, scanned.policy)


def finish(
    title: str, reports: dagger.Directory, results: list[StepResult], fail_on_error: bool
) -> dagger.Directory:
    """Add summary.md / summary.json; raise with the readable summary when a step failed."""
    if fail_on_error and not all(r.ok for r in results):
        raise StepFailed(summary_text(title, results))
    return reports.with_new_file("summary.md", summary_markdown(title, results)).with_new_file(
        "summary.json", summary_json(title, results)
    )


async def release(ctx: Ctx, creds: SignInputs) -> dagger.Directory:
    """ci (must pass), then push, SBOM, sign, and the release report."""
    run = await ci(ctx)
    finish("ci", run.reports, run.results, fail_on_error=True)
    assert run.policy is not None  # a passed ci has judged its scan
    imgs = await images(ctx)
    refs = await push(ctx, imgs, creds.username, creds.password)
    sbom_dir = await sbom(ctx, imgs)
    signed: dict[str, dict[str, str]] = {}
    if ctx.config.signing.enabled:
        signed = await sign(ctx, refs, creds, sbom_dir)
    report = release_report(ctx.config, ctx.inputs, refs, run.policy, signed)
    return (
        dag.directory()
        .with_new_file("release.json", report.to_json())
        .with_new_file("release.md", report.to_markdown())
        .with_directory("sbom", sbom_dir)
        .with_directory("scan", run.reports.directory("scan"))
        .with_directory("test", run.reports.directory("test"))
    )
