"""The registry credential of `sign` never reaches a query, a layer, a volume or a log.

`cosign login` writes the credential (base64 of user:password) into $DOCKER_CONFIG/config.json.
The module points DOCKER_CONFIG at a tmpfs mounted for the exec (`withMountedTemp`), so it is
not part of the container's filesystem snapshot; the script refuses any other DOCKER_CONFIG and
deletes the file when it exits. Proven twice: on the queries the module sends (fake engine), and
with the real cosign binary running the module's own script (the tmpfs stood in for by a
temporary directory).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import anyio
import module_dagger_harness as h
import pytest

from pipeline.signing import AUTH_DIR, auth_guard, login_script

REPO = "ghcr.io/blog-creator-agent/blog-creator-agent"
DIGEST = "sha256:" + "a" * 64
TOOLS_DIR = Path(os.environ.get("TOOLS_DIR") or Path.home() / ".cache/blog-creator/tools")
PASSWORD = "pw-NOT-a-real-one-9c1f"  # handed to the real cosign only, never to the module


def _sign_queries() -> h.FakeEngine:
    engine = h.FakeEngine()
    inputs = {
        "images": [f"{REPO}/backend@{DIGEST}", f"{REPO}/frontend@{DIGEST}"],
        "registry_username": "bot",
        "registry_password": h.secret_id("registry-password"),
        "cosign_key": h.secret_id("cosign-key"),
        "cosign_password": h.secret_id("cosign-password"),
    }
    anyio.run(h.call, engine, "sign", inputs, h.pipeline_state())
    return engine


def test_sign_exec_writes_the_docker_config_to_a_tmpfs_only() -> None:
    engine = _sign_queries()
    scripts = [c for c in engine.calls("withExec") if c.args["args"][:2] == ["sh", "-c"]]
    assert len(scripts) == 2
    for call in scripts:
        chain = call.ancestors()
        temps = [a.args["path"] for a in chain if a.name == "withMountedTemp"]
        assert temps == [AUTH_DIR], "the docker config must live on a tmpfs mount"
        env = {a.args["name"]: a.args["value"] for a in chain if a.name == "withEnvVariable"}
        assert env["DOCKER_CONFIG"] == AUTH_DIR
        secret_vars = {a.args["name"] for a in chain if a.name == "withSecretVariable"}
        assert "REGISTRY_PASSWORD" in secret_vars  # consumed by this same exec
        # nothing in the chain writes a file that could hold a credential
        assert not [
            a for a in chain if a.name in ("withNewFile", "withFile") and "docker" in str(a.args)
        ]
        script = call.args["args"][2]
        assert script.index("trap ") < script.index("cosign login") < script.index("cosign sign")
    for call in engine.calls("setSecret"):
        assert call.args["name"] == "ca", f"plaintext secret in a query: {call.args}"
    assert not [c for c in engine.calls("withNewFile") if "config.json" in c.args["path"]]
    assert not [c for c in engine.calls("withMountedCache") if "docker" in c.args["path"]]
    assert "REGISTRY_PASSWORD" not in [c.args["name"] for c in engine.calls("withEnvVariable")], (
        "the password travels only as a secret variable"
    )


def _cosign() -> str:
    found = TOOLS_DIR / "bin" / "cosign"
    if found.is_file():
        return str(found)
    path = shutil.which("cosign")
    if path is None:
        pytest.fail(
            f"cosign not found in {TOOLS_DIR / 'bin'} or PATH: run scripts/install-supplychain-tools.sh",
            pytrace=False,
        )
    return path


def _run_script(
    script: str, tmp_path: Path, docker_config: Path | None
) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "cosign").exists():
        (bin_dir / "cosign").symlink_to(_cosign())
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(home),
        "REGISTRY_USERNAME": "bot",
        "REGISTRY_PASSWORD": PASSWORD,
    }
    if docker_config is not None:
        env["DOCKER_CONFIG"] = str(docker_config)
    return subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _holds_credential(root: Path) -> list[Path]:
    needles = [PASSWORD.encode(), base64.b64encode(f"bot:{PASSWORD}".encode())]
    return [p for p in root.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles)]


def test_real_cosign_login_keeps_the_credential_in_docker_config_and_it_is_gone_after(
    tmp_path: Path,
) -> None:
    auth = tmp_path / "auth"  # stands in for the tmpfs at AUTH_DIR
    auth.mkdir()
    seen = tmp_path / "seen"
    # the module's own lines; a check in place of `cosign sign` records what login wrote
    script = "\n".join(
        [
            "set -eu",
            *auth_guard(str(auth)),
            login_script("ghcr.io"),
            f'cp "$DOCKER_CONFIG/config.json" {seen}',
        ]
    )
    done = _run_script(script, tmp_path, auth)
    assert done.returncode == 0, done.stderr
    assert _holds_credential(tmp_path) == [seen], "cosign wrote the credential elsewhere"
    assert base64.b64encode(f"bot:{PASSWORD}".encode()).decode() in seen.read_text()
    assert list(auth.iterdir()) == [], "config.json is deleted when the step ends"
    assert PASSWORD not in done.stdout + done.stderr, "the credential reached the log"
    seen.unlink()
    assert _holds_credential(tmp_path) == []


def test_sign_script_refuses_to_log_in_outside_the_tmpfs(tmp_path: Path) -> None:
    script = "\n".join(["set -eu", *auth_guard(AUTH_DIR), login_script("ghcr.io")])
    for docker_config in (None, tmp_path / "elsewhere"):
        done = _run_script(script, tmp_path, docker_config)
        assert done.returncode == 2 and f"DOCKER_CONFIG must be {AUTH_DIR}" in done.stderr
    assert _holds_credential(tmp_path) == [], "nothing may be written before the guard passes"
