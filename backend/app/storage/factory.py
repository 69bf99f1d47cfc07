"""Pick the storage backends from settings: each of Redis / Elasticsearch is optional."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from app.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from app.settings import Settings
from app.storage.base import MetadataStore, SearchIndex
from app.storage.sqlite import SqliteMetadataStore, SqliteSearchIndex


@dataclass
class Backends:
    store: MetadataStore
    index: SearchIndex
    limiter: RateLimiter

    async def close(self) -> None:
        await self.index.close()
        await self.store.close()


async def open_backends(settings: Settings) -> Backends:
    """REDIS_URL selects Redis metadata + rate limits, ELASTICSEARCH_URL the ES index;
    whatever is unset falls back to the embedded SQLite file at DATABASE_PATH."""
    store: MetadataStore
    limiter: RateLimiter
    if settings.redis_url:
        from app.storage.redis_store import RedisMetadataStore

        redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        store = RedisMetadataStore(redis)
        limiter = RedisRateLimiter(redis)
    else:
        store = await SqliteMetadataStore.open(settings.database_path)
        limiter = MemoryRateLimiter()
    try:
        index = await _open_index(settings)
    except BaseException:
        # Close the store opened above: its connection thread (aiosqlite) would otherwise keep
        # the process alive after uvicorn reports the failed start-up, instead of exiting.
        await store.close()
        raise
    return Backends(store, index, limiter)


async def _open_index(settings: Settings) -> SearchIndex:
    if not settings.elasticsearch_url:
        return await SqliteSearchIndex.open(settings.database_path)
    from app.storage.elastic import ElasticSearchIndex

    api_key = settings.elasticsearch_api_key.get_secret_value() if settings.elasticsearch_api_key else None
    return await ElasticSearchIndex.open(
        settings.elasticsearch_url,
        settings.elasticsearch_index,
        api_key,
        ca_certs=settings.elasticsearch_ca_certs,
        analyzer=settings.elasticsearch_analyzer,
        replicas=settings.elasticsearch_replicas,
        refresh_interval=settings.elasticsearch_refresh_interval,
    )
