"""`deploy --env local` rehearses an upgrade, not only a first install (issue 15 item 9, D6).

No Dagger engine, k3s or Argo Rollouts controller runs here, so this is checked in three parts,
none of which is a real k3s run:
1. the queries (fake engine, schema-validated): ONE tools-container exec of
   `python -m pipeline.deploy.rehearse deploy ...` bound to ONE k3s service with one kubeconfig
   handoff, the target carrying local.yaml and the rehearsal overlay; the report of a failed
   baseline is returned with --fail-on-error=false;
2. the two-deploy sequence, run for real in-process (the runtime's code, the real values files
   and chart on disk) against the recording fake cluster of tests/deploy and a loopback
   one-shot kubeconfig handoff: the exact deploy-runtime calls, values files, versions,
   reports, the bounded traffic; a failed baseline stops before the upgrade;
3. what makes the upgrade's canary analysis see data on k3s: the Prometheus scrape job equals
   the chart's ServiceMonitor on the chart's rendered Services, and the overlay keys exist in
   the chart with the real-node rehearsal's values.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import anyio
import module_dagger_harness as h
import pytest
import yaml
from deploy_fakes import FakeClock, FakeCluster
from module_local_rehearsal import (
    BACKEND,
    DIGEST,
    FRONTEND,
    KUBECONFIG_TEXT,
    ROOT,
    RolloutsCluster,
    local_target,
    rehearse_run,
)

from pipeline.config import parse_config_text
from pipeline.deploy import ephemeral, rehearse
from pipeline.deploy.request import DeployInputError, DeployTarget

TOOLS_BIN = (
    Path(os.environ.get("TOOLS_DIR", str(Path.home() / ".cache/blog-creator/tools"))) / "bin"
)
RELEASE = json.dumps(
    {
        "images": {"backend": {"ref": BACKEND}, "frontend": {"ref": FRONTEND}},
        "scan": {"passed": True},
    }
)
OVERLAY = ["analysis.interval=20s", "analysis.window=1m", "analysis.count=3"]
REHEARSAL = ["python", "-m", "pipeline.deploy.rehearse"]
RUNTIME = ["python", "-m", "pipeline.deploy"]


# ---- 1. the queries ---------------------------------------------------------------------


def run(
    inputs: dict[str, Any], resolvers: dict[str, Any] | None = None
) -> tuple[Any, h.FakeEngine]:
    engine = h.FakeEngine(files={"r": RELEASE}, resolvers=resolvers)
    result = anyio.run(h.call, engine, "deploy", {"release_report": "r", **inputs})
    return result, engine


def runtime_execs(engine: h.FakeEngine) -> set[tuple[str, ...]]:
    return {
        tuple(c.args["args"])
        for c in engine.calls("withExec")
        if c.args["args"][:3] in (REHEARSAL, RUNTIME)
    }


def test_local_deploy_is_one_rehearsal_exec_on_one_k3s_with_one_handoff() -> None:
    _, engine = run({"env": "local"})
    execs = runtime_execs(engine)
    assert len(execs) == 1, execs
    history_limit = str(
        parse_config_text((ROOT / "pipeline.yaml").read_text()).metrics.history_limit
    )
    assert list(next(iter(execs))) == [
        *REHEARSAL,
        "deploy",
        "--target", "/deploy/target.json",
        "--chart", "k8s/chart",
        "--report-dir", "/deploy/reports",
        "--kubeconfig", ephemeral.TOOLS_KUBECONFIG,
        "--kubeconfig-from", f"{ephemeral.K3S_HOST}:{ephemeral.HANDOFF_PORT}",
        "--release-report", "/deploy/release.json",
        "--history-limit", history_limit,
    ]  # fmt: skip
    # one throwaway cluster serves both deploys (one service, bound once, as `k3s`)
    services = {
        tuple(c.args["args"])
        for c in engine.calls("asService")
        if c.args.get("insecureRootCapabilities")
    }
    assert len(services) == 1
    assert {c.args["alias"] for c in engine.calls("withServiceBinding")} == {"k3s"}
    target = json.loads(
        next(
            c.args["contents"]
            for c in engine.calls("withNewFile")
            if c.args["path"] == "/deploy/target.json"
        )
    )
    assert target == local_target()
    assert target["values_file"] == "k8s/environments/local.yaml"
    assert target["extra_values"] == OVERLAY and target["strategy"] == "canary"


@pytest.mark.parametrize(
    ("inputs", "module"),
    [
        ({"env": "local", "dry_run": True}, RUNTIME),  # renders only: nothing to upgrade
        ({"env": "staging", "kubeconfig": h.secret_id("kubeconfig")}, RUNTIME),
    ],
)
def test_only_a_local_deploy_rehearses(inputs: dict[str, Any], module: list[str]) -> None:
    _, engine = run(inputs)
    (args,) = runtime_execs(engine)
    assert list(args[:4]) == [*module, "deploy"]
    if inputs.get("dry_run"):
        assert engine.calls("withServiceBinding") == []


def _exists_only(paths: set[str]) -> dict[str, Any]:
    return {
        "Container.exitCode": lambda call: 1,
        "Container.exists": lambda call: call.args["path"] in paths,
        "Container.stdout": lambda call: (
            "## 1/2 Baseline install\nbaseline install failed (exit 1)\n"
        ),
    }


def test_failed_baseline_report_is_returned_without_fail_on_error() -> None:
    baseline = "/deploy/reports/baseline/deploy-local.json"
    result, engine = run({"env": "local", "fail_on_error": False}, _exists_only({baseline}))
    assert result  # the reports Directory, not an error
    asked = [c.args["path"] for c in engine.calls("exists")]
    assert asked == ["/deploy/reports/deploy-local.json", baseline]


def test_no_report_at_all_still_fails_without_fail_on_error() -> None:
    engine = h.FakeEngine(files={"r": RELEASE}, resolvers=_exists_only(set()))
    with pytest.raises(Exception, match=r"it wrote no report to return"):
        anyio.run(
            h.call,
            engine,
            "deploy",
            {"env": "local", "release_report": "r", "fail_on_error": False},
        )


# ---- 2. the two deploys, run in-process against the fake cluster -------------------------


def release_upgrades(cluster: FakeCluster) -> list[str]:
    return [
        c for c in cluster.commands("helm") if c.startswith("helm upgrade --install blog-creator ")
    ]


def test_baseline_install_then_the_release_as_upgrade(tmp_path: Path) -> None:
    clock = FakeClock()
    cluster = RolloutsCluster(clock, strategy="canary", history=[])
    code, handoff = rehearse_run(tmp_path, cluster, clock)
    assert code == 0
    assert handoff.connections == 1  # the one-shot kubeconfig is fetched once, before both
    assert (tmp_path / "kubeconfig").read_text() == KUBECONFIG_TEXT
    values = str(ROOT / "k8s/environments/local.yaml")
    common = [
        "helm upgrade --install blog-creator", str(ROOT / "k8s/chart"),
        "--namespace blog-local --values", values,
        "--set-string", f"image.backend.repository={BACKEND.split('@')[0]}",
        "--set-string", f"image.backend.digest={DIGEST}",
        "--set-string", f"image.frontend.repository={FRONTEND.split('@')[0]}",
        "--set-string", f"image.frontend.digest={DIGEST}",
        "--set-string strategy=canary",
        *(f"--set {v}" for v in OVERLAY),
    ]  # fmt: skip
    tail = "--create-namespace --server-side=false --timeout 300s --history-max 20 --output json"
    assert release_upgrades(cluster) == [
        " ".join([*common, "--set-string release.version=1.2.3-baseline", tail]),
        " ".join([*common, "--set-string release.version=1.2.3", tail]),
    ]
    baseline = json.loads((tmp_path / "reports/baseline/deploy-local.json").read_text())
    upgrade = json.loads((tmp_path / "reports/deploy-local.json").read_text())
    assert (baseline["outcome"], baseline["revision_before"], baseline["revision_after"]) == (
        "succeeded", None, 1,
    )  # fmt: skip
    assert (upgrade["outcome"], upgrade["revision_before"], upgrade["revision_after"]) == (
        "succeeded", 1, 2,
    )  # fmt: skip
    # traffic for the canary analysis: through the API server proxy, between the two upgrades
    commands = cluster.commands()
    raw = "kubectl get --raw /api/v1/namespaces/blog-local/services/blog-creator-backend:http/proxy/api/v1/auth/me"
    first, second = (commands.index(u) for u in release_upgrades(cluster))
    assert raw in commands[first:second]
    assert all(c == raw for c in commands[:first] if "auth/me" in c)
    # what the controller ran, read after the upgrade, beside both exit codes
    runs = "kubectl get analysisruns.argoproj.io --namespace blog-local --output json"
    assert commands.index(runs) > second
    summary = json.loads((tmp_path / "reports" / rehearse.REHEARSAL_REPORT).read_text())
    assert summary["baseline"] == {"report": "baseline/deploy-local.json", "exit_code": 0}
    assert summary["upgrade"] == {"report": "deploy-local.json", "exit_code": 0}
    assert summary["analysis_runs"] == [
        {
            "name": "blog-creator-backend-6c9f7d-2-1",
            "phase": "Successful",
            "rollout": "blog-creator-backend",
        }
    ]
    assert summary["traffic"]["sent"] >= 1 and summary["analysis_runs_error"] == ""


def test_a_failed_baseline_is_not_upgraded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    cluster = FakeCluster(clock, strategy="canary", history=[], upgrade_ok=False)
    code, _ = rehearse_run(tmp_path, cluster, clock)
    assert code != 0
    assert len(release_upgrades(cluster)) == 1
    assert not (tmp_path / "reports/deploy-local.json").exists()
    assert (tmp_path / "reports/baseline/deploy-local.json").exists()
    assert "baseline install failed" in capsys.readouterr().out
    assert not [c for c in cluster.commands() if "auth/me" in c]
    summary = json.loads((tmp_path / "reports" / rehearse.REHEARSAL_REPORT).read_text())
    assert summary["upgrade"] is None and summary["baseline"]["exit_code"] == code


def test_a_handoff_that_serves_nothing_refuses_before_any_deploy(tmp_path: Path) -> None:
    clock = FakeClock()
    cluster = FakeCluster(clock, strategy="canary", history=[])
    server = socket.create_server(("127.0.0.1", 0))  # accepts, answers nothing
    server.settimeout(10)
    threading.Thread(target=lambda: server.accept()[0].close(), daemon=True).start()
    target = tmp_path / "target.json"
    target.write_text(json.dumps(local_target()))
    code = rehearse.main(
        [
            "deploy",
            "--target",
            str(target),
            "--kubeconfig",
            str(tmp_path / "k"),
            "--kubeconfig-from",
            f"127.0.0.1:{server.getsockname()[1]}",
        ],
        tools_factory=lambda kubeconfig, context: cluster,
        clock=clock,
    )
    server.close()
    assert code == 2 and cluster.calls == []


def test_deploy_runs_and_baseline_version() -> None:
    baseline, upgrade = rehearse.deploy_runs(
        [
            "deploy",
            "--target",
            "t",
            "--report-dir",
            "r",
            "--kubeconfig",
            "k",
            "--kubeconfig-from",
            "k3s:6444",
        ]
    )
    assert upgrade == ["deploy", "--target", "t", "--report-dir", "r", "--kubeconfig", "k"]
    assert baseline == [
        "deploy",
        "--target",
        "t",
        "--kubeconfig",
        "k",
        "--report-dir",
        "r/baseline",
        "--version",
        "baseline",
    ]
    assert rehearse.baseline_version("v9") == "v9-baseline"
    long = "x" * 63
    assert len(rehearse.baseline_version(long)) == 63 and rehearse.baseline_version(long) != long
    for bad in (["promote", "--target", "t"], ["deploy", "--dry-run"]):
        with pytest.raises(DeployInputError):
            rehearse.deploy_runs(bad)


# ---- 3. what the upgrade's analysis needs on k3s -----------------------------------------


def _helm() -> str:
    found = shutil.which("helm", path=f"{TOOLS_BIN}:{os.environ.get('PATH', '')}")
    assert found, "helm not found: scripts/install-k8s-tools.sh puts it in $TOOLS_DIR/bin"
    return found


def render_local(*extra: str) -> list[dict[str, Any]]:
    args = [_helm(), "template", "blog-creator", str(ROOT / "k8s/chart"), "-n", "blog-local"]
    args += ["-f", str(ROOT / "k8s/environments/local.yaml")]
    args += ["--set-string", "image.backend.tag=t", "--set-string", "image.frontend.tag=t"]
    for value in [*OVERLAY, *extra]:
        args += ["--set", value]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def relabel(config: dict[str, Any], meta: dict[str, str]) -> dict[str, str] | None:
    """Prometheus relabeling (keep / replace with anchored regex) of one discovered target."""
    labels = dict(meta)
    for rule in config["relabel_configs"]:
        value = ";".join(labels.get(s, "") for s in rule.get("source_labels", []))
        match = re.fullmatch(str(rule.get("regex", "(.*)")), value)
        if rule.get("action", "replace") == "keep":
            if not match:
                return None
        elif match:
            labels[rule["target_label"]] = match.expand(
                str(rule.get("replacement", "$1")).replace("$1", r"\1")
            )
    return {k: v for k, v in labels.items() if not k.startswith("__")}


def _meta(service: dict[str, Any], port: str, pod_labels: dict[str, str]) -> dict[str, str]:
    def name(label: str) -> str:
        return re.sub(r"[^a-zA-Z0-9_]", "_", label)

    meta = {
        "__meta_kubernetes_namespace": service["metadata"]["namespace"],
        "__meta_kubernetes_service_name": service["metadata"]["name"],
        "__meta_kubernetes_endpoint_port_name": port,
        "__meta_kubernetes_pod_name": "pod-1",
    }
    for k, v in service["metadata"]["labels"].items():
        meta[f"__meta_kubernetes_service_label_{name(k)}"] = str(v)
    for k, v in pod_labels.items():
        meta[f"__meta_kubernetes_pod_label_{name(k)}"] = v
    return meta


@pytest.mark.parametrize("strategy", ["canary", "blueGreen"])
def test_k3s_prometheus_scrapes_what_the_servicemonitor_selects(strategy: str) -> None:
    docs = render_local(f"strategy={strategy}", "metrics.serviceMonitor.enabled=true")
    monitors = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceMonitor"}
    services = [d for d in docs if d["kind"] == "Service"]
    values = yaml.safe_load(ephemeral.scrape_values(DeployTarget.from_json(local_target())))
    (job,) = yaml.safe_load(values["extraScrapeConfigs"])
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["blog-local"]
    hash_label = {"rollouts-pod-template-hash": "6c9f7d"}
    scraped = {}
    for service in services:
        port = service["spec"]["ports"][0]["name"]
        labels = relabel(job, _meta(service, port, hash_label))
        if labels is not None:
            scraped[service["metadata"]["name"]] = labels
        assert relabel(job, _meta(service, "other", hash_label)) is None  # only port http
    # the Services of the apps with a ServiceMonitor, and no other
    assert {labels["job"] for labels in scraped.values()} == monitors == {"blog-creator-backend"}
    for labels in scraped.values():  # the labels the analysis selects the new pods by
        assert labels == {
            "job": "blog-creator-backend",
            "service": "blog-creator-backend",
            "namespace": "blog-local",
            "pod": "pod-1",
            "rollouts_pod_template_hash": "6c9f7d",
        }
    # blueGreen: the pod behind active and preview is one target (identical label sets)
    assert len(scraped) == (2 if strategy == "blueGreen" else 1)


def test_k3s_prometheus_scrape_job_is_a_valid_prometheus_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install -y prometheus)")
    values = yaml.safe_load(ephemeral.scrape_values(DeployTarget.from_json(local_target())))
    (job,) = yaml.safe_load(values["extraScrapeConfigs"])
    # Debian's promtool is built without Kubernetes discovery: the SD block is checked here,
    # promtool checks the rest (durations, relabel rules, regexes) with a static target.
    assert job.pop("kubernetes_sd_configs") == [
        {"role": "endpoints", "namespaces": {"names": ["blog-local"]}}
    ]
    job["static_configs"] = [{"targets": ["127.0.0.1:1"]}]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": [job]}))
    done = subprocess.run(
        [promtool, "check", "config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_prometheus_install_gets_the_scrape_job_as_a_values_file() -> None:
    clock = FakeClock()
    cluster = FakeCluster(clock, strategy="canary", history=[])
    seen: list[str] = []
    real_run = cluster.run

    def run_and_read(tool: Any, args: Any, timeout: float) -> Any:
        if tool == "helm" and args[2] == "prometheus":
            seen.append(Path(args[args.index("--values") + 1]).read_text())
        return real_run(tool, args, timeout)

    cluster.run = run_and_read  # type: ignore[method-assign]
    target = DeployTarget.from_json(local_target())
    ephemeral.prepare(cluster, clock, target)
    assert seen == [ephemeral.scrape_values(target)]


def test_overlay_keys_are_the_real_node_rehearsals_and_exist_in_the_chart() -> None:
    chart = yaml.safe_load((ROOT / "k8s/chart/values.yaml").read_text())
    # The analysis timing of the real-node rehearsal's staging overlay, proven there on a real
    # Argo Rollouts controller and Prometheus (prod's overlay measures faster still, on 5 s
    # scrapes that k3s's Prometheus does not have).
    staging_overlay = yaml.safe_load((ROOT / "tests/rehearsal/overlays/staging.yaml").read_text())
    for key, value in ephemeral.REHEARSAL_OVERLAY:
        node: Any = chart
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"{key}: not a chart value"
            node = node[part]
        assert str(node) != value, f"{key}: the overlay must change the chart's value"
        assert str(staging_overlay[key]) == value, (
            f"{key}: differs from tests/rehearsal/overlays/staging.yaml"
        )
    analysis = next(d for d in render_local() if d["kind"] == "AnalysisTemplate")
    metrics = analysis["spec"]["metrics"]
    assert {(m["interval"], m["count"]) for m in metrics} == {("20s", 3)}
    assert all("[1m]" in m["provider"]["prometheus"]["query"] for m in metrics)
