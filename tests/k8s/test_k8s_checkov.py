"""checkov (offline) over the rendered chart of every variant and the platform manifests.

checkov lives in its own virtualenv (scripts/install-k8s-tools.sh --with-checkov); offline it
reports no severities, so every failed check must be fixed or allowlisted with a reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from k8s_support import PLATFORM, REPO, Render, find_tool

ALLOWLIST = REPO / "k8s" / "checkov-allowlist.yaml"


@pytest.fixture(scope="module")
def checkov_findings(
    renders: dict[str, Render], tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    checkov = find_tool("checkov")
    scan_dir = tmp_path_factory.mktemp("checkov")
    for name, render in renders.items():
        (scan_dir / f"chart-{name}.yaml").write_text(render.text)
    platform_dir = scan_dir / "platform"
    for manifest in PLATFORM.rglob("*.yaml"):
        docs = [
            d
            for d in yaml.safe_load_all(manifest.read_text())
            if isinstance(d, dict) and "kind" in d
        ]
        if docs:
            target = platform_dir / manifest.relative_to(PLATFORM)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(manifest, target)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_OUTPUT_COLOR": "1"}
    proc = subprocess.run(
        [
            checkov,
            "-d",
            str(scan_dir),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
            "--quiet",
            "--compact",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        pytest.fail(
            f"checkov did not run (exit {proc.returncode}):\n{proc.stderr[-2000:]}", pytrace=False
        )
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 100, f"checkov ran only {passed} passing checks: did it parse the manifests?"
    return [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]


def load_allowlist() -> list[dict[str, str]]:
    entries = yaml.safe_load(ALLOWLIST.read_text()) or []
    for entry in entries:
        assert set(entry) == {"check", "file", "resource", "reason"}, (
            f"allowlist entry needs check, file, resource, reason: {entry}"
        )
        assert len(entry["reason"].split()) >= 5, (
            f"allowlist entry {entry['check']} needs a real reason"
        )
    return entries


def allowed(finding: dict[str, Any], entries: list[dict[str, str]]) -> bool:
    scanned = scanned_name(finding)
    return any(
        e["check"] == finding["check_id"]
        and re.search(e["file"], scanned)
        and re.search(e["resource"], finding["resource"])
        for e in entries
    )


def scanned_name(finding: dict[str, Any]) -> str:
    """chart-<variant>.yaml or platform/<path>, as the allowlist's file regex expects."""
    path = finding["file_path"].lstrip("/")
    return path


def test_checkov_finds_nothing_outside_the_allowlist(
    checkov_findings: list[dict[str, Any]],
) -> None:
    entries = load_allowlist()
    unexpected = sorted(
        {
            f"{f['check_id']} {f['check_name']} -- {f['resource']} ({scanned_name(f)})"
            for f in checkov_findings
            if not allowed(f, entries)
        }
    )
    assert not unexpected, (
        "fix these or allowlist them with a reason in k8s/checkov-allowlist.yaml:\n"
        + "\n".join(unexpected)
    )


def test_allowlist_has_no_stale_entries(checkov_findings: list[dict[str, Any]]) -> None:
    stale = [e for e in load_allowlist() if not any(allowed(f, [e]) for f in checkov_findings)]
    assert not stale, f"allowlist entries match no finding any more, remove them: {stale}"
