"""actionlint (with shellcheck) and zizmor --offline report nothing on .github/.

Each linter is also shown a broken workflow, so a linter that silently checks nothing
(wrong path, missing config) fails here instead of passing.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from workflows_dagger_calls import REPO

BROKEN_WORKFLOW = """\
name: broken
on: pull_request_target
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}" && echo $UNQUOTED
      - run: echo ${{ matrix.nope }}
"""


def run(
    cmd: list[str], cwd: Path, path_dirs: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path_dirs:
        env["PATH"] = os.pathsep.join([*path_dirs, env.get("PATH", "")])
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def broken_repo(tmp_path: Path) -> Path:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "broken.yml").write_text(BROKEN_WORKFLOW)
    return tmp_path


def test_actionlint_reports_nothing(actionlint: str, shellcheck: str) -> None:
    # shellcheck on PATH makes actionlint check every `run:` script as well.
    files = sorted(str(p) for p in (REPO / ".github" / "workflows").glob("*.y*ml"))
    assert files
    result = run([actionlint, "-no-color", *files], REPO, [str(Path(shellcheck).parent)])
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_actionlint_finds_problems(actionlint: str, shellcheck: str, broken_repo: Path) -> None:
    workflow = str(broken_repo / ".github" / "workflows" / "broken.yml")
    result = run([actionlint, "-no-color", workflow], broken_repo, [str(Path(shellcheck).parent)])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "matrix" in result.stdout  # expression type check
    assert "shellcheck" in result.stdout  # run: scripts are checked
    assert "untrusted" in result.stdout  # script injection


def zizmor_findings(zizmor: str, root: Path, *args: str) -> list[dict[str, object]]:
    result = run([zizmor, "--offline", "--no-progress", "--format", "json", *args, ".github"], root)
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr
    assert "config" not in result.stderr.lower() or "error" not in result.stderr.lower(), (
        result.stderr
    )
    return json.loads(result.stdout or "[]")


def describe(findings: list[dict[str, object]]) -> list[str]:
    out = []
    for f in findings:
        sev = f.get("determinations", {}).get("severity")  # type: ignore[union-attr]
        loc = f.get("locations", [{}])[0].get("symbolic", {}).get("key", {})  # type: ignore[index,union-attr]
        out.append(f"{f.get('ident')} ({sev}) in {json.dumps(loc)[:160]}")
    return out


def test_zizmor_reports_nothing(zizmor: str) -> None:
    assert describe(zizmor_findings(zizmor, REPO)) == []


def test_zizmor_auditor_persona_finds_nothing_of_medium_or_higher(zizmor: str) -> None:
    """The stricter persona; what it accepts is listed with reasons in .github/zizmor.yml."""
    findings = zizmor_findings(zizmor, REPO, "--persona", "auditor", "--min-severity", "medium")
    assert describe(findings) == []


def test_zizmor_accepted_findings_are_real_and_explained(zizmor: str) -> None:
    """Each ignore in .github/zizmor.yml matches a finding zizmor reports without the config
    (no stale entries), every finding it hides is one of them, and each rule says why."""
    text = (REPO / ".github" / "zizmor.yml").read_text()
    config = yaml.safe_load(text)
    accepted = {
        (rule, entry.split(":")[0])
        for rule, settings in config["rules"].items()
        for entry in settings.get("ignore", [])
    }
    found = {
        (str(f["ident"]), Path(f["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"]).name)  # type: ignore[index]
        for f in zizmor_findings(zizmor, REPO, "--no-config", "--persona", "auditor")
        if f["determinations"]["severity"] in ("Medium", "High")  # type: ignore[index]
    }
    assert found == accepted
    for rule in config["rules"]:
        block = text[text.index(f"  {rule}:") :]
        assert block.splitlines()[1].strip().startswith("#"), f"{rule}: explain why it is accepted"


def test_zizmor_finds_problems(zizmor: str, broken_repo: Path) -> None:
    idents = {str(f["ident"]) for f in zizmor_findings(zizmor, broken_repo)}
    assert {"dangerous-triggers", "template-injection", "unpinned-uses"} <= idents, idents


def test_shell_scripts_pass_shellcheck(shellcheck: str) -> None:
    scripts = sorted((REPO / ".github" / "scripts").glob("*.sh"))
    scripts.append(REPO / "scripts" / "install-workflow-linters.sh")
    result = run([shellcheck, "--external-sources", "--severity=style", *map(str, scripts)], REPO)
    assert result.returncode == 0, result.stdout + result.stderr
