"""Request dependencies: application state, the authenticated user, rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status

from app.generation.base import GenerationProvider
from app.models import User, utcnow
from app.security import API_KEY_PREFIX, InvalidTokenError, decode_token, hash_api_key
from app.settings import Settings
from app.storage.factory import Backends


@dataclass
class AppState:
    settings: Settings
    backends: Backends
    provider: GenerationProvider
    shutting_down: bool = False


async def get_state(request: Request) -> AppState:
    # async: FastAPI would run a plain def in the thread pool (a costly hop per request).
    return request.app.state.app_state


State = Annotated[AppState, Depends(get_state)]

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def current_user(request: Request, state: State) -> User:
    store = state.backends.store
    api_key = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    if not api_key and bearer.startswith(API_KEY_PREFIX):
        # API keys also work as bearer tokens (one header for every client, e.g. the deploy's
        # smoke check with a key stored as a CI secret); the prefix never starts a JWT ("eyJ").
        api_key = bearer
    if api_key:
        record = await store.get_api_key_by_hash(hash_api_key(api_key))
        if record is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key", _UNAUTHORIZED)
        await store.touch_api_key(record.id, utcnow())
        user_id = record.user_id
    elif bearer:
        try:
            claims = decode_token(bearer, state.settings.jwt_secret.get_secret_value(), "access")
        except InvalidTokenError as error:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error), _UNAUTHORIZED) from error
        user_id = claims.user_id
    else:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required: send 'Authorization: Bearer <token or API key>' or 'X-API-Key: <API key>'",
            _UNAUTHORIZED,
        )
    user = await store.get_user(user_id)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "user no longer exists", _UNAUTHORIZED)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


@dataclass(frozen=True)
class Pagination:
    limit: int
    offset: int


# Offsets beyond SQLite's 64-bit integers crashed the query (found by Schemathesis); no real
# list is this long, so the bound is a clear 422 rather than a 500.
MAX_OFFSET = 1_000_000_000


async def pagination(
    limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0
) -> Pagination:
    return Pagination(limit, offset)


Paging = Annotated[Pagination, Depends(pagination)]


async def enforce_rate_limit(state: AppState, bucket: str, subject: str, limit: int) -> None:
    settings = state.settings
    if not settings.rate_limit_enabled:
        return
    decision = await state.backends.limiter.hit(f"{bucket}:{subject}", limit, settings.rate_limit_window_seconds)
    if not decision.allowed:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit exceeded: at most {limit} {bucket} requests per "
            f"{settings.rate_limit_window_seconds} s; retry in {decision.retry_after} s",
            {"Retry-After": str(max(1, decision.retry_after))},
        )


async def auth_rate_limit(request: Request, state: State) -> None:
    client = request.client.host if request.client else "unknown"
    await enforce_rate_limit(state, "auth", client, state.settings.rate_limit_auth_requests)
