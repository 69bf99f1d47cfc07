"""issue 17 item 2: the admin kubeconfig of `deploy --env local` lives only in the two
containers of the call (the k3s service and the tools container), each time in a tmpfs.

Part 1 runs the `deploy` @function through the schema-validating fake engine
(tests/module/module_dagger_harness.py; no engine runs here) and asserts on the captured queries: no
cache volume is mounted where the kubeconfig is written or read, no File is taken from a
container that holds it, nothing is exported, the returned Directory is the reports folder
only, and no query carries a kubeconfig's plaintext. Part 2 runs the real handoff pieces:
the serve-once shell script under /bin/sh and `fetch_kubeconfig` against a loopback server.
What is not run here: k3s itself and busybox inetd in the rancher/k3s image (no engine).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import module_dagger_harness as h
import pytest

from pipeline.deploy import ephemeral
from pipeline.deploy_container import REPORT_DIR

RELEASE = (
    '{"images": {"backend": {"ref": "ghcr.io/o/backend:1"}, '
    '"frontend": {"ref": "ghcr.io/o/frontend:1"}}, "scan": {"passed": true}}'
)
KUBECONFIG_TEXT = (
    "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://k3s:6443\n"
    "users:\n- name: default\n  user:\n    client-key-data: UExBSU5URVhULUtFWQ==\n"
)


def run_local(inputs: dict[str, Any] | None = None) -> tuple[Any, h.FakeEngine]:
    engine = h.FakeEngine(files={"r": RELEASE})
    result = anyio.run(
        h.call, engine, "deploy", {"env": "local", "release_report": "r", **(inputs or {})}
    )
    return result, engine


# The deploy runtime, and its two-deploy rehearsal of `--env local` (pipeline.deploy.rehearse).
RUNTIME = ["python", "-m", "pipeline.deploy"]
REHEARSAL = ["python", "-m", "pipeline.deploy.rehearse"]


def orchestrator_args(engine: h.FakeEngine) -> list[str]:
    runs = {
        tuple(c.args["args"])
        for c in engine.calls("withExec")
        if c.args["args"][:3] in (RUNTIME, REHEARSAL)
    }
    assert len(runs) == 1, runs
    return list(next(iter(runs)))


# ---- part 1: the queries ----------------------------------------------------------------


def test_no_cache_volume_holds_the_kubeconfig() -> None:
    _, engine = run_local()
    caches = {c.args["path"] for c in engine.calls("withMountedCache")}
    # The only cache volume of the call is helm's download cache in the tools container.
    assert caches <= {"/root/.cache/helm"}, caches
    keys = {c.args["key"] for c in engine.calls("cacheVolume")}
    assert not [k for k in keys if "k3s" in k or "kube" in k], keys
    temps = {c.args["path"] for c in engine.calls("withMountedTemp")}
    assert {ephemeral.K3S_CONFIG_DIR, ephemeral.HANDOFF_DIR} <= temps  # service side
    assert ephemeral.TOOLS_KUBECONFIG_DIR in temps  # tools side
    assert os.path.dirname(ephemeral.TOOLS_KUBECONFIG) == ephemeral.TOOLS_KUBECONFIG_DIR


def test_the_tools_container_fetches_it_into_its_tmpfs() -> None:
    _, engine = run_local()
    args = orchestrator_args(engine)
    assert args[args.index("--kubeconfig") + 1] == ephemeral.TOOLS_KUBECONFIG
    address = args[args.index("--kubeconfig-from") + 1]
    assert address == f"{ephemeral.K3S_HOST}:{ephemeral.HANDOFF_PORT}"
    # The handoff port is declared without a health check (a health dial would take the copy).
    ports = {
        (c.args["port"], c.args.get("experimentalSkipHealthcheck", False))
        for c in engine.calls("withExposedPort")
    }
    assert (ephemeral.HANDOFF_PORT, True) in ports and (6443, False) in ports
    # Not the old path: no File is carried from a container into the tools container.
    assert engine.calls("withMountedSecret") == []
    file_paths = {c.args["path"] for c in engine.calls("file", "Container")}
    assert not [p for p in file_paths if "kube" in p or "k3s" in p], file_paths
    with_files = {c.args["path"] for c in engine.calls("withFile", "Container")}
    assert not [p for p in with_files if "kubeconfig" in p], with_files


def test_nothing_holding_it_is_exported_or_returned() -> None:
    result, engine = run_local()
    assert engine.calls("export") == []
    returned = [c for c in engine.calls("directory", "Container")]
    assert {c.args["path"] for c in returned} == {REPORT_DIR}
    assert not REPORT_DIR.startswith(ephemeral.TOOLS_KUBECONFIG_DIR)
    assert isinstance(result, str) and result  # a Directory ID: the reports only


def test_no_query_carries_a_kubeconfig_plaintext() -> None:
    _, engine = run_local()
    assert engine.calls("setSecret") == []
    text = engine.all_text()
    assert "kind: Config" not in text and "BEGIN CERTIFICATE" not in text
    for call in engine.calls("withNewFile"):
        assert not call.args["contents"].startswith("apiVersion:"), call.args["path"]
    for call in engine.calls("withEnvVariable"):
        assert "KUBECONFIG" not in call.args["name"].upper()


def test_each_call_gets_its_own_k3s_service() -> None:
    """Identical service definitions would share one running k3s (and its one handoff)."""
    nonces: set[str] = set()
    for _ in range(2):
        _, engine = run_local()
        nonces |= {
            c.args["value"]
            for c in engine.calls("withEnvVariable")
            if c.args["name"] == "PIPELINE_RUN"
        }
    assert len(nonces) == 2


# ---- part 2: the handoff pieces, really run ----------------------------------------------


def serve_once_script(handoff: Path) -> Path:
    script = handoff / "serve-once.sh"
    script.write_text(ephemeral.K3S_SERVE_ONCE.replace(ephemeral.HANDOFF_DIR, str(handoff)))
    script.chmod(0o700)
    return script


def test_serve_once_hands_the_kubeconfig_to_exactly_one_client(tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text(KUBECONFIG_TEXT)
    script = serve_once_script(tmp_path)
    first = subprocess.run([str(script)], capture_output=True, text=True, timeout=10, check=True)
    second = subprocess.run([str(script)], capture_output=True, text=True, timeout=10, check=True)
    assert first.stdout == KUBECONFIG_TEXT
    assert second.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["serve-once.sh"]  # no copy left


def test_service_script_waits_for_k3s_and_serves_from_tmpfs() -> None:
    script = ephemeral.K3S_SERVICE_SCRIPT
    assert ephemeral.K3S_SERVER_COMMAND in script
    assert f"{ephemeral.K3S_CONFIG_DIR}/k3s.yaml" in script
    assert f"https://{ephemeral.K3S_HOST}:6443" in script and "umask 077" in script
    assert ephemeral.INETD_CONF.split()[:2] == [str(ephemeral.HANDOFF_PORT), "stream"]
    assert ephemeral.SERVE_ONCE_PATH in ephemeral.INETD_CONF
    done = subprocess.run(
        ["sh", "-n"], check=False, input=script, text=True, capture_output=True, timeout=10
    )
    assert done.returncode == 0, done.stderr


class OneShotServer:
    """A loopback stand-in for inetd + K3S_SERVE_ONCE: the payload once, then empty answers."""

    def __init__(self, payload: bytes) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.payload = payload
        self.served = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                if self.served == 0:
                    conn.sendall(self.payload)
                self.served += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server() -> Iterator[OneShotServer]:
    s = OneShotServer(KUBECONFIG_TEXT.encode())
    yield s
    s.close()


def test_fetch_writes_it_owner_only_and_a_second_fetch_is_refused(
    server: OneShotServer, tmp_path: Path
) -> None:
    out = tmp_path / "kubeconfig"
    ephemeral.fetch_kubeconfig(server.address, str(out), wait_s=5)
    assert out.read_text() == KUBECONFIG_TEXT
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with pytest.raises(ephemeral.HandoffFailed, match="another client took it"):
        ephemeral.fetch_kubeconfig(server.address, str(tmp_path / "again"), wait_s=5)
    assert not (tmp_path / "again").exists()


def test_fetch_refuses_what_is_not_k3s_kubeconfig(tmp_path: Path) -> None:
    s = OneShotServer(b"HTTP/1.1 200 OK\r\n\r\n<html>proxy</html>")
    try:
        with pytest.raises(ephemeral.HandoffFailed, match="not k3s's kubeconfig"):
            ephemeral.fetch_kubeconfig(s.address, str(tmp_path / "k"), wait_s=5)
    finally:
        s.close()
    assert not (tmp_path / "k").exists()


def test_fetch_retries_a_closed_port_for_a_bounded_time(tmp_path: Path) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now

    class Clock:
        now = 0.0

        def monotonic(self) -> float:
            return self.now

        def sleep(self, seconds: float) -> None:
            self.now += seconds

    clock = Clock()
    with pytest.raises(ephemeral.HandoffFailed, match="served no kubeconfig on .* within 10s"):
        ephemeral.fetch_kubeconfig(f"127.0.0.1:{port}", str(tmp_path / "k"), wait_s=10, clock=clock)
    assert 10 <= clock.now <= 10 + ephemeral.POLL_S


def test_orchestrator_cli_refuses_with_exit_2_when_the_handoff_fails(
    server: OneShotServer, tmp_path: Path
) -> None:
    from pipeline.deploy.__main__ import main

    ephemeral.fetch_kubeconfig(server.address, str(tmp_path / "first"), wait_s=5)  # taken
    code = main(
        [
            "deploy",
            "--target",
            str(tmp_path / "target.json"),
            "--kubeconfig",
            str(tmp_path / "kubeconfig"),
            "--kubeconfig-from",
            server.address,
        ]
    )
    assert code == 2
    assert not (tmp_path / "kubeconfig").exists()


def test_a_stalled_handoff_is_refused_not_retried(tmp_path: Path) -> None:
    """A connection may have taken the one copy: a read failure is final, never retried."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts (kernel backlog) and never sends
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    dials: list[tuple[str, int]] = []

    def connect(addr: tuple[str, int], _timeout: float) -> socket.socket:
        dials.append(addr)
        return socket.create_connection(addr, 0.3)

    try:
        with pytest.raises(ephemeral.HandoffFailed, match="reading the kubeconfig from"):
            ephemeral.fetch_kubeconfig(address, str(tmp_path / "k"), wait_s=5, connect=connect)
    finally:
        listener.close()
    assert len(dials) == 1 and not (tmp_path / "k").exists()
