"""ELASTICSEARCH_CA_CERTS against a REAL Elasticsearch behind REAL TLS.

ECK serves Elasticsearch over https with a certificate signed by its own self-signed CA. Here
Debian's nginx (`nginx-light`) terminates TLS in front of the test node (ELASTICSEARCH_URL) with
a certificate from a CA made for this test by `openssl`, on 127.0.0.1 only. The backend must
connect with that CA and stop start-up with a message naming ELASTICSEARCH_CA_CERTS without it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from elasticsearch import AsyncElasticsearch

from app.models import Chunk
from app.storage.elastic import ElasticSearchIndex, IndexConfigurationError
from tests.conftest import free_port

URL = os.environ.get("ELASTICSEARCH_URL")
NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
BACKEND = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not URL, reason="ELASTICSEARCH_URL not set: no Elasticsearch server to test against")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA as ECK makes one (CA:TRUE, keyCertSign), valid for a day."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
    )  # fmt: skip
    return cert, key


def make_server_cert(directory: Path, ca: tuple[Path, Path], dns_name: str) -> tuple[Path, Path]:
    cert, key, csr, ext = (directory / f"server-{dns_name}.{suffix}" for suffix in ("pem", "key", "csr", "ext"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={dns_name}")  # fmt: skip
    ext.write_text(
        f"subjectAltName=DNS:{dns_name}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
            "-days", "1", "-extfile", str(ext), "-out", str(cert))  # fmt: skip
    return cert, key


NGINX_CONF = """daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{servers}
}}
"""
NGINX_SERVER = """    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
"""


@dataclass(frozen=True)
class TlsFront:
    url: str  # https://localhost:PORT, certificate for "localhost" signed by `ca`
    wrong_name_url: str  # https://localhost:PORT2, certificate for another name, same CA
    ca: Path
    other_ca: Path  # a CA that signed nothing here
    access_log: Path


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"nginx did not listen on 127.0.0.1:{port}: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def tls_front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsFront]:
    binary = shutil.which(NGINX) or shutil.which("nginx")
    if binary is None or shutil.which("openssl") is None:
        pytest.fail(f"nginx or openssl not found (looked for {NGINX}): install them with 'apt-get install -y nginx openssl'")
    work = tmp_path_factory.mktemp("es-tls")
    ca = make_ca(work, "test-es-ca")
    other_ca, _ = make_ca(work, "unrelated-ca")
    good, wrong_name = make_server_cert(work, ca, "localhost"), make_server_cert(work, ca, "elsewhere.invalid")
    ports = free_port(), free_port()
    servers = "".join(
        NGINX_SERVER.format(port=port, cert=cert, key=key, upstream=URL)
        for port, (cert, key) in zip(ports, (good, wrong_name), strict=True)
    )
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, servers=servers))
    process = subprocess.Popen(
        [binary, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        for port in ports:
            _wait_for_port(port, process, work / "error.log")
        yield TlsFront(f"https://localhost:{ports[0]}", f"https://localhost:{ports[1]}", ca[0], other_ca, work / "access.log")
    finally:
        process.terminate()
        process.wait(timeout=10)


def index_name() -> str:
    return f"test-tls-{uuid.uuid4().hex[:8]}"


async def assert_not_created(name: str) -> None:
    async with AsyncElasticsearch(URL) as plain:  # type: ignore[arg-type]
        assert not await plain.indices.exists(index=name)


async def test_connects_through_tls_with_the_ca(tls_front: TlsFront) -> None:
    name = index_name()
    index = await ElasticSearchIndex.open(tls_front.url, name, ca_certs=str(tls_front.ca))
    try:
        await index.index_chunks("tls", [Chunk(document_id="d1", filename="d1.md", chunk_index=0, text="Walrus over TLS.")])
        assert [hit.document_id for hit in await index.search("tls", "walrus", 5)] == ["d1"]
        await index.ping()
    finally:
        await index.client.indices.delete(index=name, ignore_unavailable=True)
        await index.close()
    # The requests really went through the TLS front, not straight to the node.
    assert f"/{name}" in tls_front.access_log.read_text()


@pytest.mark.parametrize("trust", ["system store", "another CA"])
async def test_an_untrusted_certificate_stops_start_up_naming_the_variable(tls_front: TlsFront, trust: str) -> None:
    name = index_name()
    ca_certs = None if trust == "system store" else str(tls_front.other_ca)
    with pytest.raises(IndexConfigurationError) as caught:
        await ElasticSearchIndex.open(tls_front.url, name, ca_certs=ca_certs)
    message = str(caught.value)
    assert "Set ELASTICSEARCH_CA_CERTS to the PEM file" in message and "certificate verify failed" in message
    assert (f"ELASTICSEARCH_CA_CERTS={ca_certs}" in message) if ca_certs else ("default trust store" in message)
    await assert_not_created(name)


async def test_the_certificate_must_name_the_host(tls_front: TlsFront) -> None:
    name = index_name()
    with pytest.raises(IndexConfigurationError, match="Hostname mismatch|doesn't match|not valid for"):
        await ElasticSearchIndex.open(tls_front.wrong_name_url, name, ca_certs=str(tls_front.ca))
    await assert_not_created(name)


async def test_a_failed_index_open_closes_the_store_it_opened(tls_front: TlsFront, tmp_path: Path) -> None:
    # Regression: the SQLite store's connection thread kept uvicorn alive after a failed start-up.
    from app.settings import Settings
    from app.storage import factory
    from app.storage.sqlite import SqliteMetadataStore

    opened: list[SqliteMetadataStore] = []
    original = SqliteMetadataStore.open

    async def remember(path: str) -> SqliteMetadataStore:
        opened.append(await original(path))
        return opened[-1]

    settings = Settings(_env_file=None, database_path=str(tmp_path / "db.sqlite3"), elasticsearch_url=tls_front.url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqliteMetadataStore, "open", staticmethod(remember))
        with pytest.raises(IndexConfigurationError):
            await factory.open_backends(settings)
    assert len(opened) == 1
    with pytest.raises(ValueError, match="Connection closed"):  # aiosqlite, once closed
        await opened[0].ping()


def start_server(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "JWT_", "REDIS_", "ELASTICSEARCH_", "OTEL_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=BACKEND,
        env={**clean, "APP_ENV": "test", "DATABASE_PATH": str(tmp_path / "db.sqlite3"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, f"http://127.0.0.1:{port}"


def test_the_server_is_ready_with_the_ca_and_refuses_to_start_without(tls_front: TlsFront, tmp_path: Path) -> None:
    name = index_name()
    process, base = start_server(tmp_path, ELASTICSEARCH_URL=tls_front.url, ELASTICSEARCH_CA_CERTS=str(tls_front.ca),
                                 ELASTICSEARCH_INDEX=name)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout and process.stdout.read()
                time.sleep(0.2)
        assert ready.status_code == 200 and ready.json()["checks"] == {"sqlite": "ok", "elasticsearch": "ok"}, ready.text
    finally:
        process.terminate()
        process.communicate(timeout=30)
        httpx.delete(f"{URL}/{name}", timeout=10)

    refused, _ = start_server(tmp_path, ELASTICSEARCH_URL=tls_front.url, ELASTICSEARCH_INDEX=name)
    output, _ = refused.communicate(timeout=60)
    assert refused.returncode != 0
    assert "cannot verify the TLS certificate of ELASTICSEARCH_URL=https://localhost:" in output
    assert "Set ELASTICSEARCH_CA_CERTS" in output
