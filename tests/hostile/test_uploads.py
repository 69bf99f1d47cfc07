"""Hostile uploads against the real backend: size, content/extension mismatch, PDF bombs,
path-traversal and Unicode file names. Every request is bounded by a client timeout, so a
parser that hangs fails the test instead of the suite."""

from __future__ import annotations

import socket
import time

import hostile_pdfs
import httpx
import pytest
from hostile_support import API, MAX_UPLOAD_BYTES, Backend, User

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    + b"\x00" * 64
)
PARSE_TIMEOUT = 20.0  # seconds a hostile upload may take before the test calls it a hang


def upload(backend: Backend, user: User, name: str, content: bytes) -> httpx.Response:
    with httpx.Client(base_url=backend.url, headers=user.headers, timeout=PARSE_TIMEOUT) as client:
        return client.post(f"{API}/documents", files={"file": (name, content)})


def upload_raw_name(backend: Backend, user: User, name: str, content: bytes) -> httpx.Response:
    """Multipart with the file name's UTF-8 bytes as they are (httpx would percent-escape CR, LF, NUL)."""
    body = (
        b'--hostileboundary\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n--hostileboundary--\r\n"
    )
    headers = user.headers | {"Content-Type": "multipart/form-data; boundary=hostileboundary"}
    with httpx.Client(base_url=backend.url, headers=headers, timeout=PARSE_TIMEOUT) as client:
        return client.post(f"{API}/documents", content=body)


def assert_refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    for word in words:
        assert word in detail, detail


def assert_still_serving(backend: Backend, user: User) -> None:
    with backend.client(**user.headers) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get(f"{API}/documents").status_code == 200


def test_oversized_file_is_413_naming_the_limit(backend: Backend, user: User) -> None:
    response = upload(backend, user, "big.txt", b"a" * (MAX_UPLOAD_BYTES + 1))
    assert_refused(response, 413, str(MAX_UPLOAD_BYTES), "MAX_UPLOAD_BYTES")
    exactly = upload(backend, user, "fits.txt", b"word " * (MAX_UPLOAD_BYTES // 5))
    assert exactly.status_code == 201, exactly.text


def read_response(sock: socket.socket) -> str:
    """One whole HTTP response: headers and body can arrive in separate segments."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _content_length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def _content_length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def test_declared_huge_body_is_refused_before_reading(backend: Backend, user: User) -> None:
    # A 1 GiB Content-Length with a tiny body (raw socket: HTTP clients refuse to lie): the
    # server must answer at once instead of waiting for, or buffering, the announced gigabyte.
    host, port = backend.url.removeprefix("http://").split(":")
    head = (
        f"POST {API}/documents HTTP/1.1\r\nHost: {host}\r\nAuthorization: {user.headers['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {1 << 30}\r\n\r\n--x\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = read_response(sock)
    assert answer.startswith("HTTP/1.1 413"), answer[:500]
    assert "request body too large" in answer


@pytest.mark.parametrize(
    ("name", "content", "status", "words"),
    [
        ("photo.pdf", PNG, 422, ["photo.pdf", "PDF"]),
        ("photo.md", PNG, 422, ["photo.md", "UTF-8"]),
        ("notes.txt", "caf\xe9 latin-1 text".encode("latin-1"), 422, ["UTF-8"]),
        ("photo.png", PNG, 415, [".png", ".txt, .md or .pdf"]),
        ("script.pdf.exe", b"MZ\x90\x00", 415, [".exe"]),
        ("noextension", b"plain words", 415, ["noextension"]),
        ("empty.md", b"   \n\t\n", 422, ["no text"]),
    ],
    ids=[
        "png-as-pdf",
        "png-as-md",
        "latin1-as-txt",
        "png",
        "double-extension",
        "no-extension",
        "blank",
    ],
)
def test_wrong_content_is_a_clear_4xx(
    backend: Backend, user: User, name: str, content: bytes, status: int, words: list[str]
) -> None:
    assert_refused(upload(backend, user, name, content), status, *words)


@pytest.mark.parametrize(
    "build",
    [
        lambda: hostile_pdfs.decompression_bomb(MAX_UPLOAD_BYTES)[0],
        lambda: hostile_pdfs.deeply_nested(100_000),
        hostile_pdfs.page_tree_cycle,
        lambda: hostile_pdfs.many_pages(40_000),
    ],
    ids=["flate-bomb", "nesting-100k", "page-tree-cycle", "40k-pages"],
)
def test_pdf_bombs_are_refused_within_limits(backend: Backend, user: User, build) -> None:
    data = build()
    assert len(data) <= MAX_UPLOAD_BYTES
    started = time.monotonic()
    response = upload(backend, user, "bomb.pdf", data)  # raises ReadTimeout on a hang
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.text
    assert "bomb.pdf" in response.json()["detail"]
    assert elapsed < PARSE_TIMEOUT
    assert_still_serving(backend, user)


def test_flate_bomb_really_inflates_a_thousandfold() -> None:
    data, inflated = hostile_pdfs.decompression_bomb(MAX_UPLOAD_BYTES)
    assert inflated > 500 * len(data)  # the bomb test above is only meaningful if this holds


def test_a_valid_pdf_still_works(backend: Backend, user: User) -> None:
    response = upload(backend, user, "fine.pdf", hostile_pdfs.readable_pdf("Comets have icy tails"))
    assert response.status_code == 201, response.text
    with backend.client(**user.headers) as client:
        assert (
            "Comets have icy tails"
            in client.get(f"{API}/documents/{response.json()['id']}").json()["text"]
        )


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\system32\\evil.md", "evil.md"),
        ("/etc/shadow.txt", "shadow.txt"),
        ("notes\x00.md", "notes.md"),
        (
            "r\u00e9sum\u00e9 \u65e5\u672c\u8a9e \U0001f680.md",
            "r\u00e9sum\u00e9 \u65e5\u672c\u8a9e \U0001f680.md",
        ),
        ("invoice\u202egnp.md", "invoicegnp.md"),  # right-to-left override dropped
        ("tab\tand\x7fdel.md", "tabanddel.md"),
        ("a" * 300 + ".md", None),
    ],
    ids=[
        "dotdot",
        "backslashes",
        "absolute",
        "nul",
        "unicode",
        "rtl-override",
        "controls",
        "300-chars",
    ],
)
def test_file_names_are_stored_safely(
    backend: Backend, user: User, sent: str, stored: str | None
) -> None:
    response = upload_raw_name(
        backend, user, sent, b"# Title\n\nSome harmless words about rivers.\n"
    )
    assert response.status_code in {201, 415}, response.text
    if response.status_code == 415:  # a cut name may lose its extension: refused clearly
        assert stored is None
        return
    filename = response.json()["filename"]
    if stored is not None:
        assert filename == stored
    assert "/" not in filename and "\\" not in filename and ".." not in filename
    assert len(filename) <= 255 and all(ch.isprintable() for ch in filename)
    with backend.client(**user.headers) as client:
        assert client.get(f"{API}/documents/{response.json()['id']}").json()["filename"] == filename
