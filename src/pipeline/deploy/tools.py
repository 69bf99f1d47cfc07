"""The one narrow interface between the deploy orchestration and the cluster.

Everything the orchestrator does to a cluster goes through `ClusterTools`: run `helm`,
`kubectl`, the Argo Rollouts kubectl plugin or `cosign` with arguments, and fetch a URL
for smoke checks. `SubprocessClusterTools` is the real implementation (plain subprocesses,
as they run inside the Dagger tools container or on a laptop); tests of the decision logic
use a recording fake of the same protocol.

Each tool gets only the environment variables it needs (`tool_environment`): the smoke
token, registry or cloud credentials of the calling process never reach helm, kubectl, the
plugin or cosign unless named for that purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .request import SMOKE_TOKEN_ENV

Tool = Literal["helm", "kubectl", "rollouts", "cosign"]

# Executable name per tool; the Argo Rollouts plugin is installed as `kubectl-argo-rollouts`
# so it works both as `kubectl argo rollouts` and on its own.
EXECUTABLES: Mapping[Tool, str] = {
    "helm": "helm",
    "kubectl": "kubectl",
    "rollouts": "kubectl-argo-rollouts",
    "cosign": "cosign",
}

INSTALL_HINTS: Mapping[Tool, str] = {
    "helm": "install helm 4 (scripts/install-k8s-tools.sh puts it in $TOOLS_DIR/bin)",
    "kubectl": "install kubectl (scripts/install-k8s-tools.sh puts it in $TOOLS_DIR/bin)",
    "rollouts": "install the Argo Rollouts kubectl plugin (kubectl-argo-rollouts) on PATH",
    "cosign": "install cosign on PATH",
}


# Variables every tool may read: where things are, locale, proxy and CA settings.
BASE_ENV: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
# What each tool reads on top (a trailing `*` is a prefix).
_KUBE_ENV = ("KUBECONFIG", "KUBECACHEDIR")
TOOL_ENV: Mapping[Tool, tuple[str, ...]] = {
    "helm": (*_KUBE_ENV, "HELM_*", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"),
    "kubectl": _KUBE_ENV,
    "rollouts": _KUBE_ENV,
    "cosign": ("DOCKER_CONFIG", "TUF_ROOT", "SIGSTORE_*", "COSIGN_REPOSITORY"),
}
# A comma-separated list of further names for helm/kubectl, e.g. the variables a kubeconfig's
# exec credential plugin reads (`DEPLOY_TOOL_ENV=AWS_PROFILE,AWS_REGION`).
PASS_ENV = "DEPLOY_TOOL_ENV"
NEVER_PASSED = frozenset({SMOKE_TOKEN_ENV})


def tool_environment(tool: Tool, env: Mapping[str, str]) -> dict[str, str]:
    """The variables of `env` that `tool` needs, and no others."""
    names = [*BASE_ENV, *TOOL_ENV[tool]]
    if tool != "cosign":
        names += [n.strip() for n in env.get(PASS_ENV, "").split(",") if n.strip()]

    def wanted(name: str) -> bool:
        if name in NEVER_PASSED:
            return False
        return any(name.startswith(n[:-1]) if n.endswith("*") else name == n for n in names)

    return {name: value for name, value in env.items() if wanted(name)}


@dataclass(frozen=True)
class CommandResult:
    """What one tool invocation did. `argv` never holds secrets (only file paths)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def reason(self, max_lines: int = 6) -> str:
        """The last lines of stderr (or stdout), for messages and reports."""
        text = self.stderr.strip() or self.stdout.strip() or f"exit code {self.returncode}"
        lines = text.splitlines()[-max_lines:]
        return " | ".join(line.strip() for line in lines if line.strip())


@dataclass(frozen=True)
class HttpResult:
    """The outcome of one HTTP GET; `status` is None when no response arrived."""

    url: str
    status: int | None
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400


class ClusterTools(Protocol):
    """Runs cluster tools. Implementations add connection flags (kubeconfig, context)."""

    def run(self, tool: Tool, args: Sequence[str], timeout: float) -> CommandResult:
        """Run `tool args...`; never raises for a failing command (see returncode)."""
        ...

    def http_get(
        self, url: str, timeout: float, headers: Mapping[str, str] | None = None
    ) -> HttpResult:
        """GET `url`; never raises (see status/error)."""
        ...


class Clock(Protocol):
    """Time source, so tests can account timings without sleeping."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class SubprocessClusterTools:
    """Runs the real binaries. The kubeconfig is passed as a file path, never its content."""

    kubeconfig: str | None = None
    context: str | None = None
    bin_dir: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def _connection_flags(self, tool: Tool) -> list[str]:
        flags: list[str] = []
        if tool == "helm":
            if self.kubeconfig:
                flags += ["--kubeconfig", self.kubeconfig]
            if self.context:
                flags += ["--kube-context", self.context]
        elif tool in ("kubectl", "rollouts"):
            if self.kubeconfig:
                flags += ["--kubeconfig", self.kubeconfig]
            if self.context:
                flags += ["--context", self.context]
        return flags

    def executable(self, tool: Tool) -> str | None:
        name = EXECUTABLES[tool]
        if self.bin_dir:
            candidate = os.path.join(self.bin_dir, name)
            if os.access(candidate, os.X_OK):
                return candidate
        return shutil.which(name, path=self.env.get("PATH"))

    def run(self, tool: Tool, args: Sequence[str], timeout: float) -> CommandResult:
        exe = self.executable(tool)
        argv = (EXECUTABLES[tool], *args, *self._connection_flags(tool))
        if exe is None:
            return CommandResult(
                argv, 127, stderr=f"{EXECUTABLES[tool]} not found: {INSTALL_HINTS[tool]}"
            )
        started = time.monotonic()
        try:
            done = subprocess.run(
                [exe, *argv[1:]],
                capture_output=True,
                text=True,
                timeout=max(timeout, 1.0),
                env=tool_environment(tool, self.env),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return CommandResult(
                argv,
                124,
                stderr=f"timed out after {timeout:.0f}s",
                seconds=time.monotonic() - started,
            )
        return CommandResult(
            argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started
        )

    def http_get(
        self, url: str, timeout: float, headers: Mapping[str, str] | None = None
    ) -> HttpResult:
        started = time.monotonic()
        request = urllib.request.Request(url, headers=dict(headers or {}), method="GET")
        try:
            with urllib.request.urlopen(request, timeout=max(timeout, 1.0)) as response:
                status: int = response.status
                return HttpResult(url, status, seconds=time.monotonic() - started)
        except urllib.error.HTTPError as e:
            return HttpResult(url, e.code, error=str(e.reason), seconds=time.monotonic() - started)
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            return HttpResult(url, None, error=str(reason), seconds=time.monotonic() - started)
