"""Uploads, listing, owner scoping and search — on every storage backend."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter

from tests.conftest import make_pdf

DOCS = "/api/v1/documents"

GARDEN = b"""# Gardening basics

Tomatoes need full sun and regular watering. Compost improves the soil structure.

Basil grows well next to tomatoes. Mulch keeps the soil moist during hot summers.
"""
ENGINES = b"Diesel engines compress air before injecting fuel. Engines need oil changes."


async def test_upload_text_markdown_and_pdf(api):
    headers = await api.signup()
    txt = await api.upload(headers, "engines.txt", ENGINES)
    md = await api.upload(headers, "garden.md", GARDEN)
    pdf = await api.upload(headers, "report.pdf", make_pdf(["Quarterly revenue grew strongly.", "Costs fell."]))
    assert (txt["content_type"], md["content_type"], pdf["content_type"]) == ("text/plain", "text/markdown", "application/pdf")
    assert txt["size_bytes"] == len(ENGINES) and txt["chunk_count"] == 1
    assert set(txt) == {"id", "filename", "content_type", "size_bytes", "chunk_count", "created_at"}
    document = (await api.client.get(f"{DOCS}/{pdf['id']}", headers=headers)).json()
    assert "Quarterly revenue grew strongly." in document["text"]


async def test_filename_is_sanitised(api):
    headers = await api.signup()
    document = await api.upload(headers, "../../etc/passwd.txt", b"Just some harmless words here.")
    assert document["filename"] == "passwd.txt"


async def test_list_is_paginated_newest_first(api):
    headers = await api.signup()
    ids = [(await api.upload(headers, f"d{i}.txt", f"Document number {i} talks about things.".encode()))["id"] for i in range(3)]
    page = (await api.client.get(DOCS, params={"limit": 2, "offset": 1}, headers=headers)).json()
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 1
    assert [item["id"] for item in page["items"]] == [ids[1], ids[0]]
    assert "text" not in page["items"][0]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
async def test_list_rejects_bad_pagination(api, params):
    headers = await api.signup()
    assert (await api.client.get(DOCS, params=params, headers=headers)).status_code == 422


async def test_delete_document(api):
    headers = await api.signup()
    document = await api.upload(headers, "x.txt", b"Ephemeral content about comets and tails.")
    assert (await api.client.delete(f"{DOCS}/{document['id']}", headers=headers)).status_code == 204
    assert (await api.client.get(f"{DOCS}/{document['id']}", headers=headers)).status_code == 404
    assert (await api.client.delete(f"{DOCS}/{document['id']}", headers=headers)).status_code == 404
    search = await api.client.post(f"{DOCS}/search", json={"query": "comets"}, headers=headers)
    assert search.json() == {"results": []}


async def test_another_users_document_is_404_never_data(api):
    alice, bob = await api.signup(), await api.signup()
    document = await api.upload(alice, "secret.txt", b"Alice's private plans for the weekend trip.")
    for method in ("get", "delete"):
        response = await api.client.request(method, f"{DOCS}/{document['id']}", headers=bob)
        assert response.status_code == 404 and response.json() == {"detail": "document not found"}
    assert (await api.client.get(DOCS, headers=bob)).json()["total"] == 0
    search = await api.client.post(f"{DOCS}/search", json={"query": "private plans"}, headers=bob)
    assert search.json()["results"] == []
    assert (await api.client.get(f"{DOCS}/{document['id']}", headers=alice)).status_code == 200


async def test_upload_requires_authentication(api):
    response = await api.client.post(DOCS, files={"file": ("a.txt", b"hello world text")})
    assert response.status_code == 401


async def test_oversized_upload_is_413(make_api):
    api = await make_api(max_upload_bytes=2048)
    headers = await api.signup()
    response = await api.client.post(DOCS, files={"file": ("big.txt", b"word " * 1000)}, headers=headers)
    assert response.status_code == 413
    assert "MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert (await api.client.get(DOCS, headers=headers)).json()["total"] == 0


async def test_huge_body_is_refused_while_streaming(make_api):
    api = await make_api(max_upload_bytes=2048)
    headers = await api.signup()
    response = await api.client.post(DOCS, files={"file": ("huge.txt", b"x" * 200_000)}, headers=headers)
    assert response.status_code == 413
    assert response.json()["detail"] == f"request body too large: the limit is {2048 + 64 * 1024} bytes"
    assert "x-request-id" in response.headers


@pytest.mark.parametrize("name", ["tool.exe", "noextension", "image.png"])
async def test_unsupported_type_is_415(api, name):
    headers = await api.signup()
    response = await api.client.post(DOCS, files={"file": (name, b"MZ\x90\x00")}, headers=headers)
    assert response.status_code == 415
    assert ".txt, .md or .pdf" in response.json()["detail"]


async def test_corrupt_pdf_is_422_with_clear_message(api):
    headers = await api.signup()
    response = await api.client.post(DOCS, files={"file": ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf")}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("broken.pdf: the PDF could not be read")


async def test_encrypted_pdf_is_422(api):
    headers = await api.signup()
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    response = await api.client.post(DOCS, files={"file": ("locked.pdf", buffer.getvalue())}, headers=headers)
    assert response.status_code == 422 and "encrypted" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("empty.txt", b"   \n\n ", "no text"), ("latin.txt", b"caf\xe9 au lait", "not valid UTF-8"), ("blank.pdf", None, "no text")],
)
async def test_unusable_text_is_422(api, name, content, message):
    headers = await api.signup()
    if content is None:
        writer = PdfWriter()
        writer.add_blank_page(200, 200)
        buffer = io.BytesIO()
        writer.write(buffer)
        content = buffer.getvalue()
    response = await api.client.post(DOCS, files={"file": (name, content)}, headers=headers)
    assert response.status_code == 422 and message in response.json()["detail"]


async def test_missing_file_field_is_422(api):
    headers = await api.signup()
    response = await api.client.post(DOCS, data={"other": "x"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]


async def test_search_ranks_and_highlights(api):
    headers = await api.signup()
    garden = await api.upload(headers, "garden.md", GARDEN)
    await api.upload(headers, "engines.txt", ENGINES)
    await api.upload(headers, "mixed.txt", b"Engines and tomatoes rarely meet. <script>alert(1)</script> tomatoes again.")
    response = await api.client.post(f"{DOCS}/search", json={"query": "tomatoes soil", "k": 5}, headers=headers)
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["document_id"] == garden["id"]
    assert {r["filename"] for r in results} == {"garden.md", "mixed.txt"}
    assert results[0]["score"] >= results[-1]["score"]
    assert "<mark>" in results[0]["snippet"].lower()
    mixed = next(r for r in results if r["filename"] == "mixed.txt")
    assert "&lt;script&gt;" in mixed["snippet"] and "<script>" not in mixed["snippet"]
    assert set(results[0]) == {"document_id", "filename", "chunk_index", "score", "snippet"}


async def test_search_k_limits_results(api):
    headers = await api.signup()
    for i in range(4):
        await api.upload(headers, f"n{i}.txt", f"Nebula observation log number {i}.".encode())
    results = (await api.client.post(f"{DOCS}/search", json={"query": "nebula", "k": 2}, headers=headers)).json()["results"]
    assert len(results) == 2


@pytest.mark.parametrize("body", [{"query": ""}, {"query": "x", "k": 0}, {"query": "x", "k": 51}, {}])
async def test_search_rejects_bad_input(api, body):
    headers = await api.signup()
    assert (await api.client.post(f"{DOCS}/search", json=body, headers=headers)).status_code == 422


async def test_search_with_only_punctuation_finds_nothing(api):
    headers = await api.signup()
    await api.upload(headers, "p.txt", b"Punctuation should never break the query parser.")
    response = await api.client.post(f"{DOCS}/search", json={"query": '"*) OR NEAR('}, headers=headers)
    assert response.status_code == 200
    response = await api.client.post(f"{DOCS}/search", json={"query": "?!"}, headers=headers)
    assert response.json() == {"results": []}


async def test_long_document_is_split_into_chunks(api):
    headers = await api.signup()
    text = " ".join(f"Sentence number {i} describes the lighthouse keeper's day." for i in range(100))
    document = await api.upload(headers, "long.txt", text.encode())
    assert document["chunk_count"] > 5
    hits = (await api.client.post(f"{DOCS}/search", json={"query": "lighthouse", "k": 50}, headers=headers)).json()["results"]
    assert sorted({hit["chunk_index"] for hit in hits}) == list(range(document["chunk_count"]))


async def test_failed_indexing_keeps_no_half_stored_document(api, monkeypatch):
    headers = await api.signup()
    index_chunks = api.state.backends.index.index_chunks

    async def fails_half_way(user_id, chunks):  # fault injection: the index dies mid-upload
        await index_chunks(user_id, chunks[: len(chunks) // 2])
        raise RuntimeError("index down")

    monkeypatch.setattr(api.state.backends.index, "index_chunks", fails_half_way)
    text = " ".join(f"Sentence {i} about the lighthouse keeper." for i in range(60)).encode()
    with pytest.raises(RuntimeError, match="index down"):
        await api.client.post(DOCS, files={"file": ("a.txt", text)}, headers=headers)
    assert (await api.client.get(DOCS, headers=headers)).json()["total"] == 0
    search = await api.client.post(f"{DOCS}/search", json={"query": "lighthouse", "k": 50}, headers=headers)
    assert search.json()["results"] == []


async def test_chunked_upload_is_refused_once_past_the_limit(make_api):
    # No Content-Length (Transfer-Encoding: chunked): the body is counted as it streams in and
    # reading stops at the limit instead of spooling the whole upload first.
    api = await make_api(max_upload_bytes=2048)
    headers = await api.signup()
    limit = 2048 + 64 * 1024
    boundary = "test-boundary-7c1f"
    pulled = 0

    async def body():
        nonlocal pulled
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\n\r\n'.encode()
        for _ in range(1000):  # 4 MiB offered in 4 KiB pieces
            pulled += 4096
            yield b"x" * 4096
        yield f"\r\n--{boundary}--\r\n".encode()

    multipart = {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = await api.client.post(DOCS, content=body(), headers=multipart)
    assert response.status_code == 413
    assert response.json()["detail"] == f"request body too large: the limit is {limit} bytes"
    assert "x-request-id" in response.headers
    assert limit < pulled <= limit + 4096
    assert (await api.client.get(DOCS, headers=headers)).json()["total"] == 0


async def test_chunked_upload_within_the_limit_is_stored(api):
    headers = await api.signup()
    boundary = "test-boundary-9a2e"

    async def body():
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="small.md"\r\n\r\n'.encode()
        yield GARDEN
        yield f"\r\n--{boundary}--\r\n".encode()

    multipart = {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = await api.client.post(DOCS, content=body(), headers=multipart)
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == len(GARDEN)


async def test_chunked_json_body_is_refused_once_past_the_limit(make_api):
    api = await make_api(max_upload_bytes=2048)
    headers = await api.signup()

    async def body():
        yield b'{"query": "'
        for _ in range(100):
            yield b"a" * 4096
        yield b'", "k": 5}'

    response = await api.client.post(f"{DOCS}/search", content=body(), headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 413
