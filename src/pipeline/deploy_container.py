"""Dagger side of the deploy functions: the tools container and the throwaway k3s service.

Only translation to Dagger API calls lives here. The @functions in main.py call
`deploy_action`, which resolves the environment and checks every input first (no download
before that), then prepares a container with the cluster tools the action runs (helm,
kubectl, the Argo Rollouts kubectl plugin, cosign), mounts the kubeconfig as a secret file
(`--env local`: the orchestrator fetches the throwaway cluster's into a tmpfs),
copies the chart and the whole `pipeline.deploy` package (standard library only) in, and
runs `python -m pipeline.deploy ACTION ...` — the same CLI that runs on a laptop. `deploy
--env local` runs `python -m pipeline.deploy.rehearse deploy ...` instead: the same CLI twice
on one throwaway cluster, a baseline install and then the release as an upgrade. Every
decision (gates, strategy, verification, rollback) is made by that plain-Python code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import toolchain
from pipeline.containers import with_ca
from pipeline.deploy import ephemeral, rehearse
from pipeline.deploy.kube import uses_rollouts
from pipeline.deploy.request import SMOKE_TOKEN_ENV, ApprovalEvidence, DeployTarget
from pipeline.deploy.tools import Tool
from pipeline.deploy_targets import check_call, preflight, target_for, tools_for

WORKDIR = "/deploy"
RUNTIME_DIR = "/opt/deploy"
RUNTIME_PACKAGE = "src/pipeline/deploy"
KUBECONFIG_PATH = "/run/secrets/kubeconfig"
REPORT_DIR = f"{WORKDIR}/reports"


class DeployFailed(Exception):
    """The orchestrator exited non-zero; the message is its report (what failed, what was restored)."""


@dataclass
class DeployInputs:
    """Arguments of one deploy-family call, as Dagger objects (secrets stay Secrets)."""

    action: str
    env: str
    kubeconfig: dagger.Secret | None = None
    context: str = ""
    backend_image: str = ""
    frontend_image: str = ""
    release_report: dagger.File | None = None
    cosign_key: dagger.File | None = None
    cosign_identity: str = ""
    cosign_issuer: str = ""
    approved_by: str = ""
    approval_environment: str = ""  # approval evidence, as the caller states it
    approval_run_url: str = ""
    approval_actor: str = ""
    smoke_token: dagger.Secret | None = None
    smoke_api_path: str = ""
    version: str = ""
    dry_run: bool = False
    revision: int = 0
    full: bool = False
    commit: str = ""  # delivery history: the commit deployed and its time (lead time)
    commit_time: str = ""
    history_limit: int = 0  # 0: the runtime's default
    # False: a failed, refused or not-restored action returns its report instead of raising
    fail_on_error: bool = True


# Executable name in the tools container of each cluster tool (as pipeline.deploy.tools runs it).
EXECUTABLES: dict[Tool, str] = {
    "helm": "helm",
    "kubectl": "kubectl",
    "rollouts": "kubectl-argo-rollouts",
    "cosign": "cosign",
}


# Entry of each cluster tool in src/pipeline/toolchain.json (versions, URLs, SHA-256).
TOOLCHAIN_NAMES: dict[Tool, str] = {
    "helm": "helm",
    "kubectl": "kubectl",
    "rollouts": "argo-rollouts",
    "cosign": "cosign",
}


def tool_downloads(arch: str) -> dict[Tool, toolchain.Download]:
    """The pinned tools' release downloads for linux/<arch>, from the toolchain table."""
    return {tool: toolchain.download(name, arch) for tool, name in TOOLCHAIN_NAMES.items()}


def tool_urls(arch: str) -> dict[Tool, str]:
    """Official release downloads of the pinned tools for linux/<arch>."""
    return {tool: d.url for tool, d in tool_downloads(arch).items()}


def verified_http(url: str, sha256: str | None) -> dagger.File:
    """A download the engine checks against its published SHA-256 (a mismatch fails the
    call naming the URL); only a table entry without a published digest goes unchecked."""
    return dag.http(url, checksum=f"sha256:{sha256}") if sha256 else dag.http(url)


def argo_rollouts_manifest() -> dagger.File:
    """The Argo Rollouts install manifest of the local cluster, checked by its SHA-256."""
    entry = toolchain.tool("argo-rollouts").raw["install_manifest"]
    return verified_http(str(entry["url"]), str(entry["sha256"]))


async def tools_container(
    python_image: str, ca: dagger.File | None, needed: Sequence[Tool]
) -> dagger.Container:
    """Python (for the runtime) + the cluster tools in `needed`, nothing else downloaded."""
    platform = str(await dag.default_platform())
    arch = "arm64" if "arm64" in platform else "amd64"
    downloads = tool_downloads(arch)
    ctr = with_ca(dag.container().from_(python_image), ca)
    for tool in needed:
        d = downloads[tool]
        if tool == "helm":
            ctr = (
                ctr.with_file("/tmp/helm.tgz", verified_http(d.url, d.sha256))
                .with_exec(
                    ["tar", "-xzf", "/tmp/helm.tgz", "-C", "/usr/local/bin"]
                    + ["--strip-components=1", d.member or f"linux-{arch}/helm"]
                )
                .with_mounted_cache("/root/.cache/helm", dag.cache_volume("pipeline-helm"))
            )
        else:
            path = f"/usr/local/bin/{EXECUTABLES[tool]}"
            ctr = ctr.with_file(path, verified_http(d.url, d.sha256), permissions=0o755)
    return ctr


def runtime_directory(source: dagger.Directory) -> dagger.Directory:
    """The whole `pipeline.deploy` package under an empty `pipeline` (standard library only)."""
    return (
        dag.directory()
        .with_new_file("pipeline/__init__.py", "")
        .with_directory("pipeline/deploy", source.directory(RUNTIME_PACKAGE))
    )


def ephemeral_cluster(nonce: str) -> dagger.Service:
    """A fresh single-node k3s as a Dagger service, reached as `k3s` (API on 6443).

    Its admin kubeconfig stays in tmpfs mounts of this service and is handed out once on
    `ephemeral.HANDOFF_PORT` to the tools container (see pipeline.deploy.ephemeral): no cache
    volume, File or layer holds it. The cluster lives as long as the function call that binds
    it: it is torn down after, and its tmpfs with it.
    """
    return (
        dag.container()
        .from_(toolchain.image("k3s"))
        .with_new_file("/usr/bin/entrypoint.sh", ephemeral.K3S_ENTRYPOINT, permissions=0o755)
        .with_new_file(
            ephemeral.SERVICE_SCRIPT_PATH, ephemeral.K3S_SERVICE_SCRIPT, permissions=0o755
        )
        .with_new_file(ephemeral.SERVE_ONCE_PATH, ephemeral.K3S_SERVE_ONCE, permissions=0o700)
        .with_new_file(ephemeral.INETD_CONF_PATH, ephemeral.INETD_CONF, permissions=0o600)
        .with_entrypoint(["entrypoint.sh"])
        # One service per call (identical definitions would share one running service).
        .with_env_variable("PIPELINE_RUN", nonce)
        .with_mounted_temp(ephemeral.K3S_CONFIG_DIR)
        .with_mounted_temp(ephemeral.HANDOFF_DIR)
        .with_mounted_temp("/etc/lib/cni")
        .with_mounted_temp("/var/lib/kubelet")
        .with_mounted_temp("/var/lib/rancher/k3s")
        .with_mounted_temp("/var/log")
        .with_exposed_port(6443)
        # No health check on the handoff port: a health-check dial would take the one copy.
        .with_exposed_port(ephemeral.HANDOFF_PORT, experimental_skip_healthcheck=True)
        .as_service(
            args=[ephemeral.SERVICE_SCRIPT_PATH],
            use_entrypoint=True,
            insecure_root_capabilities=True,
        )
    )


def uses_cluster(inputs: DeployInputs) -> bool:
    """Everything but a dry run talks to a cluster."""
    return not (inputs.action == "deploy" and inputs.dry_run)


def orchestrator_args(inputs: DeployInputs, target: DeployTarget) -> list[str]:
    """CLI arguments (paths and public values only; secrets are mounted files/variables)."""
    args = [inputs.action, "--target", f"{WORKDIR}/target.json", "--chart", "k8s/chart"]
    args += ["--report-dir", REPORT_DIR]
    pairs = {
        "--backend-image": inputs.backend_image,
        "--frontend-image": inputs.frontend_image,
        "--cosign-identity": inputs.cosign_identity,
        "--cosign-issuer": inputs.cosign_issuer,
        "--approved-by": inputs.approved_by,
        "--approval-environment": inputs.approval_environment,
        "--approval-run-url": inputs.approval_run_url,
        "--approval-actor": inputs.approval_actor,
        "--version": inputs.version,
        "--commit": inputs.commit,
        "--commit-time": inputs.commit_time,
    }
    for flag, value in pairs.items():
        if value:
            args += [flag, value]
    if target.ephemeral and uses_cluster(inputs):
        address = f"{ephemeral.K3S_HOST}:{ephemeral.HANDOFF_PORT}"
        args += ["--kubeconfig", ephemeral.TOOLS_KUBECONFIG, "--kubeconfig-from", address]
    elif inputs.kubeconfig is not None:
        args += ["--kubeconfig", KUBECONFIG_PATH]
    if inputs.release_report is not None:
        args += ["--release-report", f"{WORKDIR}/release.json"]
    if inputs.cosign_key is not None:
        args += ["--cosign-key", f"{WORKDIR}/cosign.pub"]
    if inputs.dry_run:
        args.append("--dry-run")
    if inputs.revision:
        args += ["--revision", str(inputs.revision)]
    if inputs.full:
        args.append("--full")
    if inputs.history_limit:
        args += ["--history-limit", str(inputs.history_limit)]
    return args


def rehearses_upgrade(inputs: DeployInputs, target: DeployTarget) -> bool:
    """`deploy --env local` deploys twice on its throwaway cluster: a baseline, then the
    release as an upgrade (pipeline.deploy.rehearse; a first install runs no canary step)."""
    return target.ephemeral and inputs.action == "deploy" and not inputs.dry_run


def runtime_module(inputs: DeployInputs, target: DeployTarget) -> str:
    """The deploy runtime's entry point: `pipeline.deploy`, or its two-deploy rehearsal."""
    return "pipeline.deploy.rehearse" if rehearses_upgrade(inputs, target) else "pipeline.deploy"


async def failure_report(
    done: dagger.Container, inputs: DeployInputs, target: DeployTarget
) -> str | None:
    """Where the failed call wrote its report (the rehearsal: the upgrade's, else the
    baseline's when the baseline failed), or None when it wrote none."""
    name = f"{inputs.action}-{target.env}.json"
    paths = [f"{REPORT_DIR}/{name}"]
    if rehearses_upgrade(inputs, target):
        paths.append(f"{REPORT_DIR}/{rehearse.BASELINE_DIR}/{name}")
    for path in paths:
        if await done.exists(path):
            return path
    return None


async def run_orchestrator(
    inputs: DeployInputs,
    target: DeployTarget,
    source: dagger.Directory,
    python_image: str,
    ca: dagger.File | None = None,
) -> tuple[dagger.Directory, str]:
    """Run the orchestrator once (never from cache); returns (reports, Markdown report).

    Raises DeployFailed with the report when it exits non-zero, unless
    `inputs.fail_on_error` is False and it wrote its report (ACTION-ENV.json with the
    outcome and exit code): then that report is returned, for `export` to write.
    """
    nonce = str(time.time_ns())
    needed = tools_for(inputs.action, target, inputs.dry_run)
    ctr = (
        (await tools_container(python_image, ca, needed))
        .with_directory(f"{WORKDIR}/k8s", source.directory("k8s"))
        .with_directory(RUNTIME_DIR, runtime_directory(source))
        .with_new_file(f"{WORKDIR}/target.json", json.dumps(target.to_json()))
        .with_workdir(WORKDIR)
        .with_env_variable("PYTHONPATH", RUNTIME_DIR)
        # A deploy must really run each time, even with identical inputs.
        .with_env_variable("PIPELINE_RUN", nonce)
    )
    if target.ephemeral and uses_cluster(inputs):
        # The orchestrator fetches the kubeconfig itself (--kubeconfig-from) into this tmpfs.
        ctr = ctr.with_service_binding(
            ephemeral.K3S_HOST, ephemeral_cluster(nonce)
        ).with_mounted_temp(ephemeral.TOOLS_KUBECONFIG_DIR)
        if uses_rollouts(target.strategy):
            ctr = ctr.with_file(ephemeral.ARGO_ROLLOUTS_MANIFEST, argo_rollouts_manifest())
    elif inputs.kubeconfig is not None:
        ctr = ctr.with_mounted_secret(KUBECONFIG_PATH, inputs.kubeconfig)
    if inputs.smoke_token is not None:
        ctr = ctr.with_secret_variable(SMOKE_TOKEN_ENV, inputs.smoke_token)
    if inputs.release_report is not None:
        ctr = ctr.with_file(f"{WORKDIR}/release.json", inputs.release_report)
    if inputs.cosign_key is not None:
        ctr = ctr.with_file(f"{WORKDIR}/cosign.pub", inputs.cosign_key)
    done = ctr.with_exec(
        ["python", "-m", runtime_module(inputs, target), *orchestrator_args(inputs, target)],
        expect=dagger.ReturnType.ANY,
    )
    code = await done.exit_code()
    report = await done.stdout()
    # Input errors stop the orchestrator before it writes a report: nothing to return.
    if code != 0 and (inputs.fail_on_error or await failure_report(done, inputs, target) is None):
        errors = (await done.stderr()).strip()
        missing = "" if inputs.fail_on_error else "\n(it wrote no report to return)"
        raise DeployFailed(
            f"{inputs.action} --env {target.env} failed (exit {code}):\n"
            f"{report.strip()}\n{errors}".strip()
            + missing
        )
    return done.directory(REPORT_DIR), report


async def deploy_action(
    source: dagger.Directory,
    python_image: str,
    ca: dagger.File | None,
    inputs: DeployInputs,
) -> tuple[dagger.Directory, str]:
    """Resolve the environment in pipeline.yaml and check every input (nothing downloaded or
    started before that), then run the orchestrator."""
    from pipeline.config import parse_config_text
    from pipeline.plans import python_tool_image

    config = parse_config_text(await source.file("pipeline.yaml").contents())
    target = target_for(config, inputs.env, inputs.context or None, inputs.smoke_api_path or None)
    inputs.history_limit = config.metrics.history_limit
    check_call(inputs.action, target, inputs.kubeconfig is not None, inputs.dry_run)
    release_report = None
    if inputs.release_report is not None:
        release_report = await inputs.release_report.contents()
    preflight(
        inputs.action,
        target,
        {"backend": inputs.backend_image, "frontend": inputs.frontend_image},
        release_report,
        approved_by=inputs.approved_by,
        approval=ApprovalEvidence.from_flags(
            inputs.approval_environment, inputs.approval_run_url, inputs.approval_actor
        ),
        kubeconfig_given=inputs.kubeconfig is not None,
        dry_run=inputs.dry_run,
    )
    image = python_tool_image(config, python_image)
    return await run_orchestrator(inputs, target, source, image, ca)
