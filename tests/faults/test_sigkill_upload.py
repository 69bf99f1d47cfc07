"""Backend killed with SIGKILL in the middle of an upload: no half-written document."""

from __future__ import annotations

import signal
import socket
import time

import pytest
from faults_processes import Client

pytestmark = pytest.mark.timeout(120)
BOUNDARY = "faulttestboundary7d1f"
MARKER = "zebracrossingmarker"  # a word only the interrupted upload contains


def multipart(filename: str) -> tuple[bytes, bytes]:
    """Head and tail of a one-file multipart body (the file bytes go in between)."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/markdown\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def start_slow_upload(port: int, token: str, size: int) -> socket.socket:
    head, tail = multipart("interrupted.md")
    length = len(head) + size + len(tail)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        (
            f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
        ).encode()
        + head
    )
    return sock


def send_text(sock: socket.socket, size: int, pause: float) -> None:
    line = f"{MARKER} paragraph of a large upload that never finishes.\n".encode()
    sent = 0
    while sent < size:
        piece = line * 1000
        sock.sendall(piece)
        sent += len(piece)
        time.sleep(pause)


def test_sigkill_mid_upload_leaves_no_partial_document(redis_server, backend_factory) -> None:
    backend = backend_factory(redis_server.url)
    client = Client(backend.url, "uploader@example.com")
    client.register()
    client.login()
    complete = client.upload(
        "complete.md", "# Complete\n\nA finished document about lighthouses.\n"
    )
    assert complete.status_code == 201, complete.text

    size = 8 * 1024 * 1024
    sock = start_slow_upload(backend.port, client.token, size)
    send_text(sock, size // 2, pause=0.005)  # half of the body, streamed slowly
    assert backend.process.poll() is None
    backend.kill(signal.SIGKILL)
    sock.close()

    backend.start()  # same Redis, same DATABASE_PATH, new process
    client = Client(backend.url, "uploader@example.com")
    client.login()
    documents = client.documents()
    assert set(documents) == {complete.json()["id"]}, (
        f"unexpected documents after the crash: {documents}"
    )
    assert client.search(MARKER) == []
    assert [hit["document_id"] for hit in client.search("lighthouses")] == [complete.json()["id"]]


def test_sigkill_right_after_the_body_is_complete_or_absent(redis_server, backend_factory) -> None:
    """Killed while the server extracts/stores a big upload: all of it or none of it."""
    backend = backend_factory(redis_server.url)
    client = Client(backend.url, "racer@example.com")
    client.register()
    client.login()
    size = 6 * 1024 * 1024
    sock = start_slow_upload(backend.port, client.token, size)
    line = f"{MARKER} paragraph of a large upload.\n".encode()
    body = (line * (size // len(line) + 1))[:size]
    _, tail = multipart("interrupted.md")
    sock.sendall(body + tail)
    time.sleep(0.3)  # the server is now parsing/chunking/storing the document
    backend.kill(signal.SIGKILL)
    sock.close()

    backend.start()
    client = Client(backend.url, "racer@example.com")
    client.login()
    documents = list(client.documents().values())
    hits = client.search(MARKER)
    if documents:  # stored before the kill: then it must be complete and fully searchable
        (document,) = documents
        assert document["size_bytes"] == size
        assert hits and {hit["document_id"] for hit in hits} == {document["id"]}
    else:
        assert hits == [], "search shows chunks of a document that does not exist"
