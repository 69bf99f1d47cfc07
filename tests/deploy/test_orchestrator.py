"""Decision logic of deploy/rollback/promote/abort/status/diff, driven through FakeCluster.

FakeCluster replaces only the Kubernetes API server (none can run here); the commands the
orchestrator sends are asserted as recorded.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from deploy_fakes import FakeClock, FakeCluster, make_request, make_target, passing_evidence

from pipeline.deploy import actions as orch
from pipeline.deploy.report import (
    EXIT_NOT_RESTORED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_ROLLED_BACK,
    DeployReport,
    to_json,
    to_markdown,
)
from pipeline.deploy.request import ApprovalEvidence

TODAY = dt.date(2026, 11, 28)


def deploy(cluster: FakeCluster, clock: FakeClock, **kw: object) -> DeployReport:
    return orch.deploy(make_request(**kw), cluster, clock, TODAY)  # type: ignore[arg-type]


# ------------------------------------------------------------------ success paths


def test_rolling_deploy_applies_once_waits_tests_and_smokes(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_OK and report.outcome == "succeeded"
    assert (report.revision_before, report.revision_after) == (2, 3)
    upgrades = [c for c in cluster.commands("helm") if c.startswith("helm upgrade")]
    assert len(upgrades) == 1
    up = upgrades[0]
    assert "--install blog-creator k8s/chart" in up
    assert "--values k8s/environments/staging.yaml" in up
    assert f"image.backend.digest={'sha256:' + 'a' * 64}" in up
    assert "image.frontend.repository=ghcr.io/acme/frontend" in up
    assert "--set-string strategy=rolling" in up
    assert "--server-side" not in up  # Helm 4's default server-side apply for Deployments
    assert "--namespace blog-staging" in up
    assert any(
        c.startswith("kubectl rollout status deployment/blog-creator-backend")
        for c in cluster.commands()
    )
    assert any(c.startswith("helm test blog-creator") for c in cluster.commands())
    assert [u for u, _ in cluster.http_calls] == [
        "https://staging.example.com/api/health",
        "https://staging.example.com/",
    ]
    assert not any(c.startswith(("helm rollback", "rollouts")) for c in cluster.commands())
    assert [p.name for p in report.phases] == [
        "gates",
        "lock",
        "snapshot",
        "apply",
        "rollout",
        "helm-test",
        "smoke",
    ]
    assert all(p.status == "ok" for p in report.phases)


def test_rolling_strategy_never_touches_argo_rollouts(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    deploy(cluster, clock)
    assert not any(
        "rollouts.argoproj.io" in c or c.startswith("rollouts") for c in cluster.commands()
    )


def test_canary_waits_through_timed_pause_until_healthy(clock: FakeClock) -> None:
    cluster = FakeCluster(
        clock,
        strategy="canary",
        rollout_phases=["Progressing", "Paused", "Paused", "Healthy"],
        canary_step_pause={"duration": "2m"},
    )
    report = deploy(cluster, clock, target=make_target(strategy="canary"))
    assert report.outcome == "succeeded", report.message
    gets = [
        c
        for c in cluster.commands("kubectl")
        if c.startswith("kubectl get rollouts.argoproj.io blog-creator-backend")
    ]
    assert len(gets) == 4  # kept polling through the timed pause
    upgrade = next(c for c in cluster.commands() if c.startswith("helm upgrade"))
    assert "--server-side=false" in upgrade  # the Rollouts controller owns Service selectors
    assert "--set-string strategy=canary" in next(
        c for c in cluster.commands() if c.startswith("helm upgrade")
    )
    assert any(
        c.startswith("kubectl get customresourcedefinition rollouts.argoproj.io")
        for c in cluster.commands()
    )


def test_canary_indefinite_pause_means_awaiting_promotion(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, strategy="canary", rollout_phases=["Paused"], canary_step_pause={})
    report = deploy(cluster, clock, target=make_target(strategy="canary"))
    assert report.exit_code == EXIT_OK
    assert report.outcome == "awaiting-promotion"
    assert "promote --env staging" in report.message


def test_blue_green_without_auto_promotion_awaits_promotion(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, strategy="blueGreen", rollout_phases=["Paused"])
    report = deploy(cluster, clock, target=make_target(strategy="blueGreen"))
    assert report.outcome == "awaiting-promotion"
    assert not cluster.commands("rollouts")  # deploy never promotes by itself


# ------------------------------------------------------------------ failure → rollback


def test_rollout_timeout_rolls_back_to_previous_revision_and_verifies(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.deployment_ready = False
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_ROLLED_BACK and report.outcome == "rolled-back"
    assert "helm rollback blog-creator 2 --namespace blog-staging" in " ".join(cluster.mutating())
    assert (
        report.rollback is not None
        and report.rollback.restored
        and report.rollback.to_revision == 2
    )
    assert "rolled back to revision 2" in report.message
    assert "not ready" in report.message  # says what failed
    names = [p.name for p in report.phases]
    assert names[-4:] == [
        "rollback",
        "rollout (after rollback)",
        "helm-test (after rollback)",
        "smoke (after rollback)",
    ]
    assert "helm-test" not in names  # verification stopped at the first failure


def test_helm_test_failure_rolls_back(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.helm_test_ok = False
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_ROLLED_BACK
    assert "helm test failed" in report.message
    assert [c.passed for c in report.verification if c.name == "helm-test"] == [False]


def test_smoke_failure_rolls_back_after_retrying(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.http_status = 503
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_ROLLED_BACK
    assert "503" in report.message
    assert clock.slept > 0  # retried within the smoke window before giving up
    health_calls = [u for u, _ in cluster.http_calls if u.endswith("/api/health")]
    assert len(health_calls) > 2


def test_canary_failed_analysis_aborts_then_rolls_back(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, strategy="canary", rollout_phases=["Progressing", "Degraded"])
    report = deploy(cluster, clock, target=make_target(strategy="canary"))
    assert report.exit_code == EXIT_ROLLED_BACK
    mutating = cluster.mutating()
    aborts = [c for c in mutating if c.startswith("rollouts abort")]
    assert len(aborts) == 2
    assert mutating.index(aborts[0]) < mutating.index(
        next(c for c in mutating if c.startswith("helm rollback"))
    )
    assert "error rate 0.07 > 0.01" in report.message  # the analysis verdict is reported
    assert (
        report.rollback is not None
        and report.rollback.method == "Rollouts abort + helm rollback to revision 2"
    )


def test_unreadable_tool_output_mid_verification_still_rolls_back(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, strategy="canary")

    def kubectl(argv: tuple[str, ...]) -> object:
        if (
            argv[:2] == ("get", "rollouts.argoproj.io")
            and not argv[2].startswith("--")
            and not cluster.rolled_back
        ):
            return cluster._ok(argv, "<html>proxy error</html>")
        return FakeCluster._kubectl(cluster, argv)

    cluster._kubectl = kubectl  # type: ignore[method-assign]
    report = deploy(cluster, clock, target=make_target(strategy="canary"))
    assert report.exit_code == EXIT_ROLLED_BACK, report.message
    assert "not valid JSON" in report.message
    assert any(c.startswith("helm rollback blog-creator 2") for c in cluster.commands())


def test_failed_upgrade_rolls_back(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.upgrade_ok = False
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_ROLLED_BACK
    assert "admission webhook denied" in report.message


def test_rollback_whose_verification_fails_exits_not_restored(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.helm_test_ok = False
    cluster.helm_test_ok_after_rollback = False
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_NOT_RESTORED and report.outcome == "failed"
    assert report.rollback is not None and not report.rollback.restored
    assert "NOT restored" in report.message and "rollback verification failed" in report.message


def test_failed_helm_rollback_exits_not_restored(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.deployment_ready = False
    cluster.rollback_ok = False
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_NOT_RESTORED
    assert "helm rollback failed" in report.message


def test_first_install_failure_has_nothing_to_restore(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.history = []
    cluster.deployment_ready = False
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_NOT_RESTORED
    assert report.revision_before is None
    assert not any(c.startswith("helm rollback") for c in cluster.commands())
    assert "no previous revision" in report.message


# ------------------------------------------------------------------ nothing applied


def test_refused_gates_send_no_command_at_all(cluster: FakeCluster, clock: FakeClock) -> None:
    report = deploy(
        cluster, clock, target=make_target("prod"), backend="ghcr.io/acme/backend:1.2.3"
    )
    assert report.exit_code == EXIT_REFUSED and report.outcome == "refused"
    assert cluster.calls == []
    assert "is a tag" in report.message and "--backend-image" in report.message


def test_unreachable_cluster_refuses_before_applying(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.history_error = (
        "Error: Kubernetes cluster unreachable: dial tcp 10.0.0.1:6443: connect: connection refused"
    )
    report = deploy(cluster, clock)
    assert report.exit_code == EXIT_REFUSED
    assert cluster.mutating() == []
    assert "cluster unreachable" in report.message


def test_progressive_strategy_without_rollouts_crd_is_refused(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, strategy="canary", crd_present=False)
    report = deploy(cluster, clock, target=make_target(strategy="canary"))
    assert report.exit_code == EXIT_REFUSED
    assert cluster.mutating() == []
    assert "Argo Rollouts" in report.message


def test_dry_run_renders_and_applies_nothing(cluster: FakeCluster, clock: FakeClock) -> None:
    report = deploy(cluster, clock, dry_run=True, kubeconfig=False)
    assert report.exit_code == EXIT_OK and report.outcome == "dry-run"
    assert [c.split()[1] for c in cluster.commands()] == ["template"]
    assert report.rendered == ["Deployment/blog-creator-backend", "Service/blog-creator-frontend"]
    assert report.details.startswith("helm upgrade --install blog-creator")


def test_signature_gate_runs_cosign_per_digest_and_refuses_unsigned(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.cosign_ok = False
    target = make_target("staging", require_signature=True)
    report = deploy(
        cluster, clock, target=target, evidence=passing_evidence(), cosign_key="/keys/cosign.pub"
    )
    assert report.exit_code == EXIT_REFUSED
    cosign = cluster.commands("cosign")
    assert len(cosign) == 2 and all("verify --key /keys/cosign.pub" in c for c in cosign)
    assert cluster.mutating() == []
    assert "no matching signatures" in report.message


def test_signed_scanned_release_deploys(cluster: FakeCluster, clock: FakeClock) -> None:
    target = make_target("prod", require_signature=True, require_approval=True)
    report = deploy(
        cluster,
        clock,
        target=target,
        evidence=passing_evidence(),
        cosign_key="/k.pub",
        approved_by="alice",
        approval=ApprovalEvidence("prod", "https://github.com/o/r/actions/runs/1", "alice"),
    )
    assert report.exit_code == EXIT_OK, report.message
    assert report.approved_by == "alice"
    assert {g.name for g in report.gates} >= {
        "digest:backend",
        "approval",
        "scan",
        "signature:backend",
        "signature:frontend",
    }


# ------------------------------------------------------------------ ephemeral cluster smoke


def test_ephemeral_canary_cluster_gets_rollouts_prometheus_and_secret(clock: FakeClock) -> None:
    from pipeline.deploy.ephemeral import ARGO_ROLLOUTS_MANIFEST

    cluster = FakeCluster(clock, strategy="canary", history=[], node_not_ready_polls=3)
    target = make_target("local", "canary", ephemeral=True, require_digest=False)
    report = deploy(cluster, clock, target=target)
    assert report.exit_code == EXIT_OK, report.message
    commands = cluster.commands()
    assert len([c for c in commands if c.startswith("kubectl wait")]) == 4  # polled until Ready
    assert (
        f"kubectl apply --server-side --namespace argo-rollouts --filename {ARGO_ROLLOUTS_MANIFEST}"
        in commands
    )
    assert any(
        c.startswith("helm upgrade --install prometheus prometheus --repo") for c in commands
    )
    secret = next(
        c for c in commands if c.startswith("kubectl create secret generic blog-creator-secrets")
    )
    assert "--from-file=jwt-secret=/" in secret  # a temp file, not a literal
    upgrade = next(c for c in commands if c.startswith("helm upgrade --install blog-creator"))
    # the one-node values are the environment's own file (test_gates_and_plan checks its keys)
    assert "--values k8s/environments/local.yaml" in upgrade
    # everything is prepared before the release is applied
    assert commands.index(secret) < commands.index(upgrade)
    assert report.phases[1].name == "ephemeral-cluster" and report.phases[1].status == "ok"


def test_ephemeral_rolling_cluster_skips_rollouts(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, history=[])
    report = deploy(
        cluster, clock, target=make_target("local", ephemeral=True, require_digest=False)
    )
    assert report.exit_code == EXIT_OK
    assert not any("argo-rollouts" in c or "prometheus" in c for c in cluster.commands())


def test_ephemeral_cluster_that_never_gets_ready_is_refused(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, history=[], node_not_ready_polls=10_000)
    report = deploy(
        cluster, clock, target=make_target("local", ephemeral=True, require_digest=False)
    )
    assert report.exit_code == EXIT_REFUSED
    assert "did not become Ready within 180s" in report.message
    assert cluster.mutating() == []


def test_ephemeral_addon_failure_is_refused_before_applying(clock: FakeClock) -> None:
    cluster = FakeCluster(
        clock, strategy="blueGreen", history=[], addon_error="dial tcp: i/o timeout"
    )
    target = make_target("local", "blueGreen", ephemeral=True, require_digest=False)
    report = deploy(cluster, clock, target=target)
    assert report.exit_code == EXIT_REFUSED
    assert "install Argo Rollouts failed: dial tcp: i/o timeout" in report.message
    assert not any(c.startswith("helm upgrade --install blog-creator") for c in cluster.commands())


def test_ephemeral_cluster_smokes_through_api_server_proxy(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    report = deploy(
        cluster, clock, target=make_target("local", ephemeral=True, require_digest=False)
    )
    assert report.exit_code == EXIT_OK, report.message
    raws = [c for c in cluster.commands() if c.startswith("kubectl get --raw")]
    assert raws == [
        "kubectl get --raw /api/v1/namespaces/blog-local/services/blog-creator-frontend:http/proxy/api/health",
        "kubectl get --raw /api/v1/namespaces/blog-local/services/blog-creator-frontend:http/proxy/",
    ]
    assert cluster.http_calls == []


def test_authenticated_smoke_uses_token_header_and_keeps_it_out_of_report(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    from pipeline.deploy.request import SmokeCheck

    base = make_target()
    target = type(base)(
        **{**base.__dict__, "smoke_checks": (SmokeCheck("api", "/api/me", authenticated=True),)}
    )
    report = deploy(cluster, clock, target=target, smoke_token="s3cr3t-token")
    assert report.exit_code == EXIT_OK
    assert cluster.http_calls == [
        ("https://staging.example.com/api/me", {"X-API-Key": "s3cr3t-token"})
    ]
    assert "s3cr3t-token" not in json.dumps(to_json(report)) + to_markdown(report)


def test_authenticated_smoke_without_token_is_skipped_and_said(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    from pipeline.deploy.request import SmokeCheck

    base = make_target()
    target = type(base)(
        **{**base.__dict__, "smoke_checks": (SmokeCheck("api", "/api/me", authenticated=True),)}
    )
    report = deploy(cluster, clock, target=target)
    assert cluster.http_calls == []
    (api,) = [c for c in report.verification if c.name == "smoke:api"]
    assert "skipped: no test account token" in api.detail
    # not run is never recorded as passed, and the report says so visibly
    assert (api.passed, api.skipped) == (False, True)
    data = to_json(report)
    assert {"name": "smoke:api", "passed": False, "skipped": True} | {"detail": api.detail} in data[
        "verification"
    ]
    markdown = to_markdown(report)
    assert "⏭️ **smoke:api**" in markdown and "**Not verified** (skipped): smoke:api" in markdown
    # a skipped check does not fail the deploy
    assert report.outcome == "succeeded"


# ------------------------------------------------------------------ timings and report


def test_phase_timings_add_up_to_the_total(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.cost = 2.5
    report = deploy(cluster, clock)
    by_phase = {p.name: p.seconds for p in report.phases}
    # snapshot = helm history (2.5 s); apply = helm upgrade (2.5 s); helm-test = one call.
    assert by_phase["snapshot"] == 2.5 and by_phase["apply"] == 2.5 and by_phase["helm-test"] == 2.5
    assert by_phase["rollout"] == 3 * 2.5  # list workloads + 2 x rollout status
    assert report.phase_seconds() == pytest.approx(report.total_seconds)
    # lock = get + create of the Lease, helm history (stuck revision?), get + delete to release
    assert by_phase["lock"] == 5 * 2.5
    assert report.total_seconds == pytest.approx(
        len(cluster.calls) * 2.5 + len(cluster.http_calls) * 2.5
    )


def test_report_json_and_markdown_content(
    cluster: FakeCluster, clock: FakeClock, tmp_path: object
) -> None:
    cluster.deployment_ready = False
    report = deploy(cluster, clock)
    data = to_json(report)
    assert data["env"] == "staging" and data["strategy"] == "rolling"
    # revision 3 failed; helm rollback to 2 created revision 4
    assert (data["revision_before"], data["revision_attempted"], data["revision_after"]) == (
        2,
        3,
        4,
    )
    assert data["images"] == {
        "backend": "ghcr.io/acme/backend@sha256:" + "a" * 64,
        "frontend": "ghcr.io/acme/frontend@sha256:" + "b" * 64,
    }
    assert data["rollback"]["restored"] is True  # type: ignore[index]
    assert data["exit_code"] == EXIT_ROLLED_BACK
    assert isinstance(data["phases"], list) and data["phases"][0]["name"] == "gates"  # type: ignore[index]
    md = to_markdown(report)
    assert md.startswith("# deploy `staging`: rolled-back")
    assert "## Rollback" in md and "restored: yes (revision 2)" in md
    assert "| rollout | failed |" in md
    assert "❌ **rollout**" in md


def test_report_files_are_written(cluster: FakeCluster, clock: FakeClock, tmp_path: object) -> None:
    from pathlib import Path

    from pipeline.deploy.report import write

    report = deploy(cluster, clock)
    json_path, md_path = write(report, Path(str(tmp_path)))
    assert json.loads(json_path.read_text())["outcome"] == "succeeded"
    assert md_path.read_text().startswith("# deploy `staging`: succeeded")


# ------------------------------------------------------------------ promote / abort / rollback / status / diff


def test_promote_rolling_is_refused(cluster: FakeCluster, clock: FakeClock) -> None:
    report = orch.promote(make_request(), cluster, clock, full=False)
    assert report.exit_code == EXIT_REFUSED and "nothing to promote" in report.message
    assert cluster.calls == []


def test_promote_canary_promotes_each_rollout_and_verifies(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, strategy="canary", rollout_phases=["Healthy"])
    report = orch.promote(make_request(make_target(strategy="canary")), cluster, clock, full=True)
    assert report.exit_code == EXIT_OK, report.message
    assert cluster.commands("rollouts") == [
        "rollouts promote blog-creator-backend --namespace blog-staging --full",
        "rollouts promote blog-creator-frontend --namespace blog-staging --full",
    ]
    assert "fully promoted" in report.message


def test_abort_canary(clock: FakeClock) -> None:
    cluster = FakeCluster(clock, strategy="canary", rollout_phases=["Degraded"])
    report = orch.abort(make_request(make_target(strategy="canary")), cluster, clock)
    assert report.exit_code == EXIT_OK
    assert [c.split()[1] for c in cluster.commands("rollouts")] == ["abort", "abort"]
    assert "run `rollback`" in report.message
    rollout_checks = [c for c in report.verification if c.name.startswith("rollout/")]
    assert len(rollout_checks) == 2 and all(c.passed for c in rollout_checks)


@pytest.mark.parametrize(
    ("switches", "why"),
    [
        ({"abort_takes_effect": False}, "the abort has not taken effect"),
        ({"ready_after_abort": 1}, "stable pods not all ready"),
    ],
)
def test_abort_records_each_rollout_as_it_is_not_as_passed(
    clock: FakeClock, switches: dict[str, object], why: str
) -> None:
    """A rollout the abort did not bring back to a fully ready stable is a failed check."""
    cluster = FakeCluster(clock, strategy="canary", **switches)  # type: ignore[arg-type]
    target = make_target(strategy="canary", timeout_seconds=30)
    report = orch.abort(make_request(target), cluster, clock)
    assert (report.outcome, report.exit_code) == ("failed", EXIT_NOT_RESTORED)
    rollout_checks = [c for c in report.verification if c.name.startswith("rollout/")]
    assert len(rollout_checks) == 2 and not any(c.passed for c in rollout_checks)
    assert all(why in c.detail for c in rollout_checks)
    assert "abort not confirmed" in report.message and why in report.message
    assert "❌ **rollout/blog-creator-backend**" in to_markdown(report)
    assert clock.now - 1000.0 >= 30  # waited up to the deadline, bounded


def test_rollback_defaults_to_previous_revision_and_verifies(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    report = orch.rollback(make_request(), cluster, clock, None)
    assert report.exit_code == EXIT_OK, report.message
    assert "helm rollback blog-creator 1 --namespace blog-staging" in " ".join(cluster.mutating())
    assert report.revision_before == 2 and report.revision_after == 3


def test_rollback_to_unknown_revision_is_refused(cluster: FakeCluster, clock: FakeClock) -> None:
    report = orch.rollback(make_request(), cluster, clock, 7)
    assert report.exit_code == EXIT_REFUSED
    assert "--revision 7: not in the release history (known: 1, 2)" in report.message
    assert cluster.mutating() == []


def test_rollback_of_uninstalled_release_is_refused(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.history = []
    report = orch.rollback(make_request(), cluster, clock, None)
    assert report.exit_code == EXIT_REFUSED and "not installed" in report.message


def test_status_reports_revision_workloads_and_events(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    report = orch.status(make_request(), cluster, clock)
    assert report.exit_code == EXIT_OK and report.revision_after == 2
    assert "deployment/blog-creator-backend ready=2/2" in report.details
    assert "ScalingReplicaSet" in report.details
    assert cluster.mutating() == []


def test_diff_shows_changed_objects_only(cluster: FakeCluster, clock: FakeClock) -> None:
    report = orch.diff(make_request(), cluster, clock)
    assert report.exit_code == EXIT_OK
    assert "1 object(s) would change" in report.message
    assert "-  replicas: 1" in report.details and "+  replicas: 2" in report.details
    assert "Service/blog-creator-frontend" not in report.details
    assert cluster.mutating() == []
