"""Run the supply-chain CLIs (docker, cosign, syft, htpasswd) with a timeout and readable errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS_DIR = Path(os.environ.get("TOOLS_DIR") or Path.home() / ".cache/blog-creator/tools")
# Debian's CLI has BuildKit built in; a newer CLI without the buildx plugin cannot build with it.
DOCKER = os.environ.get("DOCKER") or (
    "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
)
INSTALL_HINTS = {
    "cosign": "run scripts/install-supplychain-tools.sh",
    "syft": "run scripts/install-supplychain-tools.sh",
    "docker-registry": "apt-get install docker-registry",
    "htpasswd": "apt-get install apache2-utils",
}


def find_tool(name: str) -> str:
    """Absolute path of a tool: $TOOLS_DIR/bin first, then PATH; a missing tool fails the test."""
    candidate = TOOLS_DIR / "bin" / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if not found:
        pytest.fail(
            f"{name} not found in {TOOLS_DIR / 'bin'} or PATH: {INSTALL_HINTS[name]}", pytrace=False
        )
    return found


def run(
    cmd: list[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    check: bool = True,
    input: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run cmd with a hard timeout; on failure (when check) raise with the output tails."""
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        input=input,
        cwd=cwd,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n"
            f"--- stdout (tail)\n{proc.stdout[-3000:]}\n--- stderr (tail)\n{proc.stderr[-3000:]}"
        )
    return proc
