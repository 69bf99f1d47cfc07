"""The generation provider interface and its inputs/outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Tone = Literal["professional", "casual", "technical", "friendly"]
Length = Literal["short", "medium", "long"]


@dataclass(frozen=True)
class SourceText:
    document_id: str
    filename: str
    text: str


@dataclass(frozen=True)
class GenerationRequest:
    sources: list[SourceText]
    # The chunks most relevant to the topic (from the search index), best first.
    passages: list[tuple[int, str]]  # (source number, chunk text)
    topic: str | None
    tone: Tone
    length: Length


@dataclass(frozen=True)
class GeneratedDraft:
    title: str
    content: str
    tags: list[str] = field(default_factory=list)


class ProviderError(Exception):
    """The provider failed; status_code is what the API answers (502 or 504)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class GenerationProvider(Protocol):
    name: str

    async def generate(self, request: GenerationRequest) -> GeneratedDraft: ...
    async def close(self) -> None: ...
