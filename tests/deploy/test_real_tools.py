"""The subprocess implementation against REAL tools (helm 4 from scripts/install-k8s-tools.sh).

What runs for real here: `helm template` of k8s/chart for every environment (the dry-run and
diff render path), `helm history` against an API server address where nothing listens (the
"cluster unreachable → refuse, nothing applied" path), timeouts and missing binaries, the
smoke-check HTTP client against a local HTTP server, and the orchestrator's runtime files
running on a bare Python (no third-party packages), as in the tools container.
No Kubernetes API server can run on these machines, so apply/verify/rollback against a live
cluster is NOT exercised here (see docs/deploy.md).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_fakes import BACKEND, FRONTEND

from pipeline.config import load_config
from pipeline.deploy.__main__ import main
from pipeline.deploy.report import EXIT_OK, EXIT_REFUSED
from pipeline.deploy.tools import SubprocessClusterTools
from pipeline.deploy_targets import target_for

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = (
    Path(os.environ.get("TOOLS_DIR", str(Path.home() / ".cache/blog-creator/tools"))) / "bin"
)


@pytest.fixture(scope="module")
def helm_path() -> str:
    found = shutil.which("helm", path=f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.fail(f"helm not found on PATH or in {TOOLS_BIN}: run scripts/install-k8s-tools.sh")
    return found


@pytest.fixture
def tool_env(helm_path: str, tmp_path: Path) -> dict[str, str]:
    """PATH with the real helm; helm's own config/cache under tmp_path (no user state touched)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(helm_path).parent}{os.pathsep}{env.get('PATH', '')}"
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[var] = str(tmp_path / var.lower())
    return env


def write_target(tmp_path: Path, env: str) -> Path:
    target = target_for(load_config(ROOT), env)
    path = tmp_path / f"target-{env}.json"
    path.write_text(json.dumps(target.to_json()))
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubeconfig_for(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
        f"clusters: [{{name: t, cluster: {{server: '{server}', insecure-skip-tls-verify: true}}}}]\n"
        "contexts: [{name: t, context: {cluster: t, user: t}}]\n"
        "users: [{name: t, user: {token: not-a-real-token}}]\n"
    )
    return path


@pytest.mark.parametrize(
    ("env", "kind"),
    [("dev", "Deployment"), ("staging", "Rollout"), ("prod", "Rollout"), ("local", "Rollout")],
)
def test_dry_run_renders_the_real_chart(
    env: str,
    kind: str,
    tool_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(ROOT)
    target = write_target(tmp_path, env)
    out = tmp_path / "reports"
    argv = [
        "deploy",
        "--target",
        str(target),
        "--dry-run",
        "--backend-image",
        BACKEND,
        "--frontend-image",
        FRONTEND,
        "--report-dir",
        str(out),
        "--approved-by",
        "ci",
        "--approval-environment",
        json.loads(target.read_text())["approval_environment"],
        "--approval-run-url",
        "https://github.com/o/r/actions/runs/1",
        "--approval-actor",
        "ci",
        "--release-report",
        str(_release_report(tmp_path)),
        "--cosign-key",
        str(_pubkey(tmp_path)),
    ]
    tools = SubprocessClusterTools(env=tool_env)
    # Signature verification needs a registry; stub only cosign by pointing it at `true`.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cosign").symlink_to(shutil.which("true") or "/bin/true")
    tools.env = {**tool_env, "PATH": f"{bin_dir}{os.pathsep}{tool_env['PATH']}"}
    code = main(argv, tools_factory=lambda _k, _c: tools)
    report = json.loads((out / f"deploy-{env}.json").read_text())
    assert code == EXIT_OK, capsys.readouterr()
    assert report["outcome"] == "dry-run"
    assert any(name.startswith(f"{kind}/blog-creator-backend") for name in report["rendered"])
    manifest = (out / f"deploy-{env}.rendered.yaml").read_text()
    assert f"image: {BACKEND}" in manifest or f'image: "{BACKEND}"' in manifest
    assert (
        "kind: Deployment" not in manifest if kind == "Rollout" else "kind: Rollout" not in manifest
    )
    assert [p["name"] for p in report["phases"]] == ["gates", "render"]
    if env == "local":  # one-node rehearsal values: no ingress, no NetworkPolicies
        assert "kind: Ingress" not in manifest and "kind: NetworkPolicy" not in manifest


def _release_report(tmp_path: Path) -> Path:
    path = tmp_path / "release.json"
    path.write_text(
        json.dumps(
            {
                "images": {"backend": {"ref": BACKEND}, "frontend": {"ref": FRONTEND}},
                "scan": {"passed": True},
            }
        )
    )
    return path


def _pubkey(tmp_path: Path) -> Path:
    path = tmp_path / "cosign.pub"
    path.write_text("-----BEGIN PUBLIC KEY-----\nplaceholder\n-----END PUBLIC KEY-----\n")
    return path


def test_unreachable_cluster_refuses_with_real_helm(
    tool_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(ROOT)
    kubeconfig = kubeconfig_for(tmp_path, f"https://127.0.0.1:{closed_port()}")
    target = write_target(tmp_path, "dev")
    out = tmp_path / "reports"
    argv = [
        "deploy",
        "--target",
        str(target),
        "--kubeconfig",
        str(kubeconfig),
        "--backend-image",
        BACKEND,
        "--frontend-image",
        FRONTEND,
        "--report-dir",
        str(out),
    ]
    tools = SubprocessClusterTools(kubeconfig=str(kubeconfig), env=tool_env)
    assert main(argv, tools_factory=lambda _k, _c: tools) == EXIT_REFUSED
    report = json.loads((out / "deploy-dev.json").read_text())
    assert report["outcome"] == "refused"
    # the deploy lock is the first read of the cluster (pipeline/deploy/lock.py)
    assert "cannot read the deploy lock" in report["message"]
    assert "connection refused" in report["message"]
    assert report["revision_before"] is None and report["revision_after"] is None
    assert "not-a-real-token" not in json.dumps(report) + capsys.readouterr().out


def test_status_against_unreachable_cluster(
    tool_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    kubeconfig = kubeconfig_for(tmp_path, f"https://127.0.0.1:{closed_port()}")
    tools = SubprocessClusterTools(kubeconfig=str(kubeconfig), env=tool_env)
    argv = [
        "status",
        "--target",
        str(write_target(tmp_path, "staging")),
        "--kubeconfig",
        str(kubeconfig),
        "--report-dir",
        str(tmp_path / "r"),
    ]
    assert main(argv, tools_factory=lambda _k, _c: tools) == EXIT_REFUSED


def test_connection_flags_are_paths_never_content(tmp_path: Path) -> None:
    tools = SubprocessClusterTools(
        kubeconfig="/run/secrets/kubeconfig", context="prod-eu", env={"PATH": ""}
    )
    result = tools.run("helm", ["list"], 5)
    assert result.argv == (
        "helm",
        "list",
        "--kubeconfig",
        "/run/secrets/kubeconfig",
        "--kube-context",
        "prod-eu",
    )
    assert tools.run("kubectl", ["get", "pods"], 5).argv[-4:] == (
        "--kubeconfig",
        "/run/secrets/kubeconfig",
        "--context",
        "prod-eu",
    )
    assert tools.run("cosign", ["verify"], 5).argv == ("cosign", "verify")


def test_each_tool_sees_only_the_variables_it_needs(tmp_path: Path) -> None:
    """Real subprocesses: stand-ins for helm/kubectl/plugin/cosign print their environment.

    The smoke token and unrelated credentials of the calling process must not reach any tool;
    each still gets what it works with (PATH, proxy/CA settings, its own configuration)."""
    for name in ("helm", "kubectl", "kubectl-argo-rollouts", "cosign"):
        script = tmp_path / name
        script.write_text("#!/bin/sh\nexec env\n")
        script.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HTTPS_PROXY": "http://proxy.internal:3128",
        "SSL_CERT_FILE": "/etc/pipeline/ca.pem",
        "DEPLOY_SMOKE_TOKEN": "smoke-s3cr3t",
        "REGISTRY_PASSWORD": "registry-s3cr3t",
        "AWS_PROFILE": "ops",
        "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
        "KUBECONFIG": str(tmp_path / "kubeconfig"),
        "TUF_ROOT": str(tmp_path / "tuf"),
    }
    tools = SubprocessClusterTools(bin_dir=str(tmp_path), env=env)
    seen = {}
    for tool in ("helm", "kubectl", "rollouts", "cosign"):
        done = tools.run(tool, ["version"], 10)
        assert done.ok, done.reason()
        seen[tool] = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    for tool, names in seen.items():
        assert "smoke-s3cr3t" not in str(names) and "DEPLOY_SMOKE_TOKEN" not in names, tool
        assert "REGISTRY_PASSWORD" not in names and "AWS_PROFILE" not in names, tool
        assert names["PATH"] == "/usr/bin:/bin" and names["HTTPS_PROXY"] == env["HTTPS_PROXY"]
        assert names["SSL_CERT_FILE"] == "/etc/pipeline/ca.pem", tool
    assert seen["helm"]["HELM_CACHE_HOME"] == env["HELM_CACHE_HOME"]
    assert "HELM_CACHE_HOME" not in seen["kubectl"] and "TUF_ROOT" not in seen["kubectl"]
    assert seen["kubectl"]["KUBECONFIG"] == seen["rollouts"]["KUBECONFIG"] == env["KUBECONFIG"]
    assert seen["cosign"]["TUF_ROOT"] == env["TUF_ROOT"] and "KUBECONFIG" not in seen["cosign"]
    # a kubeconfig's exec credential plugin may need more: named explicitly, never the token
    tools.env = {**env, "DEPLOY_TOOL_ENV": "AWS_PROFILE,DEPLOY_SMOKE_TOKEN"}
    done = tools.run("kubectl", ["version"], 10)
    assert "AWS_PROFILE=ops" in done.stdout and "smoke-s3cr3t" not in done.stdout
    assert "AWS_PROFILE" not in tools.run("cosign", ["version"], 10).stdout


def test_missing_binary_is_a_clear_result(tmp_path: Path) -> None:
    tools = SubprocessClusterTools(env={"PATH": str(tmp_path)})
    result = tools.run("rollouts", ["promote", "x"], 5)
    assert result.returncode == 127
    assert "kubectl-argo-rollouts not found" in result.reason()


def test_slow_tool_times_out(tmp_path: Path) -> None:
    script = tmp_path / "helm"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    tools = SubprocessClusterTools(bin_dir=str(tmp_path), env={"PATH": os.environ.get("PATH", "")})
    result = tools.run("helm", ["history", "x"], 1)
    assert result.returncode == 124 and "timed out after 1s" in result.reason()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = (
            503
            if self.path == "/down"
            else (401 if self.path == "/private" and not self.headers.get("Authorization") else 200)
        )
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_http_get_against_a_real_server(http_server: str) -> None:
    tools = SubprocessClusterTools(env={})
    assert tools.http_get(f"{http_server}/", 5).status == 200
    down = tools.http_get(f"{http_server}/down", 5)
    assert down.status == 503 and not down.ok
    assert tools.http_get(f"{http_server}/private", 5).status == 401
    assert tools.http_get(f"{http_server}/private", 5, {"Authorization": "Bearer t"}).ok
    refused = tools.http_get(f"http://127.0.0.1:{closed_port()}/", 5)
    assert refused.status is None and "refused" in refused.error.lower()


def test_runtime_modules_run_on_bare_python(helm_path: str, tmp_path: Path) -> None:
    """The files copied into the tools container need only the standard library."""
    package = tmp_path / "app" / "pipeline"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copytree(ROOT / "src/pipeline/deploy", package / "deploy")  # the whole package
    shutil.copytree(ROOT / "k8s/chart", tmp_path / "app/k8s/chart")
    shutil.copytree(ROOT / "k8s/environments", tmp_path / "app/k8s/environments")
    target = write_target(tmp_path, "dev")
    env = {"PATH": f"{Path(helm_path).parent}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-E",
            "-s",
            "-S",  # no site-packages: standard library only
            "-m",
            "pipeline.deploy",
            "deploy",
            "--target",
            str(target),
            "--dry-run",
            "--backend-image",
            BACKEND,
            "--frontend-image",
            FRONTEND,
            "--report-dir",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path / "app",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "dry run: would apply" in done.stdout
