"""values.schema.json and the chart's `fail` rules reject bad values with messages naming the field."""

from __future__ import annotations

import subprocess
import sys

import pytest
from k8s_support import CHART, DIGEST_SETS, REPO, helm_template

# (what is wrong, --set overrides on top of environments/dev.yaml, text the error must contain)
SCHEMA_CASES = [
    (
        "unknown strategy",
        ["strategy=bluegreen"],
        "at '/strategy': value must be one of 'rolling', 'blueGreen', 'canary'",
    ),
    (
        "unknown environment",
        ["environment=production"],
        "at '/environment': value must be one of 'dev', 'staging', 'prod'",
    ),
    ("short digest", ["image.backend.digest=sha256:abc"], "at '/image/backend/digest'"),
    (
        "tag inside repository",
        ["image.frontend.repository=Registry.example.com/Frontend:1.0"],
        "at '/image/frontend/repository'",
    ),
    ("zero replicas", ["backend.replicas=0"], "at '/backend/replicas': minimum: got 0, want 1"),
    (
        "memory quantity typo",
        ["backend.resources.limits.memory=512MB"],
        "at '/backend/resources/limits/memory'",
    ),
    (
        "unknown routing mode",
        ["routing.mode=nodePort"],
        "at '/routing/mode': value must be one of 'ingress', 'httpRoute', 'none'",
    ),
    ("URL instead of host name", ["routing.host=https://blog.example.com"], "at '/routing/host'"),
    ("unknown top-level key", ["replicas=3"], "additional properties 'replicas' not allowed"),
    (
        "error rate above 100 %",
        ["analysis.maxErrorRate=5"],
        "at '/analysis/maxErrorRate': maximum: got 5, want 1",
    ),
    (
        "availability as a percentage",
        ["metrics.prometheusRule.availabilityTarget=99.9"],
        "at '/metrics/prometheusRule/availabilityTarget'",
    ),
    (
        "bad topology policy",
        ["topologySpread.zone.whenUnsatisfiable=Never"],
        "at '/topologySpread/zone/whenUnsatisfiable'",
    ),
    (
        "literal secret in secrets.env",
        ["secrets.env[0].value=hunter2"],
        "at '/secrets/env/0': additional properties 'value' not allowed",
    ),
    (
        "secret in the ConfigMap",
        ["config.extra.JWT_SECRET=hunter2"],
        "at '/config/extra/JWT_SECRET'",
    ),
    (
        "secret as extraEnv",
        ["backend.extraEnv[0].name=OPENAI_API_KEY", "backend.extraEnv[0].value=sk-x"],
        "at '/backend/extraEnv/0/name'",
    ),
    (
        "credentials in the Redis URL",
        ["config.redisUrl=redis://user:pw@redis:6379/0"],
        "at '/config/redisUrl'",
    ),
    ("bad pull policy", ["image.pullPolicy=always"], "at '/image/pullPolicy'"),
    (
        "canary weight above 100",
        ["canary.steps[0].setWeight=150"],
        "at '/canary/steps/0/setWeight'",
    ),
    (
        "bad pause duration",
        ["canary.steps[1].pause.duration=two minutes"],
        "at '/canary/steps/1/pause/duration'",
    ),
    (
        "lower-case log level (the backend wants INFO)",
        ["config.logLevel=info"],
        "at '/config/logLevel'",
    ),
]

# Cross-field rules enforced by templates/_helpers.tpl "blog.validate".
TEMPLATE_CASES = [
    ("prod without digests", "prod", [], "image.backend.digest is required in prod"),
    (
        "prod frontend without digest",
        "prod",
        [DIGEST_SETS[0]],
        "image.frontend.digest is required in prod",
    ),
    (
        "prod with rolling",
        "prod",
        [*DIGEST_SETS, "strategy=rolling"],
        "prod requires a progressive strategy",
    ),
    (
        "prod auto-promotes",
        "prod",
        [*DIGEST_SETS, "strategy=blueGreen", "blueGreen.autoPromotionEnabled=true"],
        "blueGreen.autoPromotionEnabled must be false in prod",
    ),
    (
        "HPA min above max",
        "dev",
        [
            "backend.autoscaling.enabled=true",
            "backend.autoscaling.minReplicas=5",
            "backend.autoscaling.maxReplicas=2",
        ],
        "backend.autoscaling.minReplicas (5) must not exceed maxReplicas (2)",
    ),
    (
        "grace period shorter than drain",
        "dev",
        ["backend.terminationGracePeriodSeconds=10"],
        "backend.terminationGracePeriodSeconds (10) must exceed",
    ),
    (
        "httpRoute without gateway",
        "dev",
        ["routing.mode=httpRoute", "routing.httpRoute.gateway.name="],
        "routing.httpRoute.gateway.name is required",
    ),
]


def test_at_least_ten_kinds_of_bad_values() -> None:
    assert len(SCHEMA_CASES) >= 10


@pytest.mark.parametrize(("why", "sets", "message"), SCHEMA_CASES, ids=[c[0] for c in SCHEMA_CASES])
def test_schema_rejects_bad_value(helm: str, why: str, sets: list[str], message: str) -> None:
    proc = helm_template(helm, "dev", sets)
    assert proc.returncode != 0, f"{why}: accepted"
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("why", "env", "sets", "message"), TEMPLATE_CASES, ids=[c[0] for c in TEMPLATE_CASES]
)
def test_template_rule_rejects_bad_combination(
    helm: str, why: str, env: str, sets: list[str], message: str
) -> None:
    proc = helm_template(helm, env, sets)
    assert proc.returncode != 0, f"{why}: accepted"
    assert message in proc.stderr, proc.stderr


def test_good_overrides_are_accepted(helm: str) -> None:
    # --set keeps 0.02 a string; numbers that are not integers go through --set-json or a values file.
    proc = helm_template(
        helm,
        "dev",
        [
            *DIGEST_SETS,
            "strategy=canary",
            "routing.host=blog.internal.example.org",
            "backend.extraEnv[0].name=FEATURE_FLAG",
            "backend.extraEnv[0].value=on",
            "config.extra.RATE_LIMIT_LOGIN=20/minute",
        ],
        extra=("--set-json", "analysis.maxErrorRate=0.02"),
    )
    assert proc.returncode == 0, proc.stderr


def test_schema_file_matches_its_generator() -> None:
    proc = subprocess.run(
        [sys.executable, str(CHART / "gen_values_schema.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
