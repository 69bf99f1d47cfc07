"""Graceful shutdown: SIGTERM makes readiness fail first, then the server drains and exits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.shutdown import install_sigterm_hook
from tests.conftest import completion, free_port

BACKEND = Path(__file__).resolve().parents[1]


async def test_sigterm_marks_draining_then_forwards_after_delay():
    forwarded: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: forwarded.append(signum))
    draining: list[bool] = []
    try:
        restore = install_sigterm_hook(lambda: draining.append(True), delay=0.2)
        signal.raise_signal(signal.SIGTERM)
        assert draining == [True] and forwarded == []
        for _ in range(100):
            if forwarded:
                break
            await asyncio.sleep(0.05)
        assert forwarded == [signal.SIGTERM]
        restore()
        assert signal.getsignal(signal.SIGTERM) is not None
        signal.raise_signal(signal.SIGTERM)
        assert draining == [True] and forwarded == [signal.SIGTERM, signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_without_a_server_handler_sigterm_exits():
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        install_sigterm_hook(lambda: None, delay=0)
        try:
            signal.raise_signal(signal.SIGTERM)
        except SystemExit as exit_:
            assert exit_.code == 128 + signal.SIGTERM
        else:
            raise AssertionError("SIGTERM without a server handler must exit")
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_uvicorn_turns_unready_on_sigterm_drains_in_flight_and_exits(tmp_path, stub):
    """A generation is in flight (the stub LLM answers after 4 s) when SIGTERM arrives:
    readiness turns 503 at once, the request still completes, then the process exits."""
    llm, llm_url = stub
    llm.reply(200, completion("# Finished during shutdown\n\nBody."), delay=4.0)
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
        "SHUTDOWN_DELAY_SECONDS": "2",
        "LOG_LEVEL": "INFO",
        "GENERATION_PROVIDER": "openai",
        "OPENAI_BASE_URL": llm_url,
        "OPENAI_MAX_RETRIES": "0",
    }
    for variable in ("REDIS_URL", "ELASTICSEARCH_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(variable, None)
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--timeout-graceful-shutdown", "20", "--no-access-log"]
    server = subprocess.Popen(command, cwd=BACKEND, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as client:
            account = {"email": "drain@example.com", "password": "drain-password"}
            assert client.post("/api/v1/auth/register", json={**account, "full_name": "D"}).status_code == 201
            token = client.post("/api/v1/auth/login", json=account).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            upload = client.post(
                "/api/v1/documents", files={"file": ("a.txt", b"Draining servers finish work.")}, headers=headers
            )
            body = {"document_ids": [upload.json()["id"]]}

            with ThreadPoolExecutor(1) as pool:
                in_flight = pool.submit(client.post, "/api/v1/drafts/generate", json=body, headers=headers)
                while not llm.requests:  # the generation has reached the provider
                    assert not in_flight.done(), in_flight.result().text
                    time.sleep(0.05)
                server.send_signal(signal.SIGTERM)
                # During the drain delay the server still answers, but readiness is 503.
                response = httpx.get(f"{base}/readyz", timeout=2)
                assert response.status_code == 503 and response.json()["status"] == "shutting down"
                assert httpx.get(f"{base}/healthz", timeout=2).status_code == 200
                finished = in_flight.result(timeout=30)
            assert finished.status_code == 201 and finished.json()["title"] == "Finished during shutdown"
        # uvicorn re-raises the captured SIGTERM after its graceful shutdown (exit by signal).
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    output = server.stdout.read() if server.stdout else ""
    assert '"message": "SIGTERM received: readiness now 503"' in output
    assert '"message": "stopped"' in output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)
