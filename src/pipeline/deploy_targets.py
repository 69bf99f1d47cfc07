"""pipeline.yaml environment → `DeployTarget` (the orchestrator's view of an environment).

Runs in the Dagger module (and tests), not in the tools container: it reads the pydantic
config, and the orchestrator there only receives the resulting JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .config import ConfigError, PipelineConfig
from .deploy.ephemeral import overlay_values
from .deploy.gates import approval_gate, policy_gates, refused
from .deploy.kube import uses_rollouts
from .deploy.request import (
    AllowlistedFinding,
    ApprovalEvidence,
    DeployInputError,
    DeployRequest,
    DeployTarget,
    ReleaseEvidence,
    SmokeCheck,
    parse_json,
    resolve_images,
)
from .deploy.tools import Tool

# Environments that may deploy images by tag (everything else needs digests).
TAG_ALLOWED_ENVS = frozenset({"dev", "local"})


def target_for(
    config: PipelineConfig, env: str, context: str | None = None, smoke_api_path: str | None = None
) -> DeployTarget:
    """The deploy target for `env`, or DeployInputError naming the known environments."""
    if not env.strip():
        raise DeployInputError(f"--env: required; choose one of: {', '.join(config.environments)}")
    try:
        environment = config.environment(env)
    except ConfigError as e:
        raise DeployInputError(f"--env {env!r}: {e.problems[0].message}") from None
    frontend = config.apps.frontend
    checks = [SmokeCheck("health", frontend.health_path), SmokeCheck("page", "/")]
    if smoke_api_path:
        if not smoke_api_path.startswith("/"):
            raise DeployInputError(
                f"--smoke-api-path: {smoke_api_path!r} must be a URL path starting with '/'"
            )
        # Authenticated round trip with the test account token (skipped when no token is given).
        checks.append(SmokeCheck("api", smoke_api_path, authenticated=True))
    return DeployTarget(
        env=env,
        namespace=environment.namespace,
        values_file=environment.values_file,
        strategy=environment.strategy,
        url=environment.url,
        release=environment.release_name,
        require_approval=environment.require_approval,
        approval_environment=environment.github_environment or env,
        require_signature=environment.require_signature,
        require_digest=env not in TAG_ALLOWED_ENVS or environment.require_signature,
        create_namespace=environment.create_namespace,
        ephemeral=environment.ephemeral,
        context=context or environment.kube_context,
        timeout_seconds=environment.timeout_seconds,
        smoke_checks=tuple(checks),
        allowlist=tuple(AllowlistedFinding(e.id, e.expires) for e in config.scan.allowlist),
        # The throwaway cluster's rehearsal overlay (`--set` after the values file).
        extra_values=overlay_values() if environment.ephemeral else (),
    )


# Actions that work on a release that outlives the call (not on the throwaway cluster).
PERSISTENT_ACTIONS = ("promote", "abort", "rollback", "status", "diff")


def check_call(action: str, target: DeployTarget, has_kubeconfig: bool, dry_run: bool) -> None:
    """Refuse a call that cannot work, before any container is prepared."""
    if target.ephemeral and action in PERSISTENT_ACTIONS:
        raise DeployInputError(
            f"--env {target.env}: a throwaway cluster lives only for one `deploy` call; "
            f"`{action}` needs an environment with a persistent cluster (dev, staging, prod)"
        )
    if not target.ephemeral and not has_kubeconfig and not (action == "deploy" and dry_run):
        raise DeployInputError(
            f"--kubeconfig: required for `{action} --env {target.env}`; pass "
            "--kubeconfig file://~/.kube/config or env://KUBECONFIG_DATA"
            + (" (or --dry-run to only render)" if action == "deploy" else "")
        )


# Actions that read or change a release's images (the others act on what is deployed).
IMAGE_ACTIONS = ("deploy", "diff")


def preflight(
    action: str,
    target: DeployTarget,
    given_images: Mapping[str, str],
    release_report: str | None,
    *,
    approved_by: str = "",
    approval: ApprovalEvidence | None = None,
    kubeconfig_given: bool = False,
    dry_run: bool = False,
    today: dt.date | None = None,
) -> None:
    """The runtime's own checks that need no tool (image references, release report, the
    policy gates), run before any container is prepared or any tool downloaded."""
    if action == "promote" and target.require_approval:
        gate = approval_gate(
            DeployRequest(target, {}, approved_by=approved_by or None, approval=approval)
        )
        if not gate.passed:
            raise DeployInputError(
                f"{action} --env {target.env} refused before touching the cluster: "
                f"{gate.name}: {gate.detail}"
            )
    if action not in IMAGE_ACTIONS:
        return
    evidence = None
    if release_report is not None:
        data = parse_json(release_report, "--release-report")
        evidence = ReleaseEvidence.from_json(data, "--release-report")
    images = resolve_images(given_images, evidence)
    if action != "deploy":
        return
    request = DeployRequest(
        target,
        images,
        dry_run=dry_run,
        kubeconfig_given=kubeconfig_given or target.ephemeral,
        approved_by=approved_by.strip() or None,
        approval=approval,
        evidence=evidence,
    )
    bad = refused(policy_gates(request, today or dt.datetime.now(dt.UTC).date()))
    if bad:
        raise DeployInputError(
            f"{action} --env {target.env} refused before touching the cluster: "
            + "; ".join(f"{g.name}: {g.detail}" for g in bad)
        )


def tools_for(action: str, target: DeployTarget, dry_run: bool) -> tuple[Tool, ...]:
    """The cluster tools an action runs (a dry run renders: helm, plus cosign to verify)."""
    cosign: tuple[Tool, ...] = ("cosign",) if target.require_signature else ()
    if action == "deploy" and dry_run:
        return ("helm", *cosign)
    if action == "diff":
        return ("helm",)
    if action == "status":
        return ("helm", "kubectl")
    rollouts: tuple[Tool, ...] = ("rollouts",) if uses_rollouts(target.strategy) else ()
    if action == "deploy":
        return ("helm", "kubectl", *rollouts, *cosign)
    return ("helm", "kubectl", *rollouts)
