"""Dagger side of the deploy functions: the tools container and the throwaway k3s cluster.

Only translation to Dagger API calls lives here. The @functions in main.py call
`deploy_action`, which prepares a container with helm, kubectl, the Argo Rollouts kubectl
plugin and cosign, mounts the kubeconfig as a secret file, copies the chart and the
`pipeline.deploy` package (standard library only) in, and runs
`python -m pipeline.deploy ACTION ...` — the same CLI that runs on a laptop.
Every decision (gates, strategy, verification, rollback) is made by that plain-Python code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import dagger
from dagger import dag

from pipeline.deploy.request import DeployTarget
from pipeline.deploy_targets import allowlist_json, check_call, target_for

HELM_VERSION = "v4.1.4"
KUBECTL_VERSION = "v1.35.2"
ARGO_ROLLOUTS_PLUGIN_VERSION = "v1.8.3"
COSIGN_VERSION = "v2.4.1"
K3S_IMAGE = "rancher/k3s:v1.33.5-k3s1"

WORKDIR = "/deploy"
RUNTIME_DIR = "/opt/deploy"
KUBECONFIG_PATH = "/run/secrets/kubeconfig"
REPORT_DIR = f"{WORKDIR}/reports"
K3S_HOST = "k3s"

# k3s inside a container on cgroup v2 needs its own cgroup subtree before it starts
# (the same preparation k3d and kind do in their entrypoints).
K3S_ENTRYPOINT = """#!/bin/sh
set -eu
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers \\
    > /sys/fs/cgroup/cgroup.subtree_control
fi
exec "$@"
"""


class DeployFailed(Exception):
    """The orchestrator exited non-zero; the message is its report (what failed, what was restored)."""


@dataclass
class DeployInputs:
    """Arguments of a deploy-family function, as Dagger objects (secrets stay Secrets)."""

    action: str
    kubeconfig: dagger.Secret | None = None
    backend_image: str = ""
    frontend_image: str = ""
    release_report: dagger.File | None = None
    cosign_key: dagger.File | None = None
    cosign_identity: str = ""
    cosign_issuer: str = ""
    approved_by: str = ""
    smoke_token: dagger.Secret | None = None
    version: str = ""
    dry_run: bool = False
    revision: int = 0
    full: bool = False
    allowlist_json: str = "[]"
    extra_args: list[str] = field(default_factory=lambda: list[str]())


def tool_urls(arch: str) -> dict[str, str]:
    """Official release downloads of the pinned tools for linux/<arch>."""
    return {
        "helm": f"https://get.helm.sh/helm-{HELM_VERSION}-linux-{arch}.tar.gz",
        "kubectl": f"https://dl.k8s.io/release/{KUBECTL_VERSION}/bin/linux/{arch}/kubectl",
        "kubectl-argo-rollouts": (
            "https://github.com/argoproj/argo-rollouts/releases/download/"
            f"{ARGO_ROLLOUTS_PLUGIN_VERSION}/kubectl-argo-rollouts-linux-{arch}"
        ),
        "cosign": (
            f"https://github.com/sigstore/cosign/releases/download/{COSIGN_VERSION}/"
            f"cosign-linux-{arch}"
        ),
    }


async def tools_container(python_image: str, ca: dagger.File | None) -> dagger.Container:
    """Python (for the orchestrator) + helm, kubectl, kubectl-argo-rollouts and cosign."""
    platform = str(await dag.default_platform())
    arch = "arm64" if "arm64" in platform else "amd64"
    urls = tool_urls(arch)
    ctr = dag.container().from_(python_image)
    if ca is not None:
        ctr = ctr.with_file("/etc/pipeline/ca.pem", ca).with_env_variable(
            "SSL_CERT_FILE", "/etc/pipeline/ca.pem"
        )
    for name in ("kubectl", "kubectl-argo-rollouts", "cosign"):
        ctr = ctr.with_file(f"/usr/local/bin/{name}", dag.http(urls[name]), permissions=0o755)
    return (
        ctr.with_file("/tmp/helm.tgz", dag.http(urls["helm"]))
        .with_exec(
            [
                "tar",
                "-xzf",
                "/tmp/helm.tgz",
                "-C",
                "/usr/local/bin",
                "--strip-components=1",
                f"linux-{arch}/helm",
            ]
        )
        .with_mounted_cache("/root/.cache/helm", dag.cache_volume("pipeline-helm"))
    )


RUNTIME_PACKAGE = "src/pipeline/deploy"


def runtime_directory(source: dagger.Directory) -> dagger.Directory:
    """The whole `pipeline.deploy` package under an empty `pipeline` (standard library only)."""
    return (
        dag.directory()
        .with_new_file("pipeline/__init__.py", "")
        .with_directory("pipeline/deploy", source.directory(RUNTIME_PACKAGE))
    )


def ephemeral_cluster(nonce: str, shell_image: str) -> tuple[dagger.Service, dagger.File]:
    """A fresh single-node k3s as a Dagger service, and a kubeconfig that reaches it as `k3s`.

    The cluster lives as long as the function call that binds it: it is torn down after.
    """
    config = dag.cache_volume(f"pipeline-k3s-config-{nonce}")
    server = (
        dag.container()
        .from_(K3S_IMAGE)
        .with_new_file("/usr/bin/entrypoint.sh", K3S_ENTRYPOINT, permissions=0o755)
        .with_entrypoint(["entrypoint.sh"])
        .with_mounted_cache("/etc/rancher/k3s", config)
        .with_mounted_temp("/etc/lib/cni")
        .with_mounted_temp("/var/lib/kubelet")
        .with_mounted_temp("/var/lib/rancher/k3s")
        .with_mounted_temp("/var/log")
        .with_exposed_port(6443)
        .as_service(
            args=[
                "sh",
                "-c",
                (
                    "k3s server --disable traefik --disable metrics-server "
                    f"--egress-selector-mode=disabled --tls-san={K3S_HOST}"
                ),
            ],
            use_entrypoint=True,
            insecure_root_capabilities=True,
        )
    )
    kubeconfig = (
        dag.container()
        .from_(shell_image)
        .with_mounted_cache("/cache", config)
        .with_service_binding(K3S_HOST, server)
        .with_env_variable("PIPELINE_RUN", nonce)
        .with_exec(
            [
                "sh",
                "-c",
                (
                    "i=0; until [ -f /cache/k3s.yaml ]; do i=$((i+1)); "
                    '[ "$i" -gt 180 ] && echo "k3s wrote no kubeconfig in 180s" >&2 && exit 1; '
                    "sleep 1; done; "
                    f"sed 's#https://127.0.0.1:6443#https://{K3S_HOST}:6443#' /cache/k3s.yaml "
                    "> /kubeconfig"
                ),
            ]
        )
        .file("/kubeconfig")
    )
    return server, kubeconfig


def orchestrator_args(inputs: DeployInputs, target: DeployTarget) -> list[str]:
    """CLI arguments (paths and public values only; secrets are mounted files/variables)."""
    args = [inputs.action, "--target", f"{WORKDIR}/target.json", "--chart", "k8s/chart"]
    args += ["--report-dir", REPORT_DIR, "--allowlist", f"{WORKDIR}/allowlist.json"]
    pairs = {
        "--backend-image": inputs.backend_image,
        "--frontend-image": inputs.frontend_image,
        "--cosign-identity": inputs.cosign_identity,
        "--cosign-issuer": inputs.cosign_issuer,
        "--approved-by": inputs.approved_by,
        "--version": inputs.version,
    }
    for flag, value in pairs.items():
        if value:
            args += [flag, value]
    if inputs.kubeconfig is not None or target.ephemeral:
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
    return [*args, *inputs.extra_args]


async def run_orchestrator(
    inputs: DeployInputs,
    target: DeployTarget,
    source: dagger.Directory,
    python_image: str,
    ca: dagger.File | None = None,
) -> tuple[dagger.Directory, str]:
    """Run the orchestrator once (never from cache); returns (reports, Markdown report).

    Raises DeployFailed with the report when it exits non-zero.
    """
    nonce = str(time.time_ns())
    ctr = (
        (await tools_container(python_image, ca))
        .with_directory(f"{WORKDIR}/k8s", source.directory("k8s"))
        .with_directory(RUNTIME_DIR, runtime_directory(source))
        .with_new_file(f"{WORKDIR}/target.json", json.dumps(target.to_json()))
        .with_new_file(f"{WORKDIR}/allowlist.json", inputs.allowlist_json)
        .with_workdir(WORKDIR)
        .with_env_variable("PYTHONPATH", RUNTIME_DIR)
        # A deploy must really run each time, even with identical inputs.
        .with_env_variable("PIPELINE_RUN", nonce)
    )
    if target.ephemeral:
        server, kubeconfig = ephemeral_cluster(nonce, python_image)
        ctr = ctr.with_service_binding(K3S_HOST, server).with_file(KUBECONFIG_PATH, kubeconfig)
    elif inputs.kubeconfig is not None:
        ctr = ctr.with_mounted_secret(KUBECONFIG_PATH, inputs.kubeconfig)
    if inputs.smoke_token is not None:
        ctr = ctr.with_secret_variable("DEPLOY_SMOKE_TOKEN", inputs.smoke_token)
    if inputs.release_report is not None:
        ctr = ctr.with_file(f"{WORKDIR}/release.json", inputs.release_report)
    if inputs.cosign_key is not None:
        ctr = ctr.with_file(f"{WORKDIR}/cosign.pub", inputs.cosign_key)
    done = ctr.with_exec(
        ["python", "-m", "pipeline.deploy", *orchestrator_args(inputs, target)],
        expect=dagger.ReturnType.ANY,
    )
    code = await done.exit_code()
    report = await done.stdout()
    if code != 0:
        errors = (await done.stderr()).strip()
        raise DeployFailed(
            f"{inputs.action} --env {target.env} failed (exit {code}):\n"
            f"{report.strip()}\n{errors}".strip()
        )
    return done.directory(REPORT_DIR), report


async def deploy_action(
    source: dagger.Directory,
    python_image: str,
    ca: dagger.File | None,
    inputs: DeployInputs,
    env: str,
    context: str = "",
    smoke_api_path: str = "",
) -> tuple[dagger.Directory, str]:
    """Resolve `env` in pipeline.yaml, refuse impossible calls, then run the orchestrator."""
    from pipeline.config import parse_config_text
    from pipeline.plans import python_tool_image

    config = parse_config_text(await source.file("pipeline.yaml").contents())
    target = target_for(config, env, context or None, smoke_api_path or None)
    check_call(inputs.action, target, inputs.kubeconfig is not None, inputs.dry_run)
    inputs.allowlist_json = allowlist_json(config)
    image = python_tool_image(config, python_image)
    return await run_orchestrator(inputs, target, source, image, ca)
