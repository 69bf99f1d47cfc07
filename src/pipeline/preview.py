"""pipeline.yaml `preview` section -> the runtime's `PreviewSettings`, and the preview image tags.

Plain Python (no dagger): the preview functions (delivery.py) call it before any container is
prepared, so a bad value or a missing section fails at once, naming the field.
"""

from __future__ import annotations

import re

from pipeline.config import PipelineConfig
from pipeline.deploy.preview import PreviewSettings, check_pr, parse_duration
from pipeline.deploy.request import DeployInputError

_SHA = re.compile(r"^[0-9a-f]{7,40}$")


def preview_settings(config: PipelineConfig, context: str = "") -> PreviewSettings:
    """The preview settings, or DeployInputError naming the `preview.` field and the fix."""
    section = config.preview
    if section is None:
        raise DeployInputError(
            "pipeline.yaml preview: no preview section; add one with domain, cluster, ttl and "
            "quota (see docs/deploy.md, Preview environments)"
        )
    if context and context != section.cluster:
        raise DeployInputError(
            f"--context: {context!r} is not the preview cluster; previews run only on context "
            f"{section.cluster!r} (pipeline.yaml preview.cluster)"
        )
    base = config.environments.get(section.base_environment)
    if base is None:
        raise DeployInputError(
            f"preview.base_environment: {section.base_environment!r} is not an environment of "
            f"pipeline.yaml (known: {', '.join(config.environments)})"
        )
    settings = PreviewSettings(
        domain=section.domain,
        values_file=base.values_file,
        context=section.cluster,
        ttl_seconds=parse_duration(section.ttl, "preview.ttl"),
        max_ttl_seconds=parse_duration(section.max_ttl, "preview.max_ttl"),
        quota=dict(section.quota),
        limits={k: dict(v) for k, v in section.limits.items()},
        redis_url=section.redis_url,
        redis_databases=section.redis_databases,
        elasticsearch_index=section.elasticsearch_index,
        state_namespace=section.state_namespace,
        tls=section.tls,
        tls_secret=section.tls_secret,
        release=base.release_name,
        timeout_seconds=base.timeout_seconds,
        smoke_paths=(config.apps.frontend.health_path, "/"),
    )
    settings.check()
    return settings


def preview_tag(pr: int, revision: str) -> str:
    """`pr-N-<12 hex of the commit>`: the tag the preview's images are pushed with."""
    check_pr(pr)
    if not _SHA.match(revision):
        raise DeployInputError(
            "--revision: previews push images tagged pr-N-<commit>; pass "
            "--revision=$(git rev-parse HEAD) before `preview`"
        )
    return f"pr-{pr}-{revision[:12]}"
