"""The error-ratio alert's `for:` is a chart value (metrics.prometheusRule.errorRatioFor).

Production keeps 5m in every environment; the real-node alert drill
(tests/cluster/test_real_alerts.py) shortens it with its overlay, and that overlay changes
nothing else of the rules. promtool (Debian's `prometheus` package) proves the shortened
duration is what Prometheus waits for; the schema refuses a duration Prometheus would not parse.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_support import DIGEST_SETS, FULLNAME, REPO, helm_template, namespace_of

ALERT = "BlogCreatorHigh5xxRatio"
DRILL_OVERLAY = REPO / "tests" / "cluster" / "alerting" / "values-alerts.yaml"


def alert_rules(helm: str, env: str, *extra: str) -> dict[str, dict[str, Any]]:
    proc = helm_template(helm, env, DIGEST_SETS, extra)
    assert proc.returncode == 0, proc.stderr
    (rule,) = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "PrometheusRule"]
    return {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_production_for_is_five_minutes(helm: str, env: str) -> None:
    assert alert_rules(helm, env)[ALERT]["for"] == "5m"


def test_drill_overlay_changes_only_that_for(helm: str) -> None:
    base = alert_rules(helm, "dev")
    drill = alert_rules(helm, "dev", "-f", str(DRILL_OVERLAY))
    assert drill[ALERT]["for"] == "30s"
    assert {**drill, ALERT: base[ALERT]} == base


def test_schema_refuses_a_duration_prometheus_cannot_parse(helm: str) -> None:
    proc = helm_template(
        helm, "dev", [*DIGEST_SETS, "metrics.prometheusRule.errorRatioFor=5 minutes"]
    )
    assert proc.returncode != 0
    assert "at '/metrics/prometheusRule/errorRatioFor'" in proc.stderr, proc.stderr


def test_promtool_waits_the_shortened_for(helm: str, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.fail("promtool not found: apt-get install -y prometheus (Debian)", pytrace=False)
    ns = namespace_of("dev")
    proc = helm_template(helm, "dev", DIGEST_SETS, ("-f", str(DRILL_OVERLAY)))
    (rule,) = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "PrometheusRule"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    job = f'namespace="{ns}",job="{FULLNAME}-backend",route="/healthz",method="GET"'
    series = [
        {"series": f'http_requests_total{{{job},status="{s}"}}', "values": "0+30x100"}
        for s in ("200", "500")
    ]
    labels = {"namespace": ns, "service": f"{FULLNAME}-backend", "severity": "warning"}
    # Errors from t=0; the 5m ratio is known (two samples) and above 10 % from t=30s, the
    # recording group runs every 30 s: pending at 30s, still pending at 30s + 29s, firing at 60s.
    fired = {
        "exp_labels": labels,
        "exp_annotations": {
            "summary": "More than 10% of backend requests fail with 5xx",
            "description": "5xx ratio is 50%.",
        },
    }
    checks = [("30s", []), ("59s", []), ("60s", [fired])]
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1s",
        "tests": [
            {
                "interval": "30s",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": t, "alertname": ALERT, "exp_alerts": e} for t, e in checks
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    run = subprocess.run(
        [promtool, "test", "rules", "tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
