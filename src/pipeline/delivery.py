"""Dagger side of the delivery-metrics and preview functions (translation to Dagger API only).

`metrics` reads an environment's deploy history (ConfigMap `<release>-deploy-history`,
written by every deploy/promote/abort/rollback) with kubectl in the tools container and
prints the four delivery metrics; the computation is `pipeline.deploy.dora` (plain Python).
`preview`, `preview-down` and `preview-gc` run `pipeline.deploy.preview_cli` there with the
settings of pipeline.yaml's `preview` section (checked first, see pipeline.preview).
Every input is checked before any container is prepared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagger

from pipeline.config import PipelineConfig
from pipeline.deploy.preview import PreviewSettings, check_pr, check_up
from pipeline.deploy.request import APPS, DeployInputError
from pipeline.deploy.tools import Tool
from pipeline.deploy_container import (
    KUBECONFIG_PATH,
    REPORT_DIR,
    RUNTIME_DIR,
    WORKDIR,
    DeployFailed,
    runtime_directory,
    tools_container,
)

if TYPE_CHECKING:
    from pipeline.stages import Ctx

MAX_DAYS = 3650


def metrics_args(
    env: str, namespace: str, release: str, days: int, context: str | None
) -> list[str]:
    """Arguments of `python -m pipeline.deploy.metrics` (no secrets: the kubeconfig is a file)."""
    args = ["--env", env, "--namespace", namespace, "--release", release, "--days", str(days)]
    args += ["--kubeconfig", KUBECONFIG_PATH, "--report-dir", REPORT_DIR]
    if context:
        args += ["--context", context]
    return args


async def metrics_report(
    source: dagger.Directory,
    python_image: str,
    ca: dagger.File | None,
    env: str,
    kubeconfig: dagger.Secret | None,
    context: str,
    days: int,
) -> tuple[dagger.Directory, str]:
    """(reports directory, Markdown + JSON text) of the environment's delivery metrics."""
    from pipeline.config import parse_config_text
    from pipeline.deploy_targets import target_for
    from pipeline.plans import python_tool_image

    config = parse_config_text(await source.file("pipeline.yaml").contents())
    target = target_for(config, env, context or None)
    if target.ephemeral:
        raise DeployInputError(
            f"--env {env}: a throwaway cluster keeps no deploy history; choose dev, staging or prod"
        )
    if not 1 <= days <= MAX_DAYS:
        raise DeployInputError(f"--days: {days} must be 1..{MAX_DAYS}")
    if kubeconfig is None:
        raise DeployInputError(
            f"--kubeconfig: required for `metrics --env {env}` (read access to the "
            f"ConfigMap {target.release}-deploy-history in {target.namespace} is enough)"
        )
    image = python_tool_image(config, python_image)
    done = (
        (await tools_container(image, ca, ("kubectl",)))
        .with_directory(RUNTIME_DIR, runtime_directory(source))
        .with_workdir(WORKDIR)
        .with_env_variable("PYTHONPATH", RUNTIME_DIR)
        .with_env_variable("PIPELINE_RUN", str(time.time_ns()))  # the history changes: never cached
        .with_mounted_secret(KUBECONFIG_PATH, kubeconfig)
        .with_exec(
            ["python", "-m", "pipeline.deploy.metrics"]
            + metrics_args(env, target.namespace, target.release, days, target.context),
            expect=dagger.ReturnType.ANY,
        )
    )
    code = await done.exit_code()
    out = await done.stdout()
    if code != 0:
        raise DeployFailed(
            f"metrics --env {env} failed (exit {code}):\n{(await done.stderr()).strip()}"
        )
    return done.directory(REPORT_DIR), out


# ---- preview environments -------------------------------------------------------------

PREVIEW_SETTINGS_PATH = f"{WORKDIR}/preview.json"


async def preview_images(
    ctx: Ctx, pr: int, username: str, password: dagger.Secret
) -> dict[str, str]:
    """Build both images and push them tagged pr-N-<commit>: app -> repository@sha256:..."""
    from pipeline import stages
    from pipeline.plans import pushed_digest
    from pipeline.preview import preview_tag

    tag = preview_tag(pr, ctx.inputs.revision)
    plans = ctx.plans
    imgs = await stages.images(ctx)
    host = ctx.config.registry.host
    refs: dict[str, str] = {}
    for app, ctr in imgs.items():
        address = f"{plans[app].repository}:{tag}"
        published = await ctr.with_registry_auth(host, username, password).publish(address)
        refs[app] = pushed_digest(app, [published])
    return refs


def preview_cli_args(action: str, pr: int | None, extra: list[str] | None = None) -> list[str]:
    args = ["python", "-m", "pipeline.deploy.preview_cli", action]
    args += ["--settings", PREVIEW_SETTINGS_PATH, "--kubeconfig", KUBECONFIG_PATH]
    args += ["--report-dir", REPORT_DIR]
    if pr is not None:
        args += ["--pr", str(pr)]
    return args + (extra or [])


@dataclass(frozen=True)
class PreviewCall:
    """A checked preview call: the settings and the runtime's arguments."""

    config: PipelineConfig
    settings: PreviewSettings
    action: str
    pr: int | None
    ttl_seconds: int


async def check_preview_call(
    source: dagger.Directory,
    kubeconfig: dagger.Secret | None,
    context: str,
    action: str,
    pr: int | None = None,
    ttl: str = "",
) -> PreviewCall:
    """Every check that needs no container (pipeline.yaml preview, --pr, --ttl, --kubeconfig)."""
    from pipeline.config import parse_config_text
    from pipeline.deploy.preview import parse_duration
    from pipeline.preview import preview_settings

    config = parse_config_text(await source.file("pipeline.yaml").contents())
    settings = preview_settings(config, context)
    if pr is not None:
        check_pr(pr)
    seconds = parse_duration(ttl, "--ttl") if ttl else settings.ttl_seconds
    if action == "up":
        check_up(settings, seconds, {})
    if kubeconfig is None:
        raise DeployInputError(
            f"--kubeconfig: required for previews (a kubeconfig with the context {settings.context!r})"
        )
    return PreviewCall(config, settings, action, pr, seconds)


def check_images(given: dict[str, str], can_build: bool) -> bool:
    """True when the images must be built and pushed; refuses a call that has neither."""
    if all(given.get(app) for app in APPS):
        return False
    if not can_build:
        raise DeployInputError(
            "--registry-username and --registry-password: needed to build and push the preview "
            "images (or pass --backend-image and --frontend-image by digest)"
        )
    return True


async def run_preview(
    call: PreviewCall,
    source: dagger.Directory,
    python_image: str,
    ca: dagger.File | None,
    kubeconfig: dagger.Secret,
    images: dict[str, str] | None = None,
) -> tuple[dagger.Directory, str]:
    """Run `python -m pipeline.deploy.preview_cli ACTION` once (never cached) in the tools
    container; (reports, its output). Raises DeployFailed when it fails."""
    import json

    from pipeline.deploy.request import ImageRef
    from pipeline.plans import python_tool_image

    extra: list[str] = []
    if call.action == "up":
        refs = images or {}
        parsed = {app: ImageRef.parse(refs.get(app, ""), f"--{app}-image") for app in APPS}
        check_up(call.settings, call.ttl_seconds, parsed)
        extra += ["--ttl", f"{call.ttl_seconds // 60}m", "--chart", "k8s/chart"]
        extra += [arg for app in APPS for arg in (f"--{app}-image", str(parsed[app]))]
    needed: tuple[Tool, ...] = ("helm", "kubectl") if call.action == "up" else ("kubectl",)
    ctr = (
        (await tools_container(python_tool_image(call.config, python_image), ca, needed))
        .with_directory(RUNTIME_DIR, runtime_directory(source))
        .with_new_file(PREVIEW_SETTINGS_PATH, json.dumps(call.settings.to_json()))
        .with_workdir(WORKDIR)
        .with_env_variable("PYTHONPATH", RUNTIME_DIR)
        .with_env_variable("PIPELINE_RUN", str(time.time_ns()))  # side effects: never cached
        .with_mounted_secret(KUBECONFIG_PATH, kubeconfig)
    )
    if call.action == "up":
        ctr = ctr.with_directory(f"{WORKDIR}/k8s", source.directory("k8s"))
    args = preview_cli_args(call.action, call.pr, extra)
    done = ctr.with_exec(args, expect=dagger.ReturnType.ANY)
    code = await done.exit_code()
    out = await done.stdout()
    if code != 0:
        errors = (await done.stderr()).strip()
        raise DeployFailed(
            f"preview {call.action} failed (exit {code}):\n{out.strip()}\n{errors}".strip()
        )
    return done.directory(REPORT_DIR), out
