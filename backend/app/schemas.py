"""Request and response bodies of the public API (see notes/API_CONTRACT.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from app.generation.base import Length, Tone
from app.models import DraftStatus, Source

T = TypeVar("T")
Tag = Annotated[str, Field(min_length=1, max_length=50)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = Field(min_length=8, max_length=256)
    full_name: str = Field(min_length=1, max_length=200)


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserOut(BaseModel):
    id: str
    email: str
    full_name: str
    created_at: datetime


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None


class ApiKeyCreated(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    key: str


class DocumentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size_bytes: int
    chunk_count: int
    created_at: datetime


class DocumentWithText(DocumentOut):
    text: str


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=500)
    k: int = Field(5, ge=1, le=50)


class SearchResult(BaseModel):
    document_id: str
    filename: str
    chunk_index: int
    score: float
    snippet: str


class SearchOut(BaseModel):
    results: list[SearchResult]


class GenerateIn(BaseModel):
    document_ids: list[str] = Field(min_length=1, max_length=20)
    topic: str | None = Field(None, max_length=200)
    tone: Tone = "professional"
    length: Length = "medium"

    @field_validator("document_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class DraftUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, min_length=1, max_length=300)
    content: str | None = Field(None, max_length=200_000)
    status: DraftStatus | None = None
    tags: list[Tag] | None = Field(None, max_length=20)


class DraftOut(BaseModel):
    id: str
    title: str
    content: str
    sources: list[Source]
    tags: list[str]
    status: DraftStatus
    created_at: datetime
    updated_at: datetime


class UserExport(BaseModel):
    user: UserOut
    api_keys: list[ApiKeyOut]
    documents: list[DocumentWithText]
    drafts: list[DraftOut]
