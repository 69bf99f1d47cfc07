"""Embedded backend: one SQLite file holds metadata and an FTS5 chunk index."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import aiosqlite

from app.models import ApiKey, Chunk, Document, Draft, SearchHit, Source, User, utcnow
from app.storage.base import EmailTakenError
from app.text import render_snippet

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, full_name TEXT NOT NULL,
    password_hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL, prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, last_used_at TEXT);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys(user_id, created_at);
CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    filename TEXT NOT NULL, content_type TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL, created_at TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS documents_user ON documents(user_id, created_at);
CREATE TABLE IF NOT EXISTS drafts (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title TEXT NOT NULL, content TEXT NOT NULL, sources TEXT NOT NULL, tags TEXT NOT NULL,
    status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS drafts_user ON drafts(user_id, created_at);
"""

_FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(
    text, user_id UNINDEXED, document_id UNINDEXED, filename UNINDEXED,
    chunk_index UNINDEXED, tokenize = 'porter unicode61');
"""

# Control characters mark highlights inside FTS5 output; they cannot occur in stored text
# because text extraction strips them, so escaping and <mark> insertion stay unambiguous.
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"

T = TypeVar("T")


async def _connect(path: str) -> aiosqlite.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = await aiosqlite.connect(path)
    connection.row_factory = aiosqlite.Row
    await connection.execute("PRAGMA journal_mode=WAL")
    await connection.execute("PRAGMA busy_timeout=5000")
    await connection.execute("PRAGMA foreign_keys=ON")
    await connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class SqliteMetadataStore:
    name = "sqlite"

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    @classmethod
    async def open(cls, path: str) -> SqliteMetadataStore:
        connection = await _connect(path)
        await connection.executescript(_SCHEMA)
        await connection.commit()
        return cls(connection)

    async def ping(self) -> None:
        await self._db.execute_fetchall("SELECT 1")

    async def close(self) -> None:
        await self._db.close()

    # users
    async def create_user(self, user: User) -> None:
        try:
            await self._db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (user.id, user.email, user.full_name, user.password_hash, _ts(user.created_at)),
            )
        except aiosqlite.IntegrityError as error:
            raise EmailTakenError(user.email) from error
        await self._db.commit()

    async def get_user(self, user_id: str) -> User | None:
        return await self._one(User, "SELECT * FROM users WHERE id = ?", user_id)

    async def get_user_by_email(self, email: str) -> User | None:
        return await self._one(User, "SELECT * FROM users WHERE email = ?", email)

    async def delete_user(self, user_id: str) -> None:
        await self._db.execute("DELETE FROM users WHERE id = ?", (user_id,))
        await self._db.commit()

    # API keys
    async def create_api_key(self, key: ApiKey) -> None:
        await self._db.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key.id, key.user_id, key.name, key.prefix, key.key_hash, _ts(key.created_at), None),
        )
        await self._db.commit()

    async def list_api_keys(self, user_id: str, limit: int, offset: int) -> tuple[list[ApiKey], int]:
        return await self._page(ApiKey, "api_keys", user_id, limit, offset)

    async def get_api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        return await self._one(ApiKey, "SELECT * FROM api_keys WHERE key_hash = ?", key_hash)

    async def touch_api_key(self, key_id: str, when: datetime) -> None:
        await self._db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (_ts(when), key_id))
        await self._db.commit()

    async def delete_api_key(self, user_id: str, key_id: str) -> bool:
        return await self._delete("api_keys", user_id, key_id)

    async def revoke_token(self, jti: str, expires_at: datetime) -> bool:
        cursor = await self._db.execute("INSERT OR IGNORE INTO revoked_tokens VALUES (?, ?)", (jti, _ts(expires_at)))
        await self._db.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (_ts(utcnow()),))
        await self._db.commit()
        return cursor.rowcount == 1

    # documents
    async def create_document(self, document: Document) -> None:
        await self._db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                document.id,
                document.user_id,
                document.filename,
                document.content_type,
                document.size_bytes,
                document.chunk_count,
                _ts(document.created_at),
                document.text,
            ),
        )
        await self._db.commit()

    async def list_documents(self, user_id: str, limit: int, offset: int) -> tuple[list[Document], int]:
        columns = "id, user_id, filename, content_type, size_bytes, chunk_count, created_at"
        return await self._page(Document, "documents", user_id, limit, offset, columns)

    async def get_document(self, user_id: str, document_id: str) -> Document | None:
        return await self._one(Document, "SELECT * FROM documents WHERE id = ? AND user_id = ?", document_id, user_id)

    async def delete_document(self, user_id: str, document_id: str) -> bool:
        return await self._delete("documents", user_id, document_id)

    # drafts
    async def create_draft(self, draft: Draft) -> None:
        await self._db.execute("INSERT INTO drafts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._draft_row(draft))
        await self._db.commit()

    async def list_drafts(self, user_id: str, limit: int, offset: int) -> tuple[list[Draft], int]:
        return await self._page(Draft, "drafts", user_id, limit, offset)

    async def get_draft(self, user_id: str, draft_id: str) -> Draft | None:
        return await self._one(Draft, "SELECT * FROM drafts WHERE id = ? AND user_id = ?", draft_id, user_id)

    async def update_draft(self, draft: Draft) -> None:
        row = self._draft_row(draft)
        await self._db.execute(
            "UPDATE drafts SET title = ?, content = ?, sources = ?, tags = ?, status = ?, "
            "updated_at = ? WHERE id = ? AND user_id = ?",
            (*row[2:7], row[8], draft.id, draft.user_id),
        )
        await self._db.commit()

    async def delete_draft(self, user_id: str, draft_id: str) -> bool:
        return await self._delete("drafts", user_id, draft_id)

    # helpers
    @staticmethod
    def _draft_row(draft: Draft) -> tuple[object, ...]:
        return (
            draft.id,
            draft.user_id,
            draft.title,
            draft.content,
            json.dumps([source.model_dump() for source in draft.sources]),
            json.dumps(draft.tags),
            draft.status,
            _ts(draft.created_at),
            _ts(draft.updated_at),
        )

    @staticmethod
    def _build(model: type[T], row: aiosqlite.Row | dict[str, object]) -> T:
        data = dict(row)
        if model is Draft:
            data["sources"] = [Source(**source) for source in json.loads(data["sources"])]
            data["tags"] = json.loads(data["tags"])
        return model(**data)

    # execute_fetchall is one hop to aiosqlite's thread (execute + fetch + close would be three).
    async def _one(self, model: type[T], sql: str, *params: object) -> T | None:
        rows = list(await self._db.execute_fetchall(sql, params))
        return self._build(model, rows[0]) if rows else None

    async def _page(
        self, model: type[T], table: str, user_id: str, limit: int, offset: int, columns: str = "*"
    ) -> tuple[list[T], int]:
        rows = list(
            await self._db.execute_fetchall(
                f"SELECT {columns}, COUNT(*) OVER () AS _total FROM {table} WHERE user_id = ? "
                "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                (user_id, limit, offset),
            )
        )
        if rows:
            total = rows[0]["_total"]
        else:  # past the last page: the window function had no row to report on
            count = await self._db.execute_fetchall(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (user_id,))
            total = list(count)[0][0]
        return [self._build(model, {k: row[k] for k in row.keys() if k != "_total"}) for row in rows], total

    async def _delete(self, table: str, user_id: str, item_id: str) -> bool:
        cursor = await self._db.execute(f"DELETE FROM {table} WHERE id = ? AND user_id = ?", (item_id, user_id))
        await self._db.commit()
        return cursor.rowcount == 1


_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(query: str) -> str | None:
    """Turn free text into an FTS5 OR-query of quoted terms (no operator injection)."""
    terms = _WORD.findall(query.lower())
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in dict.fromkeys(terms))


class SqliteSearchIndex:
    name = "sqlite"

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    @classmethod
    async def open(cls, path: str) -> SqliteSearchIndex:
        connection = await _connect(path)
        await connection.executescript(_FTS_SCHEMA)
        await connection.commit()
        return cls(connection)

    async def ping(self) -> None:
        # Fetch to the end: an unfinished SELECT keeps a WAL read snapshot open on this
        # connection, and the next upload's write then fails with "database is locked".
        await self._db.execute_fetchall("SELECT 1 FROM chunks LIMIT 1")

    async def close(self) -> None:
        await self._db.close()

    async def index_chunks(self, user_id: str, chunks: list[Chunk]) -> None:
        await self._db.executemany(
            "INSERT INTO chunks (text, user_id, document_id, filename, chunk_index) VALUES (?, ?, ?, ?, ?)",
            [(c.text, user_id, c.document_id, c.filename, c.chunk_index) for c in chunks],
        )
        await self._db.commit()

    async def search(self, user_id: str, query: str, k: int, document_ids: list[str] | None = None) -> list[SearchHit]:
        match = fts_query(query)
        if match is None:
            return []
        sql = (
            "SELECT document_id, filename, chunk_index, text, bm25(chunks) AS rank, "
            f"snippet(chunks, 0, '{_MARK_OPEN}', '{_MARK_CLOSE}', '…', 40) AS snip "
            "FROM chunks WHERE chunks MATCH ? AND user_id = ?"
        )
        params: list[object] = [match, user_id]
        if document_ids:
            sql += f" AND document_id IN ({','.join('?' * len(document_ids))})"
            params.extend(document_ids)
        sql += " ORDER BY rank LIMIT ?"
        params.append(k)
        rows = await self._db.execute_fetchall(sql, params)
        return [
            SearchHit(
                document_id=row["document_id"],
                filename=row["filename"],
                chunk_index=int(row["chunk_index"]),
                score=round(-row["rank"], 6),
                snippet=render_snippet(row["snip"], _MARK_OPEN, _MARK_CLOSE),
                text=row["text"],
            )
            for row in rows
        ]

    async def delete_document(self, user_id: str, document_id: str) -> None:
        await self._db.execute("DELETE FROM chunks WHERE document_id = ? AND user_id = ?", (document_id, user_id))
        await self._db.commit()

    async def delete_user(self, user_id: str) -> None:
        await self._db.execute("DELETE FROM chunks WHERE user_id = ?", (user_id,))
        await self._db.commit()
