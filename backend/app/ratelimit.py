"""Fixed-window rate limiting: in memory (single process) or in Redis (shared by replicas)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: int) -> Decision: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: int, window: int) -> Decision:
        now = int(time.time())
        start = now - now % window
        previous_start, count = self._windows.get(key, (start, 0))
        count = count + 1 if previous_start == start else 1
        if len(self._windows) > 100_000:  # bound memory: old windows are worthless
            self._windows = {k: v for k, v in self._windows.items() if v[0] == start}
        self._windows[key] = (start, count)
        return Decision(count <= limit, start + window - now)


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = "ratelimit:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window: int) -> Decision:
        now = int(time.time())
        start = now - now % window
        redis_key = f"{self._prefix}{key}:{start}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, window + 1)
            count, _ = await pipe.execute()
        return Decision(int(count) <= limit, start + window - now)
