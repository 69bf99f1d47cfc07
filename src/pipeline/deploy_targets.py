"""pipeline.yaml environment → `DeployTarget` (the orchestrator's view of an environment).

Runs in the Dagger module (and tests), not in the tools container: it reads the pydantic
config, and the orchestrator there only receives the resulting JSON.
"""

from __future__ import annotations

import json

from .config import ConfigError, PipelineConfig
from .deploy.ephemeral import LOCAL_VALUES
from .deploy.request import DeployInputError, DeployTarget, SmokeCheck

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
        require_signature=environment.require_signature,
        require_digest=env not in TAG_ALLOWED_ENVS or environment.require_signature,
        create_namespace=environment.create_namespace,
        ephemeral=environment.ephemeral,
        context=context or environment.kube_context,
        timeout_seconds=environment.timeout_seconds,
        smoke_checks=tuple(checks),
        extra_values=LOCAL_VALUES if environment.ephemeral else (),
    )


def allowlist_json(config: PipelineConfig) -> str:
    """pipeline.yaml's accepted findings for the orchestrator's expiry gate."""
    entries = [{"id": e.id, "expires": e.expires.isoformat()} for e in config.scan.allowlist]
    return json.dumps(entries)


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
