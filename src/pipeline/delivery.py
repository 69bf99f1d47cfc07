"""Dagger side of the delivery-metrics and preview functions (translation to Dagger API only).

`metrics` reads an environment's deploy history (ConfigMap `<release>-deploy-history`,
written by every deploy/promote/abort/rollback) with kubectl in the tools container and
prints the four delivery metrics; the computation is `pipeline.deploy.dora` (plain Python).
Every input is checked before any container is prepared.
"""

from __future__ import annotations

import time

import dagger

from pipeline.deploy.request import DeployInputError
from pipeline.deploy_container import (
    KUBECONFIG_PATH,
    REPORT_DIR,
    RUNTIME_DIR,
    WORKDIR,
    DeployFailed,
    runtime_directory,
    tools_container,
)

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
