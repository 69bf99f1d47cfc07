"""k8s/platform/README.md installs exactly the chart versions of toolchain.json's `charts` table.

Every `helm upgrade --install` line must name a chart of the table and carry that chart's
`--version` (once); the README's version table must equal the JSON table; the Argo Rollouts
chart must ship the controller version the repository validates against (tools.argo-rollouts,
the CRDs in shared/crds) and the Redis chart the Redis the app is tested with (tools.redis).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline import toolchain

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "k8s" / "platform" / "README.md"
HELM_LINE = re.compile(r"^helm upgrade --install (?P<release>\S+) (?P<ref>\S+)(?P<rest>.*)$")
TABLE_ROW = re.compile(
    r"^\| `(?P<ref>[^`]+)` \| `(?P<version>[^`]+)` \| `(?P<app>[^`]+)` \| (?P<digest>[^|]+) \|$"
)


def install_errors(readme: str, charts: dict[str, toolchain.Chart]) -> list[str]:
    """What is wrong with the README's `helm upgrade --install` lines (empty: nothing)."""
    by_ref = {c.ref: c for c in charts.values()}
    errors: list[str] = []
    lines = [m for m in map(HELM_LINE.match, readme.splitlines()) if m]
    if not lines:
        errors.append("no `helm upgrade --install` line found")
    for m in lines:
        chart = by_ref.get(m["ref"])
        if chart is None:
            errors.append(f"{m['release']}: chart {m['ref']} is not in toolchain.json charts")
            continue
        versions = re.findall(r"--version[ =](\S+)", m["rest"])
        if chart.version is None:
            if versions:
                errors.append(f"{m['release']}: --version {versions} but the table verified none")
        elif versions != [chart.version]:
            errors.append(
                f"{m['release']}: --version {versions or 'missing'}, table says {chart.version}"
            )
    return errors


def table_errors(readme: str, charts: dict[str, toolchain.Chart]) -> list[str]:
    """Differences between the README's chart table and toolchain.json's (empty: none)."""
    rows = {m["ref"]: m for m in map(TABLE_ROW.match, readme.splitlines()) if m}
    errors: list[str] = []
    for chart in charts.values():
        row = rows.pop(chart.ref, None)
        if row is None:
            errors.append(f"{chart.ref}: no row in the README's chart table")
            continue
        want_version = chart.version or "not verified here"
        if (row["version"], row["app"]) != (want_version, str(chart.app_version)):
            errors.append(
                f"{chart.ref}: row says {row['version']}/{row['app']}, "
                f"table {want_version}/{chart.app_version}"
            )
        digest = row["digest"].strip()
        if chart.digest is None:
            if digest != "not read":
                errors.append(f"{chart.ref}: row shows a digest the table does not hold")
        elif not (
            digest.startswith("`")
            and chart.digest.startswith(digest.strip("`…"))
            and len(digest.strip("`…")) >= 12
        ):
            errors.append(f"{chart.ref}: row digest {digest} is not the table's {chart.digest}")
    errors += [f"{ref}: README row without a toolchain.json chart" for ref in rows]
    return errors


def test_every_install_line_carries_the_tables_version() -> None:
    assert install_errors(README.read_text(), toolchain.charts()) == []


def test_readme_table_equals_toolchain_charts() -> None:
    assert table_errors(README.read_text(), toolchain.charts()) == []


def test_operator_charts_ship_the_validated_app_versions() -> None:
    charts = toolchain.charts()
    assert charts["argo-rollouts"].app_version == toolchain.version("argo-rollouts")
    # the Redis chart's server is the 7.4 line the app is tested against (tools.redis 7.4-alpine)
    redis_line = toolchain.version("redis").split("-")[0]
    assert str(charts["redis"].app_version).startswith(redis_line + "."), charts["redis"]
    # the CRD pack's tags (what tests/k8s validates against): the operator charts ship those versions
    text = (ROOT.parent / "shared" / "crds" / "SOURCES.md").read_text()
    for name, repo in (
        ("cert-manager", "cert-manager/cert-manager"),
        ("external-secrets", "external-secrets/external-secrets"),
        ("eck-operator", "elastic/cloud-on-k8s"),
        ("velero", "vmware-tanzu/velero"),
        ("argo-rollouts", "argoproj/argo-rollouts"),
        ("kube-prometheus-stack", "prometheus-operator/prometheus-operator"),
    ):
        tags = set(re.findall(rf"\[{re.escape(repo)}\]\([^)]*\) \| `([^`]+)`", text))
        assert tags, f"{repo} not found in shared/crds/SOURCES.md"
        app = str(charts[name].app_version)
        assert {t.lstrip("v") for t in tags} == {app.lstrip("v")}, (name, app, tags)


def test_every_chart_names_its_source_and_unverified_ones_say_so() -> None:
    for chart in toolchain.charts().values():
        assert chart.source, chart.name
        if chart.digest is None:
            assert "digest" in chart.note, f"{chart.name}: say that no published digest was read"


def test_the_checks_fail_on_a_missing_or_wrong_version() -> None:
    """The checks above can fail: an unpinned line, a wrong pin, an unknown chart, a stale row."""
    charts = toolchain.charts()
    readme = README.read_text()
    velero = charts["velero"].version
    assert velero
    unpinned = readme.replace(f" --version {velero}", "", 1)
    assert any("velero: --version missing" in e for e in install_errors(unpinned, charts))
    wrong = readme.replace(f" --version {velero}", " --version 0.0.1", 1)
    assert any("table says" in e for e in install_errors(wrong, charts))
    doubled = readme.replace(f" --version {velero}", f" --version {velero} --version 9.9.9", 1)
    assert install_errors(doubled, charts)
    unknown = readme + "\nhelm upgrade --install x example/unknown --version 1.0.0\n"
    assert any("not in toolchain.json charts" in e for e in install_errors(unknown, charts))
    stale_row = readme.replace(
        f"| `vmware-tanzu/velero` | `{velero}` |", "| `vmware-tanzu/velero` | `1.0.0` |"
    )
    assert any("row says" in e for e in table_errors(stale_row, charts))


def test_chart_table_errors_name_the_field() -> None:
    good = {
        "ref": "a/b",
        "repo": "https://x",
        "version": "1.0.0",
        "appVersion": "v1",
        "digest": None,
        "source": "somewhere",
    }
    cases = [
        ({**good, "ref": ""}, "charts.c.ref is missing"),
        (
            {**good, "version": None},
            "charts.c.version is null: the note must say 'not verified here'",
        ),
        ({**good, "appVersion": ""}, "charts.c: version and appVersion must be non-empty strings"),
        ({**good, "digest": "abc"}, "charts.c.digest must be 64 hex digits or null"),
    ]
    for entry, message in cases:
        with pytest.raises(toolchain.ToolchainError, match=re.escape(message)):
            toolchain.parse_charts(json.dumps({"tools": {}, "charts": {"c": entry}}))
    unverified = {**good, "version": None, "appVersion": None, "note": "version not verified here"}
    assert toolchain.parse_charts(json.dumps({"charts": {"c": unverified}}))["c"].version is None
    assert toolchain.parse_charts("{}") == {}
