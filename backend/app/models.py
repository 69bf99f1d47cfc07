"""Domain records shared by the storage backends and the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(BaseModel):
    id: str = Field(default_factory=new_id)
    email: str
    full_name: str
    password_hash: str
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(BaseModel):
    id: str = Field(default_factory=new_id)
    user_id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None


class Document(BaseModel):
    id: str = Field(default_factory=new_id)
    user_id: str
    filename: str
    content_type: str
    size_bytes: int
    chunk_count: int
    created_at: datetime = Field(default_factory=utcnow)
    text: str = ""


class Source(BaseModel):
    document_id: str
    filename: str


DraftStatus = Literal["draft", "published"]


class Draft(BaseModel):
    id: str = Field(default_factory=new_id)
    user_id: str
    title: str
    content: str
    sources: list[Source] = []
    tags: list[str] = []
    status: DraftStatus = "draft"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Chunk(BaseModel):
    document_id: str
    filename: str
    chunk_index: int
    text: str


class SearchHit(BaseModel):
    document_id: str
    filename: str
    chunk_index: int
    score: float
    snippet: str
    text: str
