"""Gates and plan building: pure functions, no cluster involved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from deploy_fakes import BACKEND, DIGEST_A, FRONTEND, make_request, make_target, passing_evidence

from pipeline.config import load_config
from pipeline.deploy.gates import policy_gates, refused
from pipeline.deploy.helm import split_documents
from pipeline.deploy.helm import upgrade as helm_upgrade_args
from pipeline.deploy.request import (
    ApprovalEvidence,
    DeployInputError,
    DeployTarget,
    ImageRef,
    ReleaseEvidence,
    resolve_images,
)
from pipeline.deploy_targets import check_call, target_for

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 28)


def failed_gates(**kw: object) -> dict[str, str]:
    request = make_request(**kw)  # type: ignore[arg-type]
    return {g.name: g.detail for g in refused(policy_gates(request, TODAY))}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_tag_refused_where_digests_are_required(env: str) -> None:
    bad = failed_gates(target=make_target(env), frontend="ghcr.io/acme/frontend:latest")
    assert set(bad) == {"digest:frontend"}
    assert f"environment '{env}' deploys images by digest only" in bad["digest:frontend"]
    assert "--frontend-image REPO@sha256:<digest>" in bad["digest:frontend"]


def test_tag_allowed_in_dev() -> None:
    assert (
        failed_gates(
            target=make_target("dev", require_digest=False), backend="ghcr.io/acme/backend:dev"
        )
        == {}
    )


def test_approval_required_in_prod() -> None:
    target = make_target("prod", require_approval=True)
    assert "requires approval" in failed_gates(target=target)["approval"]
    # issue 17 item 9: a name alone no longer passes; the approval evidence does
    assert (
        "--approval-environment: missing"
        in failed_gates(target=target, approved_by="alice")["approval"]
    )
    approval = ApprovalEvidence("prod", "https://github.com/o/r/actions/runs/1", "alice")
    assert failed_gates(target=target, approval=approval) == {}


def test_missing_kubeconfig_refused_unless_dry_run() -> None:
    assert "--kubeconfig file://" in failed_gates(kubeconfig=False)["kubeconfig"]
    assert failed_gates(kubeconfig=False, dry_run=True) == {}


def test_signed_env_needs_release_report() -> None:
    bad = failed_gates(target=make_target(require_signature=True))
    assert "--release-report" in bad["scan"]


def test_failed_scan_refused() -> None:
    evidence = passing_evidence(scan={"passed": False})
    bad = failed_gates(target=make_target(require_signature=True), evidence=evidence)
    assert "the scan failed" in bad["scan"]


def test_expired_allowlist_refused() -> None:
    evidence = passing_evidence(
        scan={
            "passed": True,
            "allowlisted": [
                {"id": "CVE-2026-0001", "expires": "2026-11-27"},
                {"id": "CVE-2026-0002", "expires": "2027-01-01"},
            ],
        }
    )
    bad = failed_gates(target=make_target(require_signature=True), evidence=evidence)
    assert set(bad) == {"allowlist"}
    assert "CVE-2026-0001 (expired 2026-11-27)" in bad["allowlist"]
    assert "CVE-2026-0002" not in bad["allowlist"]


def test_allowlist_expiring_today_still_valid() -> None:
    evidence = passing_evidence(
        scan={"passed": True, "allowlisted": [{"id": "CVE-1", "expires": "2026-11-28"}]}
    )
    assert failed_gates(target=make_target(require_signature=True), evidence=evidence) == {}


def test_digest_not_in_release_report_refused() -> None:
    other = "ghcr.io/acme/backend@sha256:" + "c" * 64
    bad = failed_gates(
        target=make_target(require_signature=True), evidence=passing_evidence(), backend=other
    )
    assert "is not the one the release report scanned" in bad["evidence:backend"]


def test_passing_gates_explain_themselves() -> None:
    results = policy_gates(
        make_request(target=make_target(require_signature=True), evidence=passing_evidence()), TODAY
    )
    assert all(r.passed for r in results)
    assert {r.name: r.detail for r in results}["scan"] == "release report: scan passed"


# ------------------------------------------------------------------ images and helm args


def test_image_ref_parsing() -> None:
    ref = ImageRef.parse(f"localhost:5000/acme/backend:1.2@{DIGEST_A}", "x")
    assert (ref.repository, ref.tag, ref.digest) == ("localhost:5000/acme/backend", "1.2", DIGEST_A)
    assert str(ref) == f"localhost:5000/acme/backend:1.2@{DIGEST_A}"
    assert ImageRef.parse("localhost:5000/backend", "x").tag is None


def test_images_come_from_flags_then_release_report() -> None:
    evidence = passing_evidence()
    images = resolve_images({"backend": "", "frontend": "ghcr.io/acme/frontend:x"}, evidence)
    assert str(images["backend"]) == BACKEND
    assert str(images["frontend"]) == "ghcr.io/acme/frontend:x"


def test_helm_upgrade_args_full() -> None:
    target = make_target("dev", require_digest=False)
    target = type(target)(**{**target.__dict__, "create_namespace": True})
    request = make_request(target=target)
    args = helm_upgrade_args(request, 90)
    assert args[:4] == ["upgrade", "--install", "blog-creator", "k8s/chart"]
    assert "--create-namespace" in args
    assert args[args.index("--timeout") + 1] == "90s"
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set-string"]
    assert sets == [
        "image.backend.repository=ghcr.io/acme/backend",
        f"image.backend.digest={DIGEST_A}",
        "image.frontend.repository=ghcr.io/acme/frontend",
        "image.frontend.digest=sha256:" + "b" * 64,
        "strategy=rolling",
    ]
    assert "--wait" not in args  # the orchestrator waits per strategy, timed per phase


def test_split_documents_keys_by_kind_and_name() -> None:
    docs = split_documents(
        '---\n# Source: x\nkind: Service\nmetadata:\n  labels: {a: b}\n  name: web\n---\n\n---\nkind: Pod\nmetadata:\n  name: "p"\n'
    )
    assert sorted(docs) == ["Pod/p", "Service/web"]
    assert "# Source" not in docs["Service/web"]


# ------------------------------------------------------------------ pipeline.yaml → target


def test_targets_from_the_repository_pipeline_yaml() -> None:
    config = load_config(ROOT)
    prod = target_for(config, "prod")
    assert (
        prod.namespace,
        prod.strategy,
        prod.require_digest,
        prod.require_signature,
        prod.require_approval,
    ) == ("blog-prod", "canary", True, True, True)
    assert prod.values_file == "k8s/environments/prod.yaml"
    assert [c.path for c in prod.smoke_checks] == [config.apps.frontend.health_path, "/"]
    assert target_for(config, "dev").require_digest is False
    local = target_for(config, "local", smoke_api_path="/api/me")
    assert local.ephemeral and local.smoke_checks[-1].authenticated


def test_every_values_file_states_the_strategy_of_its_environment() -> None:
    """Plain `helm -f k8s/environments/<env>.yaml` renders the strategy pipeline.yaml deploys."""
    config = load_config(ROOT)
    for name, environment in config.environments.items():
        values = yaml.safe_load((ROOT / environment.values_file).read_text())
        assert values.get("strategy") == environment.strategy, (name, environment.values_file)


def test_local_values_fit_the_throwaway_cluster() -> None:
    """local (canary) has its own values: one node, no ingress/NetworkPolicies/operator CRDs,
    and the analysis reads the Prometheus that ephemeral.prepare installs."""
    from pipeline.deploy.ephemeral import PROMETHEUS_ADDRESS

    local = load_config(ROOT).environments["local"]
    values = yaml.safe_load((ROOT / local.values_file).read_text())
    assert local.values_file == "k8s/environments/local.yaml" and local.strategy == "canary"
    assert values["routing"]["mode"] == "none"
    assert values["networkPolicy"]["enabled"] is False
    assert values["metrics"]["serviceMonitor"]["enabled"] is False
    assert values["metrics"]["prometheusRule"]["enabled"] is False
    assert values["otel"]["enabled"] is False
    assert values["config"]["redisUrl"] is None and values["config"]["elasticsearchUrl"] is None
    assert values["analysis"]["prometheusAddress"] == PROMETHEUS_ADDRESS


def test_allowlist_of_pipeline_yaml_is_a_field_of_the_target() -> None:
    config = load_config(ROOT)
    data = config.model_dump()
    data["scan"]["allowlist"] = [
        {"id": "CVE-2026-9", "reason": "no fix yet", "expires": dt.date(2026, 11, 27)}
    ]
    target = target_for(type(config).model_validate(data), "staging")
    assert [(f.id, f.expires) for f in target.allowlist] == [("CVE-2026-9", dt.date(2026, 11, 27))]
    # it survives the target file the tools container reads
    assert DeployTarget.from_json(target.to_json()).allowlist == target.allowlist
    # and the expiry gate applies it even when the release report lists no accepted finding
    request = make_request(target=target, evidence=passing_evidence())
    bad = {g.name: g.detail for g in refused(policy_gates(request, TODAY))}
    assert "CVE-2026-9 (expired 2026-11-27)" in bad["allowlist"]


def test_frontend_image_from_evidence_string_form() -> None:
    evidence = ReleaseEvidence.from_json(
        {"images": {"frontend": FRONTEND}, "scan": {"passed": True}}
    )
    assert str(evidence.images["frontend"]) == FRONTEND


# ------------------------------------------------------------------ bad inputs and their messages

BAD_INPUTS: list[tuple[str, object, str]] = [
    ("image", "", "empty image reference"),
    ("image", "ghcr.io/acme/backend@sha256:abc", "is not sha256:<64 lowercase hex characters>"),
    ("image", "ghcr.io/acme/backend:bad tag", "is not a valid image tag"),
    (
        "image",
        "GHCR.io/Acme/Backend",
        "is not an image reference like ghcr.io/acme/backend@sha256:<digest>",
    ),
    ("image", "ghcr.io/acme/backend:v1:v2", "is not"),
    ("env", "qa", "unknown environment; choose one of: local, dev, staging, prod"),
    ("env", " ", "--env: required; choose one of"),
    ("smoke", "api/me", "must be a URL path starting with '/'"),
    ("evidence", ["not", "an", "object"], "release report: must be a JSON object"),
    ("evidence", {"images": {"backend": 42}}, "images.backend needs a 'ref' string"),
    ("evidence", {"images": {"backend": {"ref": "x@sha256:1"}}}, "is not sha256:"),
    ("evidence", {"scan": {"passed": "yes"}}, "scan.passed must be true or false"),
    (
        "evidence",
        {"scan": {"passed": True, "allowlisted": [{"id": "CVE-1", "expires": "soon"}]}},
        "expires 'soon' is not a date like 2026-12-31",
    ),
    ("images", {"backend": BACKEND}, "--frontend-image: no image for frontend"),
    (
        "call",
        ("promote", "local", True, False),
        "`promote` needs an environment with a persistent cluster",
    ),
    (
        "call",
        ("rollback", "local", True, False),
        "a throwaway cluster lives only for one `deploy` call",
    ),
    (
        "call",
        ("deploy", "staging", False, False),
        "--kubeconfig: required for `deploy --env staging`",
    ),
    ("call", ("status", "prod", False, True), "--kubeconfig: required for `status --env prod`"),
]


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    BAD_INPUTS,
    ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(BAD_INPUTS)],
)
def test_bad_input_messages(kind: str, value: object, message: str) -> None:
    with pytest.raises(DeployInputError) as caught:
        if kind == "image":
            ImageRef.parse(str(value), "--backend-image")
        elif kind in ("env", "smoke"):
            config = load_config(ROOT)
            target_for(config, str(value)) if kind == "env" else target_for(
                config, "dev", smoke_api_path=str(value)
            )
        elif kind == "call":
            action, env, has_kubeconfig, dry_run = value  # type: ignore[misc]
            check_call(action, target_for(load_config(ROOT), env), has_kubeconfig, dry_run)
        elif kind == "evidence":
            ReleaseEvidence.from_json(value)
        else:
            resolve_images(value, None)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_calls_that_can_work_pass_the_check() -> None:
    config = load_config(ROOT)
    check_call("deploy", target_for(config, "local"), False, False)  # kubeconfig is generated
    check_call("deploy", target_for(config, "prod"), False, True)  # dry run needs no cluster
    check_call("rollback", target_for(config, "staging"), True, False)
