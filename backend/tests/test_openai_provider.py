"""The OpenAI-compatible provider against a local stub HTTP server.

The stub stands in for a SaaS Chat Completions endpoint (OpenAI, or Ollama/vLLM) that cannot
be called from tests; it speaks the same JSON over real HTTP so httpx, timeouts and retries
are exercised for real.
"""

from __future__ import annotations

import pytest

from tests.conftest import completion


async def _setup(make_api, url, **overrides):
    api = await make_api(
        generation_provider="openai",
        openai_base_url=url,
        openai_api_key="sk-test-key",
        openai_model="test-model",
        openai_backoff_seconds=0.01,
        **overrides,
    )
    headers = await api.signup()
    document = await api.upload(
        headers, "notes.md", b"Rust ownership prevents data races. Borrowing rules are checked at compile time."
    )
    return api, headers, document


async def test_generates_a_draft_from_the_completion(make_api, stub):
    llm, url = stub
    llm.reply(200, completion("# Fearless Rust\n\n## Ownership\n\nRust ownership prevents data races [1]."))
    api, headers, document = await _setup(make_api, url)
    response = await api.client.post(
        "/api/v1/drafts/generate",
        json={"document_ids": [document["id"]], "topic": "ownership", "tone": "casual"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["title"] == "Fearless Rust" and "Rust ownership prevents data races [1]." in draft["content"]
    request = llm.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test-key"
    body = request["body"]
    assert body["model"] == "test-model"
    assert "casual tone" in body["messages"][0]["content"]
    assert "[1] Rust ownership prevents data races." in body["messages"][1]["content"]


async def test_untitled_completion_gets_the_topic_as_title(make_api, stub):
    llm, url = stub
    llm.reply(200, completion("Some text without a heading."))
    api, headers, document = await _setup(make_api, url)
    draft = (
        await api.client.post(
            "/api/v1/drafts/generate", json={"document_ids": [document["id"]], "topic": "borrow checker"}, headers=headers
        )
    ).json()
    assert draft["title"] == "Borrow Checker" and draft["content"].startswith("# Borrow Checker\n\nSome text")


async def test_retries_5xx_then_succeeds(make_api, stub):
    llm, url = stub
    llm.reply(503, {"error": "overloaded"})
    llm.reply(200, completion("# Recovered\n\nBody."))
    api, headers, document = await _setup(make_api, url)
    response = await api.client.post("/api/v1/drafts/generate", json={"document_ids": [document["id"]]}, headers=headers)
    assert response.status_code == 201 and response.json()["title"] == "Recovered"
    assert len(llm.requests) == 2


async def test_persistent_5xx_is_502_after_retries(make_api, stub):
    llm, url = stub
    llm.reply(500, {"error": "boom"})
    api, headers, document = await _setup(make_api, url, openai_max_retries=2)
    response = await api.client.post("/api/v1/drafts/generate", json={"document_ids": [document["id"]]}, headers=headers)
    assert response.status_code == 502
    assert response.json() == {"detail": "generation provider failed (HTTP 500)"}
    assert len(llm.requests) == 3
    assert (await api.client.get("/api/v1/drafts", headers=headers)).json()["total"] == 0
    metrics = (await api.client.get("/metrics")).text
    assert 'draft_generation_duration_seconds_count{outcome="error",provider="openai"}' in metrics


async def test_timeout_is_504(make_api, stub):
    llm, url = stub
    llm.reply(200, completion("# Too late"), delay=1.0)
    api, headers, document = await _setup(make_api, url, openai_timeout_seconds=0.2, openai_max_retries=1)
    response = await api.client.post("/api/v1/drafts/generate", json={"document_ids": [document["id"]]}, headers=headers)
    assert response.status_code == 504
    assert response.json() == {"detail": "generation provider timed out"}
    assert len(llm.requests) == 2


async def test_client_error_is_502_without_retry(make_api, stub):
    llm, url = stub
    llm.reply(401, {"error": "invalid api key"})
    api, headers, document = await _setup(make_api, url)
    response = await api.client.post("/api/v1/drafts/generate", json={"document_ids": [document["id"]]}, headers=headers)
    assert response.status_code == 502 and "rejected the request (HTTP 401)" in response.json()["detail"]
    assert len(llm.requests) == 1


@pytest.mark.parametrize("body", [b"not json", {"choices": []}, completion("   ")])
async def test_malformed_completion_is_502(make_api, stub, body):
    llm, url = stub
    llm.reply(200, body)
    api, headers, document = await _setup(make_api, url)
    response = await api.client.post("/api/v1/drafts/generate", json={"document_ids": [document["id"]]}, headers=headers)
    assert response.status_code == 502 and "generation provider returned" in response.json()["detail"]


async def test_unreachable_provider_is_502(make_api):
    from tests.conftest import free_port

    api, headers, document = await _setup(make_api, f"http://127.0.0.1:{free_port()}/v1", openai_max_retries=0)
    response = await api.client.post("/api/v1/drafts/generate", json={"document_ids": [document["id"]]}, headers=headers)
    assert response.status_code == 502 and "unreachable" in response.json()["detail"]
