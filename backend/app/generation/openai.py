"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, vLLM) via httpx."""

from __future__ import annotations

import asyncio
import logging

import httpx

from app.generation.base import GeneratedDraft, GenerationRequest, ProviderError
from app.text import keywords

logger = logging.getLogger("app.generation")

WORDS = {"short": 300, "medium": 700, "long": 1200}
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class OpenAIProvider:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout: float,
        max_retries: int,
        backoff: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        )
        self._model = model
        self._max_retries = max_retries
        self._backoff = backoff

    def _messages(self, request: GenerationRequest) -> list[dict[str, str]]:
        excerpts = "\n\n".join(f"[{number}] {text}" for number, text in request.passages[:12])
        names = "\n".join(f"[{n}] {s.filename}" for n, s in enumerate(request.sources, start=1))
        system = (
            f"You write blog posts in Markdown with a {request.tone} tone, about "
            f"{WORDS[request.length]} words. Start with a '# ' title line, use '## ' sections, "
            "cite sources as [n] and use only facts from the excerpts."
        )
        user = f"Topic: {request.topic or 'the main subject of the excerpts'}\n\nSources:\n{names}\n\nExcerpts:\n{excerpts}"
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    async def generate(self, request: GenerationRequest) -> GeneratedDraft:
        payload = {"model": self._model, "messages": self._messages(request), "temperature": 0.4}
        response = await self._post_with_retries(payload)
        try:
            content = response.json()["choices"][0]["message"]["content"].strip()
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
            raise ProviderError(502, "generation provider returned an unexpected response") from error
        if not content:
            raise ProviderError(502, "generation provider returned an empty draft")
        first_line = content.splitlines()[0]
        if first_line.startswith("# "):
            title = first_line[2:].strip()
        else:
            title = (request.topic or "Untitled draft").strip().title()
            content = f"# {title}\n\n{content}"
        return GeneratedDraft(title=title, content=content + "\n", tags=keywords(content, 5))

    async def _post_with_retries(self, payload: dict[str, object]) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._client.post("chat/completions", json=payload)
                if response.status_code not in RETRYABLE_STATUS:
                    break
                failure = ProviderError(502, f"generation provider failed (HTTP {response.status_code})")
            except httpx.TimeoutException:
                failure = ProviderError(504, "generation provider timed out")
            except httpx.TransportError as error:
                failure = ProviderError(502, f"generation provider unreachable ({type(error).__name__})")
            if attempt >= self._max_retries:
                raise failure
            attempt += 1
            logger.warning("generation attempt failed, retrying", extra={"attempt": attempt, "error": failure.detail})
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        if response.status_code >= 400:
            raise ProviderError(502, f"generation provider rejected the request (HTTP {response.status_code})")
        return response

    async def close(self) -> None:
        await self._client.aclose()
