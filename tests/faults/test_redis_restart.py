"""Redis restarted under a steady stream of writes: readiness, recovery, durability."""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import httpx
import pytest
from faults_processes import Client, wait_until

pytestmark = pytest.mark.timeout(120)


class Writer(threading.Thread):
    """Registers users, uploads a document and generates a draft per user, in a loop.

    Only writes the backend acknowledged (2xx) are recorded; failures during the outage
    (503, connection errors) are expected and counted.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__(daemon=True)
        self.base_url = base_url
        self.stop = threading.Event()
        self.acknowledged: dict[str, dict[str, set[str]]] = {}
        self.failures = 0

    def run(self) -> None:
        for n in itertools.count():
            if self.stop.is_set():
                return
            client = Client(self.base_url, f"writer-{n}-{uuid.uuid4().hex[:6]}@example.com")
            try:
                self._one_user(client, n)
            except (httpx.HTTPError, AssertionError):
                self.failures += 1
                time.sleep(0.05)

    def _one_user(self, client: Client, n: int) -> None:
        client.register()
        self.acknowledged[client.email] = {"documents": set(), "drafts": set()}
        client.login()
        upload = client.upload(
            f"note-{n}.md", f"# Note {n}\n\nFault tolerance paragraph number {n}.\n"
        )
        assert upload.status_code == 201, upload.text
        self.acknowledged[client.email]["documents"].add(upload.json()["id"])
        draft = client.generate(upload.json()["id"])
        assert draft.status_code == 201, draft.text
        self.acknowledged[client.email]["drafts"].add(draft.json()["id"])


def readyz_status(base_url: str) -> int:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=6).status_code
    except httpx.HTTPError:
        return 0


def test_redis_restart_under_writes(redis_server, backend_factory) -> None:
    backend = backend_factory(redis_server.url)
    pid = backend.process.pid
    writer = Writer(backend.url)
    writer.start()
    wait_until(lambda: len(writer.acknowledged) >= 5, 30, "5 users written before the restart")

    redis_server.stop()
    stopped_at = time.monotonic()
    wait_until(lambda: readyz_status(backend.url) == 503, 5, "/readyz 503 after Redis stopped")
    assert time.monotonic() - stopped_at < 5
    time.sleep(1)  # let the writer run into the outage

    redis_server.start()
    wait_until(lambda: readyz_status(backend.url) == 200, 30, "/readyz 200 after Redis came back")
    assert backend.process.poll() is None and backend.process.pid == pid, "backend was restarted"
    time.sleep(1)  # writes succeed again after recovery
    writer.stop.set()
    writer.join(30)

    assert writer.failures >= 1, "the writer never saw the outage: the test did not exercise it"
    acknowledged = {
        email: w for email, w in writer.acknowledged.items() if w["documents"] or w["drafts"]
    }
    assert len(acknowledged) >= 5
    for email, writes in acknowledged.items():
        client = Client(backend.url, email)
        client.login()
        assert writes["documents"] <= client.documents().keys(), (
            f"{email}: acknowledged documents lost"
        )
        assert writes["drafts"] <= client.drafts().keys(), f"{email}: acknowledged drafts lost"
