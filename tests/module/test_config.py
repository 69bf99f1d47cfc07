"""pipeline.yaml: the real file is valid; bad inputs get one clear problem each (file, field
path, value, what is allowed) and never a traceback."""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

from pipeline.config import (
    ConfigError,
    check_config,
    load_config,
    parse_config,
    parse_config_text,
    strategy_problems,
)

GOOD: dict[str, Any] = yaml.safe_load((ROOT / "pipeline.yaml").read_text())


def test_repository_pipeline_yaml_is_valid_and_complete() -> None:
    config = load_config(ROOT)
    assert set(config.environments) >= {"dev", "staging", "prod"}
    prod = config.environment("prod")
    assert prod.require_approval and prod.require_signature
    assert prod.strategy in ("rolling", "blueGreen", "canary")
    assert config.apps.backend.port == 8000 and config.apps.frontend.port == 3000
    assert config.apps.backend.health_path == "/healthz"
    assert "CRITICAL" in config.scan.fail_on
    assert check_config(config, ROOT, dt.date.today()) == []


def mutate(path: str, value: Any) -> dict[str, Any]:
    """A copy of the good config with `value` at dotted `path` (value DELETE removes it)."""
    data = copy.deepcopy(GOOD)
    node = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


DELETE = object()
ALLOW = {"id": "CVE-2024-0001", "reason": "not reachable from our code", "expires": "2999-01-01"}

BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown top-level key", {**GOOD, "regsitry": {}}, "regsitry", "unknown key"),
    (
        "unknown env key",
        mutate("environments.prod.replicas", 3),
        "environments.prod.replicas",
        "unknown key",
    ),
    (
        "bad strategy",
        mutate("environments.prod.strategy", "bluegreen"),
        "environments.prod.strategy",
        "'rolling', 'blueGreen' or 'canary'",
    ),
    (
        "missing namespace",
        mutate("environments.dev.namespace", DELETE),
        "environments.dev.namespace",
        "required key is missing",
    ),
    (
        "namespace not a DNS label",
        mutate("environments.dev.namespace", "Blog_Dev"),
        "environments.dev.namespace",
        "DNS label",
    ),
    (
        "url not http",
        mutate("environments.staging.url", "staging.example.com"),
        "environments.staging.url",
        "http(s) URL",
    ),
    (
        "absolute values file",
        mutate("environments.prod.values_file", "/etc/prod.yaml"),
        "environments.prod.values_file",
        "relative to the repository root",
    ),
    (
        "values file escapes repo",
        mutate("environments.prod.values_file", "../x.yaml"),
        "environments.prod.values_file",
        "without '..'",
    ),
    (
        "approval not boolean",
        mutate("environments.prod.require_approval", "maybe"),
        "environments.prod.require_approval",
        "valid boolean",
    ),
    (
        "bad env name",
        mutate("environments", {**GOOD["environments"], "Prod!": GOOD["environments"]["prod"]}),
        "environments",
        "DNS label",
    ),
    (
        "shared namespace",
        mutate("environments.staging.namespace", "blog-prod"),
        "",
        "share namespace 'blog-prod'",
    ),
    ("no environments", mutate("environments", {}), "environments", "at least 1 item"),
    (
        "bad severity",
        mutate("scan.fail_on", ["CRITICAL", "SEVERE"]),
        "scan.fail_on[1]",
        "'UNKNOWN', 'LOW', 'MEDIUM', 'HIGH' or 'CRITICAL'",
    ),
    ("empty fail_on", mutate("scan.fail_on", []), "scan.fail_on", "at least 1 item"),
    (
        "allowlist without reason",
        mutate("scan.allowlist", [{"id": "CVE-2024-0001", "expires": "2999-01-01"}]),
        "scan.allowlist[0].reason",
        "required key is missing",
    ),
    (
        "allowlist bad date",
        mutate("scan.allowlist", [{**ALLOW, "expires": "next year"}]),
        "scan.allowlist[0].expires",
        "valid date",
    ),
    (
        "allowlist short reason",
        mutate("scan.allowlist", [{**ALLOW, "reason": "ok"}]),
        "scan.allowlist[0].reason",
        "at least 10 characters",
    ),
    (
        "allowlist duplicate",
        mutate("scan.allowlist", [ALLOW, ALLOW]),
        "scan.allowlist",
        "duplicate allowlist id",
    ),
    (
        "port out of range",
        mutate("apps.backend.port", 70000),
        "apps.backend.port",
        "less than or equal to 65535",
    ),
    (
        "health path without slash",
        mutate("apps.frontend.health_path", "api/health"),
        "apps.frontend.health_path",
        "starting with '/'",
    ),
    (
        "uppercase image",
        mutate("apps.backend.image", "Backend"),
        "apps.backend.image",
        "lowercase image name",
    ),
    ("same image twice", mutate("apps.frontend.image", "backend"), "", "must differ"),
    (
        "bad registry host",
        mutate("registry.host", "https://ghcr.io"),
        "registry.host",
        "registry host",
    ),
    (
        "bad sbom format",
        mutate("sbom.format", "cyclonedx-xml"),
        "sbom.format",
        "'cyclonedx-json' or 'spdx-json'",
    ),
    (
        "bad tool image",
        mutate("tools.trivy", "aquasec/trivy:latest extra"),
        "tools.trivy",
        "image reference",
    ),
    ("wrong version", {**GOOD, "version": 2}, "version", "1"),
    (
        "timeout too small",
        mutate("environments.prod.timeout_seconds", 1),
        "environments.prod.timeout_seconds",
        "greater than or equal to 10",
    ),
]


@pytest.mark.parametrize(("case", "data", "path", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_field_and_fix(
    case: str, data: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    problems = info.value.problems
    assert any(p.path == path and message in p.message for p in problems), [
        str(p) for p in problems
    ]
    for problem in problems:
        assert str(problem).startswith("pipeline.yaml")


def test_enough_bad_inputs() -> None:
    assert len(BAD) >= 15


def test_every_problem_is_reported_at_once() -> None:
    data = mutate("environments.prod.strategy", "fast")
    data["environments"]["dev"]["url"] = "nope"
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    paths = {p.path for p in info.value.problems}
    assert paths == {"environments.prod.strategy", "environments.dev.url"}
    assert "(got 'fast')" in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("registry: [unclosed\n", "invalid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("", "must be a YAML mapping"),
    ],
)
def test_unparseable_files(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config_text(text)


def test_yaml_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config_text("project: x\nregistry:\n  host: [a\n  namespace: b\n")
    assert "line " in info.value.problems[0].path


def test_expired_allowlist_entry_fails_the_check() -> None:
    config = parse_config(mutate("scan.allowlist", [{**ALLOW, "expires": "2020-01-01"}]))
    problems = check_config(config, None, dt.date(2026, 1, 1))
    assert [p.path for p in problems] == ["scan.allowlist[0].expires"]
    assert "CVE-2024-0001 expired" in problems[0].message
    assert check_config(config, None, dt.date(2019, 12, 31)) == []


def test_layout_check_reports_missing_files(tmp_path: Path) -> None:
    config = parse_config(GOOD)
    problems = check_config(config, tmp_path, dt.date.today())
    paths = {p.path for p in problems}
    assert "apps.backend.dockerfile" in paths and "environments.prod.values_file" in paths
    assert any(p.file == "k8s/chart/Chart.yaml" for p in problems)


def test_layout_check_finds_dockerfile_targets(tmp_path: Path) -> None:
    config = parse_config(mutate("apps.backend.targets", {"test": "tests", "runtime": "runtime"}))
    problems = check_config(config, ROOT, dt.date.today())
    assert [(p.path, p.value) for p in problems] == [("apps.backend.targets.test", "tests")]
    assert "stages:" in problems[0].message and "runtime" in problems[0].message


def test_unknown_environment_lists_the_known_ones() -> None:
    config = parse_config(GOOD)
    with pytest.raises(ConfigError, match="choose one of: local, dev, staging, prod"):
        config.environment("qa")


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_validate_ok_on_the_repository() -> None:
    done = _cli("validate")
    assert done.returncode == 0, done.stderr
    assert "pipeline.yaml OK" in done.stdout


def test_cli_validate_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    data = mutate("environments.prod.strategy", "yolo")
    data["surprise"] = 1
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(data))
    done = _cli("--root", str(tmp_path), "validate")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert (
        "error: pipeline.yaml: environments.prod.strategy: Input should be 'rolling', 'blueGreen' or 'canary' (got 'yolo')"
        in lines
    )
    assert (
        "error: pipeline.yaml: surprise: unknown key; remove it or check its spelling (got 1)"
        in lines
    )


def test_cli_validate_missing_file(tmp_path: Path) -> None:
    done = _cli("--root", str(tmp_path), "validate")
    assert done.returncode == 2 and "pipeline.yaml: not found" in done.stderr


def test_cli_plan_text_and_json() -> None:
    rev = "0123456789abcdef0123456789abcdef01234567"
    done = _cli("plan", "--env", "prod", "--revision", rev, "--version", "v1.4.0")
    assert done.returncode == 0, done.stderr
    assert "backend:sha-0123456789ab" in done.stdout and "frontend:1.4.0" in done.stdout
    assert "strategy=canary" in done.stdout and "approval required" in done.stdout
    done = _cli("plan", "--json", "--revision", rev)
    import json

    plan = json.loads(done.stdout)
    assert plan["images"]["backend"]["target"] == "runtime"
    assert plan["images"]["backend"]["build_args"]["VCS_REF"] == rev
    assert set(plan["environments"]) >= {"dev", "staging", "prod"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "--env", "qa"), "unknown environment; choose one of"),
        (("plan", "--revision", "HEAD"), "is not a git commit id"),
        (("plan", "--revision", "abcdef12", "--version", "latest"), "is not a semantic version"),
        (("deploy",), "invalid choice"),
    ],
)
def test_cli_bad_arguments_exit_2(args: tuple[str, ...], message: str) -> None:
    done = _cli(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


# ---- strategy: pipeline.yaml is the source of truth, values files must agree --------------


def _repo_copy(tmp_path: Path) -> Path:
    """The files `validate` reads, copied so one of them can be broken."""
    import shutil

    for rel in (
        "pipeline.yaml",
        "dockerfiles/backend.Dockerfile",
        "dockerfiles/frontend.Dockerfile",
        "k8s/chart/Chart.yaml",
        "k8s/chart/values.yaml",
        *(f"k8s/environments/{p.name}" for p in (ROOT / "k8s" / "environments").glob("*.yaml")),
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def test_values_files_agree_with_pipeline_yaml_strategies() -> None:
    config = load_config(ROOT)
    assert strategy_problems(config, ROOT) == []


def test_validate_refuses_a_values_file_whose_strategy_disagrees(tmp_path: Path) -> None:
    root = _repo_copy(tmp_path)
    prod = root / "k8s" / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("strategy: canary", "strategy: rolling", 1))
    done = _cli("--root", str(root), "validate")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    expected = (
        "error: k8s/environments/prod.yaml: strategy: disagrees with pipeline.yaml "
        "environments.prod.strategy (canary), the source of truth; set `strategy: canary` in "
        "k8s/environments/prod.yaml (or give prod its own values file) (got 'rolling')"
    )
    assert done.stderr.strip().splitlines() == [expected]


def test_validate_refuses_a_values_file_that_leaves_the_strategy_to_the_chart(
    tmp_path: Path,
) -> None:
    root = _repo_copy(tmp_path)
    staging = root / "k8s" / "environments" / "staging.yaml"
    data = yaml.safe_load(staging.read_text())
    del data["strategy"]
    staging.write_text(yaml.safe_dump(data))
    config = load_config(root)
    (problem,) = strategy_problems(config, root)
    assert (problem.file, problem.path) == ("k8s/environments/staging.yaml", "strategy")
    assert "chart default (rolling)" in problem.message
    assert "environments.staging.strategy is blueGreen" in problem.message
    assert "set `strategy: blueGreen` in k8s/environments/staging.yaml" in problem.message
