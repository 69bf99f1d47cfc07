"""Delivery metrics: the deploy history (history.py) and the four metrics (dora.py).

Pure part: a known sequence of deploys, promotes, aborts, rollbacks and a restore, with the
metrics computed by hand in the comments. Cluster part: the real orchestrator CLI records
into a ConfigMap on a real API server (kwok cluster, scripts/k8s-cluster.sh), the metrics
CLI reads it back, the size bound holds and a stale write is refused (optimistic lock).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_kwok_cluster import ROOT, apply_shared_crds, deploy_cli, kubectl, start_cluster

from pipeline.deploy import dora, history
from pipeline.deploy.__main__ import main as deploy_main
from pipeline.deploy.history import DeployRecord
from pipeline.deploy.metrics import main as metrics_main
from pipeline.deploy.report import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_ROLLED_BACK,
    DeployReport,
    PhaseRecord,
    RollbackRecord,
)
from pipeline.deploy.request import DeployTarget
from pipeline.deploy.tools import SubprocessClusterTools

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def t(day: int, hh: int, mm: int = 0) -> str:
    return f"2026-11-{day:02d}T{hh:02d}:{mm:02d}:00Z"


def rec(action: str, outcome: str, finished: str, **kw: object) -> DeployRecord:
    strategy = str(kw.pop("strategy", "rolling"))
    started = str(kw.pop("started", finished))
    return DeployRecord(action, "prod", outcome, strategy, started, finished, **kw)  # type: ignore[arg-type]


SEQUENCE = [
    # outside the 30-day window: ignored
    rec("deploy", "succeeded", "2026-10-15T10:00:00Z", commit_time="2026-10-15T09:00:00Z"),
    # d1: live 11:10, commit 10:00 -> lead 4200 s
    rec("deploy", "succeeded", t(2, 11, 10), commit_time=t(2, 10), applied=t(2, 11, 1)),
    # d2: automatic rollback, applied 12:01, restored 12:06 -> failed, restore 300 s, not live
    rec(
        "deploy",
        "rolled-back",
        t(3, 12, 6),
        commit_time=t(3, 9),
        applied=t(3, 12, 1),
        rolled_back=True,
        restored=True,
        restore_seconds=300.0,
    ),
    # d3: live 10:00 (lead 7200 s), operator rollback 10:30 -> failed, restore 1800 s
    rec("deploy", "succeeded", t(4, 10), commit_time=t(4, 8)),
    rec("rollback", "succeeded", t(4, 10, 30)),
    # d4: canary paused 10:00, promoted fully 11:00 -> live 11:00, lead 7200 s
    rec("deploy", "awaiting-promotion", t(5, 10), commit_time=t(5, 9), strategy="canary"),
    rec("promote", "succeeded", t(5, 11), strategy="canary"),
    # d5: canary paused 10:00, aborted 10:20 -> failed (aborted canary), restore 1200 s
    rec("deploy", "awaiting-promotion", t(6, 10), commit_time=t(6, 9), strategy="canary"),
    rec("abort", "succeeded", t(6, 10, 20), strategy="canary"),
    # d6: failed and NOT restored (applied 10:01) ...
    rec("deploy", "failed", t(7, 10, 5), commit_time=t(7, 9), applied=t(7, 10, 1)),
    # d7: ... until this deploy goes live at 11:01 -> d6 restore 3600 s; d7 lead 1860 s
    rec("deploy", "succeeded", t(7, 11, 1), commit_time=t(7, 10, 30)),
    # d8: canary still paused: undecided, in no rate
    rec("deploy", "awaiting-promotion", t(8, 10), commit_time=t(8, 9), strategy="canary"),
]


def test_metrics_of_a_known_sequence_match_the_hand_computed_values() -> None:
    m = dora.compute(list(reversed(SEQUENCE)), "prod", 30, NOW)  # order does not matter
    # live: d1, d3, d4, d7 = 4 in 30 days
    assert m.deployments == 4
    assert m.deployment_frequency_per_day == round(4 / 30, 3)
    # leads 1860, 4200, 7200, 7200 -> median (4200 + 7200) / 2
    assert (m.lead_time_median_seconds, m.lead_time_samples) == (5700.0, 4)
    # decided: d1..d7 = 7; failed: d2, d3, d5, d6 = 4
    assert (m.changes, m.failed_changes) == (7, 4)
    assert m.change_failure_rate == round(4 / 7, 4)
    # restores 300, 1200, 1800, 3600 -> median (1200 + 1800) / 2
    assert (m.time_to_restore_median_seconds, m.restore_samples) == (1500.0, 4)
    assert m.unrestored_failures == 0
    assert m.records == len(SEQUENCE)
    assert m.notes == ["1 change(s) paused at a promotion point (undecided)"]


def test_a_failure_not_yet_restored_counts_as_unrestored() -> None:
    records = [*SEQUENCE, rec("deploy", "failed", t(9, 10, 5), applied=t(9, 10))]
    m = dora.compute(records, "prod", 30, NOW)
    assert (m.failed_changes, m.changes, m.unrestored_failures) == (5, 8, 1)
    assert m.restore_samples == 4  # the open failure has no restore time yet


def test_a_successful_rollback_restores_a_change_that_was_not_restored() -> None:
    records = [
        rec("deploy", "succeeded", t(10, 9)),
        rec("deploy", "failed", t(10, 10, 5), applied=t(10, 10)),
        rec("rollback", "failed", t(10, 10, 20)),  # a failed rollback restores nothing
        rec("rollback", "succeeded", t(10, 10, 45)),
    ]
    m = dora.compute(records, "prod", 30, NOW)
    assert (m.changes, m.failed_changes) == (2, 1)  # the rollback is not a second failure
    assert m.time_to_restore_median_seconds == 45 * 60
    assert m.lead_time_samples == 0 and m.lead_time_median_seconds is None


def test_an_empty_history_gives_no_rates_and_a_readable_table() -> None:
    m = dora.compute([], "prod", 7, NOW)
    assert (m.deployments, m.change_failure_rate, m.lead_time_median_seconds) == (0, None, None)
    text = dora.to_markdown(m)
    assert "| change failure rate | - | 0 failed of 0 changes |" in text
    assert "| median time to restore | - |" in text


def test_markdown_shows_each_metric_with_its_basis() -> None:
    text = dora.to_markdown(dora.compute(SEQUENCE, "prod", 30, NOW))
    assert "| deployment frequency | 0.133 per day (0.9 per week) | 4 live deployments |" in text
    assert (
        "| median lead time for changes | 1 h 35 min | 4 deployments with a commit time |" in text
    )
    assert "| change failure rate | 57.1 % | 4 failed of 7 changes |" in text
    assert "| median time to restore | 25 min 0 s | 4 restored failures |" in text


def _report(**kw: object) -> DeployReport:
    report = DeployReport("deploy", "prod", "blog-prod", "blog-creator", "rolling")
    report.images = {"backend": "ghcr.io/acme/backend@sha256:" + "a" * 64}
    report.phases = [
        PhaseRecord("gates", "ok", 2.0),
        PhaseRecord("snapshot", "ok", 1.0),
        PhaseRecord("apply", "ok", 5.0),
        PhaseRecord("rollout", "failed", 40.0),
        PhaseRecord("rollback", "ok", 12.0),
    ]
    report.total_seconds = 60.0
    for key, value in kw.items():
        setattr(report, key, value)
    return report


def test_record_from_a_report_carries_the_key_facts() -> None:
    report = _report(
        outcome="rolled-back",
        revision_before=4,
        revision_attempted=5,
        revision_after=6,
        rollback=RollbackRecord("rollout failed", "helm rollback to 4", 4, True, "verified"),
    )
    end = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.UTC)
    r = history.record_from_report(report, end, "abc123", "2026-12-01T10:00:00+01:00")
    assert (r.started, r.finished) == ("2026-12-01T08:59:00Z", "2026-12-01T09:00:00Z")
    assert r.applied == "2026-12-01T08:59:03Z"  # gates 2 s + snapshot 1 s after the start
    assert (r.rolled_back, r.restored, r.restore_seconds) == (True, True, 57.0)
    assert r.commit_time == "2026-12-01T09:00:00Z"  # normalised to UTC
    assert r.images == {"backend": "sha256:" + "a" * 64}
    assert (r.revision, r.revision_attempted, r.commit) == (6, 5, "abc123")
    assert DeployRecord.from_json(json.loads(json.dumps(r.to_json())), "r") == r


def test_refused_and_dry_run_reports_are_not_recorded() -> None:
    assert not history.should_record(_report(outcome="refused"))
    assert not history.should_record(_report(outcome="dry-run", dry_run=True))
    assert not history.should_record(
        DeployReport("status", "prod", "ns", "r", "rolling", outcome="succeeded")
    )
    assert history.should_record(_report(outcome="rolled-back"))


def test_trim_keeps_the_newest_records_within_count_and_bytes() -> None:
    records = [rec("deploy", "succeeded", t(1 + i % 28, 10), commit=f"c{i}") for i in range(50)]
    assert [r.commit for r in history.trim(records, 5)] == [f"c{i}" for i in range(45, 50)]
    small = history.trim(records, 50, max_bytes=2000)
    assert len(history.encode(small)) <= 2000 and small[-1].commit == "c49"
    assert history.trim(records, 50) == records


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--commit-time", "yesterday"], "--commit-time: 'yesterday' is not an RFC 3339 time"),
        (["--history-limit", "0"], "--history-limit: 0 must be 1..2000"),
    ],
)
def test_bad_history_flags_are_refused_naming_the_flag(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target.json"
    target.write_text(
        json.dumps(
            {
                "env": "dev",
                "namespace": "blog-dev",
                "values_file": "k8s/environments/dev.yaml",
                "strategy": "rolling",
                "url": "http://dev.invalid",
            }
        )
    )
    code = deploy_main(
        ["status", "--target", str(target), "--chart", str(ROOT / "k8s/chart")]
        + ["--values-root", str(ROOT), *argv]
    )
    assert code == EXIT_REFUSED
    assert message in capsys.readouterr().err


def test_metrics_cli_refuses_a_bad_window(capsys: pytest.CaptureFixture[str]) -> None:
    assert metrics_main(["--env", "prod", "--namespace", "blog-prod", "--days", "0"]) == 2
    assert "--days: 0 must be 1..3650" in capsys.readouterr().err


# ---------------------------------------------------------------- on a real API server

NAMESPACE = "metrics-test"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, SubprocessClusterTools]]:
    yield from start_cluster("metrics")


@pytest.fixture(scope="module")
def namespace(cluster: tuple[str, SubprocessClusterTools]) -> str:
    _, tools = cluster
    apply_shared_crds(tools)
    kubectl(tools, "create", "namespace", NAMESPACE)
    kubectl(
        tools, "-n", NAMESPACE, "create", "secret", "generic", "blog-creator-secrets",
        "--from-literal=jwt-secret=metrics-test-only",
    )  # fmt: skip
    return NAMESPACE


def _images(backend: str) -> list[str]:
    return [
        "--backend-image", backend,
        "--frontend-image", "ghcr.io/acme/frontend@sha256:" + "f" * 64,
    ]  # fmt: skip


def test_deploys_and_rollbacks_are_recorded_in_a_configmap_and_read_by_metrics(
    cluster: tuple[str, SubprocessClusterTools], namespace: str, tmp_path: Path
) -> None:
    kubeconfig, tools = cluster
    target = tmp_path / "target.json"
    target.write_text(
        json.dumps(
            {
                "env": "dev",
                "namespace": namespace,
                "values_file": "k8s/environments/dev.yaml",
                "strategy": "rolling",
                "url": "http://no-ingress.invalid",
                "release": "blog",
                "timeout_seconds": 30,
                "smoke_checks": [],
            }
        )
    )
    commit_time = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    good = "ghcr.io/acme/backend@sha256:" + "1" * 64
    code, first = deploy_cli(
        cluster, target, tmp_path / "1", "deploy", *_images(good),
        "--commit", "c0ffee1", "--commit-time", commit_time,
    )  # fmt: skip
    assert code == EXIT_OK, first.get("message")
    bad = "ghcr.io/acme/unpullable/backend@sha256:" + "2" * 64
    code, second = deploy_cli(
        cluster, target, tmp_path / "2", "deploy", *_images(bad), "--commit", "badbad2"
    )
    assert code == EXIT_ROLLED_BACK, second.get("message")
    code, back = deploy_cli(cluster, target, tmp_path / "3", "rollback", "--revision", "1")
    assert code == EXIT_OK, back.get("message")
    code, _ = deploy_cli(cluster, target, tmp_path / "4", "status")  # not a change: not recorded

    stored = json.loads(
        kubectl(tools, "-n", namespace, "get", "configmap", "blog-deploy-history", "-o", "json")
    )
    records = history.decode(stored["data"]["records.json"], "test")
    assert [(r.action, r.outcome) for r in records] == [
        ("deploy", "succeeded"),
        ("deploy", "rolled-back"),
        ("rollback", "succeeded"),
    ]
    assert records[0].commit == "c0ffee1" and records[0].images["backend"] == "sha256:" + "1" * 64
    assert records[1].rolled_back and records[1].restored and records[1].restore_seconds
    assert (records[1].revision_attempted, records[1].revision) == (2, 3)

    out = tmp_path / "metrics"
    code = metrics_main(
        ["--env", "dev", "--namespace", namespace, "--release", "blog", "--days", "1"]
        + ["--kubeconfig", kubeconfig, "--report-dir", str(out)],
        tools_factory=lambda _k, _c: tools,
    )
    assert code == EXIT_OK
    m = json.loads((out / "metrics-dev.json").read_text())
    assert (m["deployments"], m["changes"], m["failed_changes"]) == (1, 2, 1)
    assert m["change_failure_rate"] == 0.5 and m["restore_samples"] == 1
    assert m["lead_time_samples"] == 1 and 7000 < m["lead_time_median_seconds"] < 7300
    assert (
        "| change failure rate | 50.0 % | 1 failed of 2 changes |"
        in (out / "metrics-dev.md").read_text()
    )


def test_the_history_stays_within_its_bounds_on_the_api_server(
    cluster: tuple[str, SubprocessClusterTools], namespace: str
) -> None:
    _, tools = cluster
    target = DeployTarget(
        "dev", namespace, "v.yaml", "rolling", "http://x.invalid", release="bound"
    )
    for i in range(6):
        entry = rec("deploy", "succeeded", t(1 + i, 10), commit=f"c{i}")
        assert history.append(tools, target, entry, limit=4) == ""
    records, _, error = history.load(tools, namespace, "bound")
    assert error == "" and [r.commit for r in records] == ["c2", "c3", "c4", "c5"]

    # Why the bound: the API server refuses a ConfigMap over 1 MiB.
    def many(n: int) -> list[DeployRecord]:
        return [
            rec("deploy", "succeeded", t(1 + i % 28, 10), commit=f"{i:06d}" + "x" * 300)
            for i in range(n)
        ]

    _, version, _ = history.load(tools, namespace, "bound")
    write = history._apply  # pyright: ignore[reportPrivateUsage]
    too_big = many(2400)
    assert len(history.encode(too_big)) > 1024 * 1024
    refused = write(tools, history.configmap(namespace, "bound", too_big, version))
    assert "Too long" in refused, refused
    # A history written by an older, unbounded writer (between MAX_BYTES and 1 MiB): the next
    # append trims it below MAX_BYTES, keeping the newest records.
    big = many(1500)
    assert history.MAX_BYTES < len(history.encode(big)) < 1024 * 1024
    assert write(tools, history.configmap(namespace, "bound", big, version)) == ""
    assert (
        history.append(
            tools, target, rec("deploy", "succeeded", t(29, 10), commit="last"), limit=2000
        )
        == ""
    )
    stored = json.loads(
        kubectl(tools, "-n", namespace, "get", "configmap", "bound-deploy-history", "-o", "json")
    )
    text = stored["data"]["records.json"]
    assert len(text.encode()) <= history.MAX_BYTES
    kept = history.decode(text, "test")
    assert kept[-1].commit == "last" and len(kept) < 1500
    assert kept[-2].commit.startswith("001499")


def test_a_write_based_on_a_stale_read_is_refused(
    cluster: tuple[str, SubprocessClusterTools], namespace: str
) -> None:
    """Optimistic locking is the API server's: the resourceVersion read must still be current."""
    _, tools = cluster
    target = DeployTarget("dev", namespace, "v.yaml", "rolling", "http://x.invalid", release="race")
    assert history.append(tools, target, rec("deploy", "succeeded", t(1, 10), commit="a")) == ""
    _, stale, _ = history.load(tools, namespace, "race")
    assert history.append(tools, target, rec("deploy", "succeeded", t(2, 10), commit="b")) == ""
    error = history._apply(  # pyright: ignore[reportPrivateUsage]
        tools, history.configmap(namespace, "race", [], stale)
    )
    assert "modified" in error or "conflict" in error.lower(), error
    records, _, _ = history.load(tools, namespace, "race")
    assert [r.commit for r in records] == ["a", "b"]  # the stale write changed nothing


def test_metrics_of_a_namespace_without_history_are_empty_not_an_error(
    cluster: tuple[str, SubprocessClusterTools], namespace: str, tmp_path: Path
) -> None:
    kubeconfig, tools = cluster
    code = metrics_main(
        ["--env", "dev", "--namespace", namespace, "--release", "nothing"]
        + ["--kubeconfig", kubeconfig, "--report-dir", str(tmp_path)],
        tools_factory=lambda _k, _c: tools,
    )
    assert code == EXIT_OK
    assert json.loads((tmp_path / "metrics-dev.json").read_text())["records"] == 0


def test_the_subprocess_is_not_needed_for_the_cli_help() -> None:
    done = subprocess.run(
        [".venv/bin/python", "-m", "pipeline.deploy.metrics", "--help"],
        cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "--days" in done.stdout


READER_RBAC = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: metrics-reader, namespace: NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: delivery-metrics-reader, namespace: NS}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    resourceNames: [blog-deploy-history]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: delivery-metrics-reader, namespace: NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: delivery-metrics-reader}
subjects:
  - {kind: ServiceAccount, name: metrics-reader, namespace: NS}
"""


def test_metrics_need_only_read_access_to_the_one_configmap(
    cluster: tuple[str, SubprocessClusterTools], namespace: str, tmp_path: Path
) -> None:
    """The nightly workflow's read-only kubeconfig: get on <release>-deploy-history, nothing else
    (the Role of docs/deploy.md, enforced by the API server's RBAC)."""
    _, tools = cluster
    target = DeployTarget("dev", namespace, "v.yaml", "rolling", "http://x.invalid", release="blog")
    assert history.append(tools, target, rec("deploy", "succeeded", t(1, 10), commit="r")) == ""
    manifest = tmp_path / "rbac.yaml"
    manifest.write_text(READER_RBAC.replace("NS", namespace))
    kubectl(tools, "apply", "-f", str(manifest))
    token = kubectl(
        tools, "-n", namespace, "create", "token", "metrics-reader", "--duration", "10m"
    ).strip()
    admin = json.loads(kubectl(tools, "config", "view", "--raw", "--minify", "-o", "json"))
    cluster_entry = admin["clusters"][0]
    reader = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry],
        "users": [{"name": "reader", "user": {"token": token}}],
        "contexts": [
            {"name": "reader", "context": {"cluster": cluster_entry["name"], "user": "reader"}}
        ],
        "current-context": "reader",
    }
    path = tmp_path / "reader.kubeconfig"
    path.write_text(json.dumps(reader))
    path.chmod(0o600)
    read_only = SubprocessClusterTools(kubeconfig=str(path), env=tools.env)

    out = tmp_path / "m"
    code = metrics_main(
        ["--env", "dev", "--namespace", namespace, "--release", "blog", "--report-dir", str(out)],
        tools_factory=lambda _k, _c: read_only,
    )
    assert code == EXIT_OK
    assert json.loads((out / "metrics-dev.json").read_text())["records"] >= 1
    # ... and that kubeconfig can change nothing: a deploy record cannot be written with it.
    error = history.append(read_only, target, rec("deploy", "succeeded", t(2, 10)))
    assert "forbidden" in error.lower(), error


class _CorruptHistory:
    """Stands in for the API server (test of the decision only): a history ConfigMap that
    someone edited by hand into invalid JSON. Records every kubectl call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def run(self, tool: str, args: list[str], timeout: float) -> object:
        from pipeline.deploy.tools import CommandResult

        self.calls.append([tool, *args])
        cm = {"metadata": {"resourceVersion": "7"}, "data": {"records.json": "[{not json"}}
        return CommandResult(tuple(args), 0, json.dumps(cm))

    def http_get(self, url: str, timeout: float, headers: object = None) -> object:
        raise AssertionError("no HTTP")


def test_an_unreadable_history_is_a_warning_and_is_not_overwritten() -> None:
    tools = _CorruptHistory()
    target = DeployTarget("dev", "ns", "v.yaml", "rolling", "http://x.invalid")
    note = history.record(tools, target, _report(outcome="succeeded"))  # type: ignore[arg-type]
    assert note.startswith("warning: deploy not recorded in configmap/blog-creator-deploy-history")
    assert "not valid JSON" in note
    assert all(call[1] != "apply" for call in tools.calls)  # nothing written over it
