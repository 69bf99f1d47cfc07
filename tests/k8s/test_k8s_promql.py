"""The chart's PromQL, evaluated by Prometheus' own engine (`promtool test rules`).

- Every alert of the rendered PrometheusRule: fires on a synthetic series that breaks it, not
  before its `for:` duration, not on a healthy series; labels and rendered annotations checked.
- The canary AnalysisTemplate's queries (D7): a healthy canary gives one sample under the bounds;
  a canary that is not scraped, serves only probes or too few requests gives NO sample, and the
  template's conditions turn "no sample" or NaN into a failure, never a pass.

promtool comes from Debian's `prometheus` package (`apt-get install -y prometheus`).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_support import FULLNAME, Render, namespace_of

NS = namespace_of("prod")
JOB = f"{FULLNAME}-backend"
SERVICE = f'namespace="{NS}",service="{JOB}"'


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool not found: apt-get install -y prometheus (Debian)", pytrace=False)
    return path


def run_promtool(
    promtool: str, tmp: Path, groups: list[dict[str, Any]], tests: list[dict[str, Any]]
) -> str:
    (tmp / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    (tmp / "tests.yaml").write_text(
        yaml.safe_dump(
            {"rule_files": ["rules.yaml"], "evaluation_interval": "30s", "tests": tests},
            sort_keys=False,
        )
    )
    proc = subprocess.run(
        [promtool, "test", "rules", "tests.yaml"],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def prod_rule_groups(renders: dict[str, Render]) -> list[dict[str, Any]]:
    (rule,) = renders["prod"].of_kind("PrometheusRule")
    return rule["spec"]["groups"]


def requests(
    status: str, per_30s: int, route: str = "/api/v1/documents", **extra: str
) -> dict[str, str]:
    labels = {
        "namespace": NS,
        "job": JOB,
        "route": route,
        "status": status,
        "method": "GET",
        **extra,
    }
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"http_requests_total{{{body}}}", "values": f"0+{per_30s}x2000"}


def firing_window(
    alertname: str, for_: str, expected: list[dict[str, Any]], start_s: int = 30
) -> list[dict[str, Any]]:
    """Not firing just before `for` has elapsed since the condition became true, firing after."""
    seconds = int(for_[:-1]) * {"s": 1, "m": 60, "h": 3600}[for_[-1]]
    before, after = start_s + seconds - 30, start_s + seconds + 60
    return [
        {"eval_time": f"{before}s", "alertname": alertname, "exp_alerts": []},
        {"eval_time": f"{after}s", "alertname": alertname, "exp_alerts": expected},
    ]


def test_every_alert_has_a_unit_test(
    renders: dict[str, Render], promtool: str, tmp_path: Path
) -> None:
    groups = prod_rule_groups(renders)
    alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    fors = {name: r.get("for") for name, r in alerts.items()}
    # The durations this test is written for; a change of `for:` must update the test.
    assert fors == {
        "BlogCreatorErrorBudgetFastBurn": "2m",
        "BlogCreatorErrorBudgetSlowBurn": "15m",
        "BlogCreatorHighLatencyP95": "10m",
        "BlogCreatorHigh5xxRatio": "5m",
        "BlogCreatorPodRestarts": None,
        "BlogCreatorHPAAtMax": "15m",
    }
    slo = {"namespace": NS, "service": JOB}
    half_errors = [requests("500", 30), requests("200", 30)]  # 1 req/s each: 50 % 5xx
    burn_fast = {
        "exp_labels": {**slo, "severity": "critical", "slo": "availability"},
        "exp_annotations": {
            "summary": "Blog Creator is burning its 0.999 availability error budget fast",
            "description": "5xx ratio 50% over 1h and 5m; the 30-day budget is gone in about 2 days at this rate.",
        },
    }
    burn_slow = {
        "exp_labels": {**slo, "severity": "warning", "slo": "availability"},
        "exp_annotations": {
            "summary": "Blog Creator is burning its availability error budget",
            "description": "5xx ratio 50% over 6h and 30m.",
        },
    }
    ratio = {
        "exp_labels": {**slo, "severity": "critical"},
        "exp_annotations": {
            "summary": "More than 2% of backend requests fail with 5xx",
            "description": "5xx ratio is 50%.",
        },
    }
    # p95 = 2 + 0.95 * (3 - 2) = 2.95 s: every request lands in the (2, 3] bucket.
    buckets = [
        {
            "series": f'http_request_duration_seconds_bucket{{namespace="{NS}",job="{JOB}",le="{le}"}}',
            "values": values,
        }
        for le, values in (("2", "0x2000"), ("3", "0+30x2000"), ("+Inf", "0+30x2000"))
    ]
    latency = {
        "exp_labels": {**slo, "severity": "critical", "slo": "latency"},
        "exp_annotations": {
            "summary": "Backend p95 latency above 2 s",
            "description": "p95 latency is 2.95s.",
        },
    }
    pod = f"{FULLNAME}-backend-7d9f-abcde"
    restarts = {
        "series": f'kube_pod_container_status_restarts_total{{namespace="{NS}",pod="{pod}",container="backend"}}',
        "values": "0x10 3x60",  # three restarts at 5m
    }
    hpa = f"{FULLNAME}-backend"
    hpa_series = [
        {
            "series": f'kube_horizontalpodautoscaler_status_current_replicas{{namespace="{NS}",horizontalpodautoscaler="{hpa}"}}',
            "values": "10x100",
        },
        {
            "series": f'kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{NS}",horizontalpodautoscaler="{hpa}"}}',
            "values": "10x100",
        },
    ]
    hpa_alert = {
        "exp_labels": {"namespace": NS, "horizontalpodautoscaler": hpa, "severity": "critical"},
        "exp_annotations": {
            "summary": "Blog Creator autoscaler at its maximum",
            "description": f"{hpa} has run at maxReplicas for 15 minutes; raise the bound or find the load.",
        },
    }
    healthy = [requests("200", 30)]
    tests: list[dict[str, Any]] = [
        {
            "name": "error ratio alerts",
            "interval": "30s",
            "input_series": half_errors,
            "alert_rule_test": [
                *firing_window("BlogCreatorErrorBudgetFastBurn", "2m", [burn_fast]),
                *firing_window("BlogCreatorErrorBudgetSlowBurn", "15m", [burn_slow]),
                *firing_window("BlogCreatorHigh5xxRatio", "5m", [ratio]),
            ],
        },
        {
            "name": "latency",
            "interval": "30s",
            "input_series": buckets,
            "alert_rule_test": firing_window("BlogCreatorHighLatencyP95", "10m", [latency]),
        },
        {
            "name": "restarts fire without a for: duration",
            "interval": "30s",
            "input_series": [restarts],
            "alert_rule_test": [
                {"eval_time": "4m30s", "alertname": "BlogCreatorPodRestarts", "exp_alerts": []},
                {
                    "eval_time": "6m",
                    "alertname": "BlogCreatorPodRestarts",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "namespace": NS,
                                "pod": pod,
                                "container": "backend",
                                "severity": "critical",
                            },
                            "exp_annotations": {
                                "summary": "Blog Creator pods are restarting",
                                "description": f"{pod} restarted 3 times in 30 minutes.",
                            },
                        }
                    ],
                },
            ],
        },
        {
            "name": "hpa at max",
            "interval": "1m",
            "input_series": hpa_series,
            "alert_rule_test": [
                {"eval_time": "14m", "alertname": "BlogCreatorHPAAtMax", "exp_alerts": []},
                {"eval_time": "16m", "alertname": "BlogCreatorHPAAtMax", "exp_alerts": [hpa_alert]},
            ],
        },
        {
            "name": "a healthy service fires nothing",
            "interval": "30s",
            "input_series": healthy,
            "alert_rule_test": [
                {"eval_time": "2h", "alertname": name, "exp_alerts": []} for name in alerts
            ],
        },
    ]
    run_promtool(promtool, tmp_path, groups, tests)


def test_promtool_unit_tests_can_fail(
    renders: dict[str, Render], promtool: str, tmp_path: Path
) -> None:
    """A wrong expectation (the alert firing before its `for:`) makes promtool fail."""
    groups = prod_rule_groups(renders)
    wrong = [
        {
            "interval": "30s",
            "input_series": [requests("500", 30)],
            "alert_rule_test": [
                {
                    "eval_time": "2m",
                    "alertname": "BlogCreatorHigh5xxRatio",
                    "exp_alerts": [
                        {"exp_labels": {"namespace": NS, "service": JOB, "severity": "critical"}}
                    ],
                }
            ],
        }
    ]
    with pytest.raises(AssertionError, match="FAILED"):
        run_promtool(promtool, tmp_path, groups, wrong)


# --- Canary analysis (D7) -----------------------------------------------------------------------

CANARY = "new5f7c"
STABLE = "old9a1b"


def analysis_metrics(render: Render) -> dict[str, dict[str, Any]]:
    (template,) = [
        t
        for t in render.of_kind("AnalysisTemplate")
        if t["metadata"]["name"].endswith("-canary-health")
    ]
    return {m["name"]: m for m in template["spec"]["metrics"]}


def bound_query(metric: dict[str, Any]) -> str:
    query = metric["provider"]["prometheus"]["query"]
    return (
        query.replace("{{args.service-name}}", JOB).replace("{{args.canary-hash}}", CANARY).strip()
    )


def condition(expr: str, result: list[float]) -> bool:
    """Evaluate an Argo Rollouts (expr-lang) condition of the forms the chart uses."""
    py = expr.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"!(?!=)", " not ", py)
    return bool(eval(py, {"__builtins__": {}}, {"len": len, "isNaN": math.isnan, "result": result}))


def canary_series(
    hash_: str, status: str, per_30s: int, route: str = "/api/v1/documents"
) -> dict[str, str]:
    return requests(status, per_30s, route=route, rollouts_pod_template_hash=hash_)


def canary_buckets(hash_: str, per_30s: int) -> list[dict[str, str]]:
    out = []
    for le, values in (("0.5", f"0+{per_30s}x2000"), ("+Inf", f"0+{per_30s}x2000")):
        out.append(
            {
                "series": (
                    f'http_request_duration_seconds_bucket{{namespace="{NS}",job="{JOB}",'
                    f'route="/api/v1/documents",rollouts_pod_template_hash="{hash_}",le="{le}"}}'
                ),
                "values": values,
            }
        )
    return out


def test_analysis_has_no_no_data_fallback(renders: dict[str, Render]) -> None:
    for name in ("prod", "prod-bluegreen", "staging", "canary-plain"):
        metrics = analysis_metrics(renders[name])
        assert set(metrics) == {"canary-requests", "error-rate", "p95-latency"}
        for metric in metrics.values():
            query = metric["provider"]["prometheus"]["query"]
            assert "vector(" not in query, f"{name}/{metric['name']}: no-data fallback in {query}"
            # No data (empty result) and NaN fail; they never satisfy the success condition.
            for no_data in ([], [math.nan]):
                assert not condition(metric["successCondition"], no_data), metric["name"]
                assert condition(metric["failureCondition"], no_data), metric["name"]
            assert "initialDelay" in metric


def test_analysis_conditions_on_real_values(renders: dict[str, Render]) -> None:
    metrics = analysis_metrics(renders["prod"])
    err, p95, reqs = metrics["error-rate"], metrics["p95-latency"], metrics["canary-requests"]
    assert condition(err["successCondition"], [0.0]) and not condition(
        err["failureCondition"], [0.0]
    )
    assert condition(err["failureCondition"], [0.5]) and not condition(
        err["successCondition"], [0.5]
    )
    assert condition(p95["successCondition"], [0.5]) and condition(p95["failureCondition"], [2.95])
    assert condition(reqs["successCondition"], [120.0]) and condition(
        reqs["failureCondition"], [12.0]
    )


def test_analysis_queries_need_the_canarys_own_samples(
    renders: dict[str, Render], promtool: str, tmp_path: Path
) -> None:
    metrics = analysis_metrics(renders["prod"])
    q = {name: bound_query(m) for name, m in metrics.items()}
    stable = [
        canary_series(STABLE, "200", 300),
        canary_series(STABLE, "500", 1),
        *canary_buckets(STABLE, 300),
    ]
    at = "10m"

    def case(
        name: str, series: list[dict[str, str]], expected: dict[str, list[dict[str, Any]]]
    ) -> dict[str, Any]:
        return {
            "name": name,
            "interval": "30s",
            "input_series": stable + series,
            "promql_expr_test": [
                {"expr": q[metric], "eval_time": at, "exp_samples": samples}
                for metric, samples in expected.items()
            ],
        }

    empty: list[dict[str, Any]] = []
    tests = [
        # 1 req/s of served traffic, no 5xx series at all: 0 errors, fast, 120 requests in 2m.
        case(
            "healthy canary",
            [canary_series(CANARY, "200", 30), *canary_buckets(CANARY, 30)],
            {
                "canary-requests": [{"labels": "{}", "value": 120}],
                "error-rate": [{"labels": "{}", "value": 0}],
                "p95-latency": [{"labels": "{}", "value": 0.475}],
            },
        ),
        case(
            "failing canary",
            [
                canary_series(CANARY, "200", 30),
                canary_series(CANARY, "503", 30),
                *canary_buckets(CANARY, 60),
            ],
            {"error-rate": [{"labels": "{}", "value": 0.5}]},
        ),
        # Drill e: the canary's pods are not scraped (no series with its hash): no sample.
        case("canary not scraped", [], {name: empty for name in q}),
        # Only kubelet probes and Prometheus scrapes reach it: not traffic.
        case(
            "canary serves only probes",
            [
                canary_series(CANARY, "200", 30, route="/readyz"),
                canary_series(CANARY, "200", 30, route="/healthz"),
                canary_series(CANARY, "200", 30, route="/metrics"),
            ],
            {name: empty for name in q},
        ),
        # 3 requests per minute: 6 in the 2 m window, below minRequests (20).
        case(
            "too few requests",
            [
                canary_series(CANARY, "200", 0),
                {**canary_series(CANARY, "200", 0), "values": "0+1.5x2000"},
            ],
            {"error-rate": empty, "p95-latency": empty},
        ),
    ]
    # The "too few" case needs distinct series; give the second one another method.
    tests[4]["input_series"][-1]["series"] = tests[4]["input_series"][-1]["series"].replace(
        'method="GET"', 'method="POST"'
    )
    run_promtool(promtool, tmp_path, [], tests)
