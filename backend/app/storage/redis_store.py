"""Production metadata store in Redis: JSON records plus per-user sorted-set indexes."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis

from app.models import ApiKey, Document, Draft, User, utcnow
from app.storage.base import EmailTakenError

M = TypeVar("M", bound=BaseModel)


def _text(raw: bytes | str) -> str:
    """Redis answers bytes (decode_responses off); accept str too."""
    return raw.decode() if isinstance(raw, bytes) else raw

_CREATE_USER = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
    redis.call('SET', KEYS[2], ARGV[2])
    return 1
end
return 0
"""


class RedisMetadataStore:
    """Keys: user:{id}, email:{email} -> id, apikey:{id}, apikeyhash:{hash} -> id,
    doc:{id}, doctext:{id}, draft:{id}, revoked:{jti}; user:{id}:{kind} sorted sets
    (score = creation time) give newest-first pagination and the list to erase."""

    name = "redis"

    def __init__(self, redis: Redis, prefix: str = "bca:") -> None:
        self.redis = redis
        self._p = prefix

    def _k(self, *parts: str) -> str:
        return self._p + ":".join(parts)

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()

    # users
    async def create_user(self, user: User) -> None:
        # One atomic step: claim the e-mail and write the user, or do nothing.
        created = await self.redis.eval(
            _CREATE_USER, 2, self._k("email", user.email), self._k("user", user.id), user.id, user.model_dump_json()
        )
        if not created:
            raise EmailTakenError(user.email)

    async def get_user(self, user_id: str) -> User | None:
        return await self._get(User, self._k("user", user_id))

    async def get_user_by_email(self, email: str) -> User | None:
        user_id = await self.redis.get(self._k("email", email))
        return await self.get_user(_text(user_id)) if user_id else None

    async def delete_user(self, user_id: str) -> None:
        user = await self.get_user(user_id)
        keys = await self._ids(user_id, "apikeys")
        hashes = [k.key_hash for k in await self._many(ApiKey, "apikey", keys)]
        docs = await self._ids(user_id, "docs")
        drafts = await self._ids(user_id, "drafts")
        doomed = [self._k("user", user_id)]
        doomed += [self._k("email", user.email)] if user else []
        doomed += [self._k("apikey", i) for i in keys] + [self._k("apikeyhash", h) for h in hashes]
        doomed += [self._k("doc", i) for i in docs] + [self._k("doctext", i) for i in docs]
        doomed += [self._k("draft", i) for i in drafts]
        doomed += [self._k("user", user_id, kind) for kind in ("apikeys", "docs", "drafts")]
        await self.redis.delete(*doomed)

    # API keys
    async def create_api_key(self, key: ApiKey) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k("apikey", key.id), key.model_dump_json())
            pipe.set(self._k("apikeyhash", key.key_hash), key.id)
            pipe.zadd(self._k("user", key.user_id, "apikeys"), {key.id: key.created_at.timestamp()})
            await pipe.execute()

    async def list_api_keys(self, user_id: str, limit: int, offset: int) -> tuple[list[ApiKey], int]:
        return await self._page(ApiKey, "apikey", user_id, "apikeys", limit, offset)

    async def get_api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        key_id = await self.redis.get(self._k("apikeyhash", key_hash))
        return await self._get(ApiKey, self._k("apikey", _text(key_id))) if key_id else None

    async def touch_api_key(self, key_id: str, when: datetime) -> None:
        key = await self._get(ApiKey, self._k("apikey", key_id))
        if key is not None:
            key.last_used_at = when
            await self.redis.set(self._k("apikey", key_id), key.model_dump_json(), xx=True)

    async def delete_api_key(self, user_id: str, key_id: str) -> bool:
        key = await self._get(ApiKey, self._k("apikey", key_id))
        if key is None or key.user_id != user_id:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("apikey", key_id), self._k("apikeyhash", key.key_hash))
            pipe.zrem(self._k("user", user_id, "apikeys"), key_id)
            await pipe.execute()
        return True

    async def revoke_token(self, jti: str, expires_at: datetime) -> bool:
        ttl = max(1, int((expires_at - utcnow()).total_seconds()) + 1)
        return bool(await self.redis.set(self._k("revoked", jti), b"1", nx=True, ex=ttl))

    # documents: metadata and text are separate keys so listing never loads texts
    async def create_document(self, document: Document) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k("doc", document.id), document.model_dump_json(exclude={"text"}))
            pipe.set(self._k("doctext", document.id), document.text.encode())
            pipe.zadd(self._k("user", document.user_id, "docs"), {document.id: document.created_at.timestamp()})
            await pipe.execute()

    async def list_documents(self, user_id: str, limit: int, offset: int) -> tuple[list[Document], int]:
        return await self._page(Document, "doc", user_id, "docs", limit, offset)

    async def get_document(self, user_id: str, document_id: str) -> Document | None:
        document = await self._get(Document, self._k("doc", document_id))
        if document is None or document.user_id != user_id:
            return None
        text = await self.redis.get(self._k("doctext", document_id))
        document.text = _text(text) if text else ""
        return document

    async def delete_document(self, user_id: str, document_id: str) -> bool:
        return await self._delete(Document, "doc", user_id, "docs", document_id, extra=("doctext",))

    # drafts
    async def create_draft(self, draft: Draft) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k("draft", draft.id), draft.model_dump_json())
            pipe.zadd(self._k("user", draft.user_id, "drafts"), {draft.id: draft.created_at.timestamp()})
            await pipe.execute()

    async def list_drafts(self, user_id: str, limit: int, offset: int) -> tuple[list[Draft], int]:
        return await self._page(Draft, "draft", user_id, "drafts", limit, offset)

    async def get_draft(self, user_id: str, draft_id: str) -> Draft | None:
        draft = await self._get(Draft, self._k("draft", draft_id))
        return draft if draft is not None and draft.user_id == user_id else None

    async def update_draft(self, draft: Draft) -> None:
        await self.redis.set(self._k("draft", draft.id), draft.model_dump_json(), xx=True)

    async def delete_draft(self, user_id: str, draft_id: str) -> bool:
        return await self._delete(Draft, "draft", user_id, "drafts", draft_id)

    # helpers
    async def _get(self, model: type[M], key: str) -> M | None:
        raw = await self.redis.get(key)
        return model.model_validate_json(raw) if raw else None

    async def _ids(self, user_id: str, kind: str) -> list[str]:
        members: list[bytes] = await self.redis.zrange(self._k("user", user_id, kind), 0, -1)  # pyright: ignore[reportAssignmentType]  # no scores requested: members only
        return [_text(raw) for raw in members]

    async def _many(self, model: type[M], kind: str, ids: list[str]) -> list[M]:
        if not ids:
            return []
        raws = await self.redis.mget([self._k(kind, i) for i in ids])
        return [model.model_validate_json(raw) for raw in raws if raw]

    async def _page(self, model: type[M], kind: str, user_id: str, index: str, limit: int, offset: int) -> tuple[list[M], int]:
        index_key = self._k("user", user_id, index)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(index_key)
            pipe.zrevrange(index_key, offset, offset + limit - 1)
            total, ids = await pipe.execute()
        return await self._many(model, kind, [_text(raw) for raw in ids]), int(total)

    async def _delete(
        self, model: type[M], kind: str, user_id: str, index: str, item_id: str, extra: tuple[str, ...] = ()
    ) -> bool:
        item = await self._get(model, self._k(kind, item_id))
        if item is None or getattr(item, "user_id", None) != user_id:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._k(kind, item_id), *(self._k(e, item_id) for e in extra))
            pipe.zrem(self._k("user", user_id, index), item_id)
            await pipe.execute()
        return True
