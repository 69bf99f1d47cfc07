"""The rehearsal overlay contract (README.md): one overlay per environment, only listed keys,
each a real chart key with a non-production value; the result renders with the chart's schema
and keeps the canary analysis inside the (shortened) pauses. And the rehearsal script installs
AND upgrades each environment, so canary steps and analysis really run (D6)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

from rehearsal_target import overlay, target_json

ENVS = ("staging", "prod")
TOOLS_BIN = (
    Path(os.environ.get("TOOLS_DIR", str(Path.home() / ".cache/blog-creator/tools"))) / "bin"
)
ROW = re.compile(r"^\| ([a-z, ]+) \| `([^`]+)` \| ([^|]*) \| ([^|]+) \|$")


def listed() -> dict[str, dict[str, str]]:
    """env -> {key: reason} from the README's overlay table."""
    out: dict[str, dict[str, str]] = {env: {} for env in ENVS}
    for line in (HERE / "README.md").read_text().splitlines():
        match = ROW.match(line.strip())
        if not match:
            continue
        envs, key, _value, reason = match.groups()
        if key.startswith(("values:", "target:")):
            continue  # a drill setting (test_every_drill_setting_of_the_script_is_listed)
        for env in (e.strip() for e in envs.split(",")):
            assert env in out, f"README row for unknown environment {env!r}: {line}"
            out[env][key] = reason.strip()
    return out


def lookup(values: Any, key: str) -> tuple[bool, Any]:
    """(exists, value) of a Helm --set path like a.b[1].c in a values tree."""
    node = values
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(node, list) or index >= len(node):
                return False, None
            node = node[index]
        else:
            if not isinstance(node, dict) or part not in node:
                return False, None
            node = node[part]
    return True, node


def merged_values(env: str) -> dict[str, Any]:
    """Chart defaults with the environment's file on top (Helm: maps merge, lists replace)."""

    def merge(base: Any, top: Any) -> Any:
        if isinstance(base, dict) and isinstance(top, dict):
            return {k: merge(base.get(k), v) for k, v in top.items()} | {
                k: v for k, v in base.items() if k not in top
            }
        return top

    chart = yaml.safe_load((ROOT / "k8s/chart/values.yaml").read_text())
    return merge(chart, yaml.safe_load((ROOT / f"k8s/environments/{env}.yaml").read_text()))


def test_every_listed_key_has_a_reason() -> None:
    table = listed()
    for env in ENVS:
        assert table[env], f"README lists no overlay keys for {env}"
        for key, reason in table[env].items():
            assert len(reason) >= 10, f"{env} {key}: give the reason"


@pytest.mark.parametrize("env", ENVS)
def test_overlay_touches_only_listed_chart_keys_with_non_production_values(env: str) -> None:
    table, data, values = listed()[env], overlay(env), merged_values(env)
    unlisted = sorted(set(data) - set(table))
    assert not unlisted, (
        f"overlays/{env}.yaml sets {unlisted}: not listed for {env} in tests/rehearsal/README.md "
        "(list each deviation from production with its reason, or remove it)"
    )
    stale = sorted(set(table) - set(data))
    assert not stale, f"README lists {stale} for {env} but overlays/{env}.yaml does not set them"
    for key, value in data.items():
        exists, production = lookup(values, key)
        assert exists, f"overlays/{env}.yaml: {key} is not a key of the chart values"
        assert not isinstance(production, (dict, list)), f"{key}: overlay only scalars"
        normalized = "" if value is None else value
        assert normalized != production and str(normalized) != str(production), (
            f"overlays/{env}.yaml: {key}={value!r} equals production; remove it"
        )


def test_the_rehearsal_target_is_pipeline_yamls_but_the_url() -> None:
    for env in ENVS:
        pipeline = yaml.safe_load((ROOT / "pipeline.yaml").read_text())["environments"][env]
        target = target_json(env, "http://127.0.0.1:18080")
        assert target["namespace"] == pipeline["namespace"]
        assert target["values_file"] == pipeline["values_file"]
        assert target["strategy"] == pipeline["strategy"]
        assert target["timeout_seconds"] == pipeline.get("timeout_seconds", 300)
        assert target["release"] == "blog-creator" and target["url"] == "http://127.0.0.1:18080"
        assert [v.split("=", 1)[0] for v in target["extra_values"]] == list(overlay(env))


def helm() -> str:
    found = TOOLS_BIN / "helm"
    path = str(found) if found.is_file() else shutil.which("helm")
    if not path:
        pytest.fail("helm not found: run scripts/install-k8s-tools.sh", pytrace=False)
    return path


def render(env: str) -> list[dict[str, Any]]:
    target = target_json(env, "http://127.0.0.1:18080")
    cmd = [
        helm(),
        "template",
        str(target["release"]),
        str(ROOT / "k8s/chart"),
        "-n",
        str(target["namespace"]),
    ]
    cmd += ["-f", str(ROOT / str(target["values_file"]))]
    cmd += [
        "--set",
        f"image.backend.digest=sha256:{'b' * 64}",
        "--set",
        f"image.frontend.digest=sha256:{'f' * 64}",
    ]
    cmd += ["--set-string", f"strategy={target['strategy']}"]
    for value in target["extra_values"]:  # type: ignore[union-attr]
        cmd += ["--set", value]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.mark.parametrize("env", ENVS)
def test_overlay_renders_and_keeps_the_analysis_inside_the_pauses(env: str) -> None:
    from pipeline.deploy.deadline import analysis_seconds, planned_wait_seconds

    docs = render(env)
    rollouts = [d for d in docs if d["kind"] == "Rollout"]
    templates = {d["metadata"]["name"]: d for d in docs if d["kind"] == "AnalysisTemplate"}
    (health,) = [t for n, t in templates.items() if n.endswith("canary-health")]
    backend = next(r for r in rollouts if r["metadata"]["name"].endswith("backend"))
    config = next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-config")
    )
    assert "ELASTICSEARCH_URL" not in config["data"]  # "" -> SQLite, as the README says
    if env == "prod":
        canary = backend["spec"]["strategy"]["canary"]
        start = canary["analysis"]["startingStep"]
        after = {"spec": {"strategy": {"canary": {"steps": canary["steps"][start:]}}}}
        assert analysis_seconds(health) <= planned_wait_seconds(after, {})
        assert "trafficRouting" not in canary  # replica-weighted without Istio
    else:
        traffic = templates["blog-creator-preview-traffic"]
        job_seconds = (
            traffic["spec"]["metrics"][0]["provider"]["job"]["spec"]["activeDeadlineSeconds"] - 60
        )
        assert job_seconds >= analysis_seconds(health)  # preview traffic for the whole analysis
    for rollout in rollouts:
        requests = rollout["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        assert requests["cpu"] in {"200m", "100m"}, requests  # staging's / the chart default


def test_the_rehearsal_script_installs_then_upgrades_each_environment() -> None:
    """D6: Argo Rollouts skips canary steps (and analysis) on a first install; the rehearsal
    must deploy each environment twice, with two different images."""
    script = (ROOT / "scripts/rehearsal.sh").read_text()
    for env in ENVS:
        deploys = re.findall(rf"^\s*deploy_env {env} (\S+)", script, re.MULTILINE)
        assert len(deploys) >= 2 and len(set(deploys[:2])) == 2, (
            f"scripts/rehearsal.sh must install {env} and then upgrade it to another release: {deploys}"
        )


DRILL_ROW = re.compile(r"^\| ([a-z ]+) \| `((?:values|target):[^`]+)` \| ([^|]*) \| ([^|]+) \|$")


def test_every_drill_setting_of_the_script_is_listed() -> None:
    """A drill's per-deploy deviation (deploy_env ... values:K=V / target:K=V) is as explicit
    as the overlay: listed with its value and reason in README.md "Drill settings"."""
    table = {}
    for line in (HERE / "README.md").read_text().splitlines():
        match = DRILL_ROW.match(line.strip())
        if match:
            table[match.group(2)] = (match.group(3).strip(), match.group(4).strip())
    script = (ROOT / "scripts/rehearsal.sh").read_text()
    used = re.findall(r"^\s*deploy_env \S+ \S+ \d+ \S+ ([^|]+?)\s*(?:\|\|.*)?$", script, re.MULTILINE)
    settings = [s for group in used for s in group.split()]
    assert settings, "scripts/rehearsal.sh passes no drill settings: is the pattern stale?"
    for setting in settings:
        key, _, value = setting.partition("=")
        assert key in table, f"scripts/rehearsal.sh passes {setting}: list it in README 'Drill settings'"
        assert table[key][0] == value, f"{key}: README says {table[key][0]!r}, the script {value!r}"
        assert len(table[key][1]) >= 10, f"{key}: give the reason"
