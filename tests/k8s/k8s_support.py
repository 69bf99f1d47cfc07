"""Shared helpers of the k8s tests: tool discovery, chart variants, rendering.

Tools come from $TOOLS_DIR/bin (default ~/.cache/blog-creator/tools/bin, filled by
scripts/install-k8s-tools.sh) or PATH. A missing tool FAILS the test with the install command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "k8s" / "chart"
ENVIRONMENTS = REPO / "k8s" / "environments"
PLATFORM = REPO / "k8s" / "platform"
CRD_DIR = (REPO / ".." / "shared" / "crds").resolve()
PIPELINE_YAML = REPO / "pipeline.yaml"
# What a deploy applies: pipeline.yaml's release name in the environment's namespace.
RELEASE = "blog-creator"
FULLNAME = "blog-creator"  # blog.fullname of release "blog-creator" (it contains the chart name)
DIGEST_BACKEND = "sha256:" + "b" * 64
DIGEST_FRONTEND = "sha256:" + "f" * 64
DIGEST_SETS = [f"image.backend.digest={DIGEST_BACKEND}", f"image.frontend.digest={DIGEST_FRONTEND}"]
INSTALL_HINT = (
    "run `bash scripts/install-k8s-tools.sh --with-checkov` (installs into $TOOLS_DIR/bin)"
)


def pipeline_environments() -> dict[str, dict[str, Any]]:
    """pipeline.yaml's `environments:` (the canonical namespaces, release names, values files)."""
    return yaml.safe_load(PIPELINE_YAML.read_text())["environments"]


def namespace_of(env: str) -> str:
    """The namespace pipeline.yaml deploys the environment `env` (its values file's name) to."""
    for name, settings in pipeline_environments().items():
        if name == env:
            return settings["namespace"]
    raise LookupError(f"environment {env!r} is not in pipeline.yaml")


def release_of(env: str) -> str:
    return pipeline_environments()[env].get("release_name", "blog-creator")


def tools_bin() -> Path:
    return (
        Path(os.environ.get("TOOLS_DIR", Path.home() / ".cache" / "blog-creator" / "tools")) / "bin"
    )


def find_tool(name: str) -> str:
    candidate = tools_bin() / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found in {tools_bin()} or PATH: {INSTALL_HINT}", pytrace=False)
    return found


@dataclass(frozen=True)
class Variant:
    """One way to render the chart: an environment file plus --set overrides."""

    name: str
    env: str
    sets: tuple[str, ...] = ()

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def namespace(self) -> str:
        return namespace_of(self.env)


# Every environment, and every optional feature switched on at least once.
VARIANTS = [
    Variant("dev", "dev"),
    Variant("staging", "staging", tuple(DIGEST_SETS)),
    Variant("prod", "prod", tuple(DIGEST_SETS)),
    Variant(
        "prod-bluegreen",
        "prod",
        (*DIGEST_SETS, "strategy=blueGreen", "blueGreen.autoPromotionEnabled=false"),
    ),
    Variant("canary-istio", "dev", (*DIGEST_SETS, "strategy=canary", "mesh.istio.enabled=true")),
    Variant("canary-plain", "dev", ("strategy=canary",)),
    Variant("bluegreen-linkerd", "dev", ("strategy=blueGreen", "mesh.linkerd.enabled=true")),
    Variant(
        "httproute-shared-gateway",
        "dev",
        (
            "routing.mode=httpRoute",
            "routing.httpRoute.gateway.name=shared",
            "routing.httpRoute.gateway.namespace=gateways",
        ),
    ),
    Variant(
        "externalsecrets-hpa-custom",
        "dev",
        (
            "externalSecrets.enabled=true",
            "backend.autoscaling.enabled=true",
            "backend.autoscaling.customMetric.enabled=true",
            "frontend.autoscaling.enabled=true",
        ),
    ),
    Variant(
        "managed-services",
        "dev",
        (
            "networkPolicy.redis.cidrs={10.20.0.0/16}",
            "networkPolicy.elasticsearch.cidrs={10.30.0.0/16}",
            "config.redisUrl=rediss://redis.example-cloud.com:6380/0",
            "config.elasticsearchUrl=https://search.example-cloud.com:9243",
        ),
    ),
    Variant(
        "minimal",
        "dev",
        (
            "routing.mode=none",
            "tests.enabled=false",
            "otel.enabled=false",
            "metrics.serviceMonitor.enabled=false",
            "metrics.prometheusRule.enabled=false",
            "metrics.dashboard.enabled=false",
        ),
    ),
    # Deployments everywhere with staging's features: lets checkov (which ignores Rollouts) see the pods.
    Variant("staging-rolling", "staging", (*DIGEST_SETS, "strategy=rolling")),
]
VARIANT_IDS = [v.name for v in VARIANTS]


def helm_template(
    helm: str, env: str, sets: tuple[str, ...] | list[str] = (), extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    cmd = [
        helm,
        "template",
        release_of(env),
        str(CHART),
        "--namespace",
        namespace_of(env),
        "-f",
        str(ENVIRONMENTS / f"{env}.yaml"),
    ]
    for item in sets:
        cmd += ["--set", item]
    return subprocess.run([*cmd, *extra], check=False, capture_output=True, text=True, timeout=60)


@dataclass
class Render:
    variant: Variant
    text: str
    docs: list[dict[str, Any]]

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] in kinds]

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next(
            (d for d in self.docs if d["kind"] == kind and d["metadata"]["name"] == name), None
        )

    def workloads(self) -> list[dict[str, Any]]:
        return self.of_kind("Deployment", "Rollout")
