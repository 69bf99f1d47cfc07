"""Password hashing (argon2), JWT access/refresh tokens and API key material."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.cpus import usable_cpus
from app.models import new_id

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) instead of argon2-cffi's
# default (64 MiB, 3 passes, 4 lanes): about 5x less CPU and memory per sign-in, so a burst of
# sign-ins does not starve every other request. Hashes carry their parameters: old ones verify.
PRODUCTION_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_hasher = PRODUCTION_HASHER
# At most one hash per usable CPU at a time: a burst of sign-ins queues here instead of occupying
# every worker thread of the server. Usable = affinity and cgroup CPU limit, not the host's count
# (os.cpu_count() says 64 in a one-CPU container on a 64-core node).
HASH_WORKERS = usable_cpus()
_hash_pool = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="argon2")
_dummy_hash: str | None = None
T = TypeVar("T")
API_KEY_PREFIX = "bca_"
JWT_ALGORITHM = "HS256"

TokenType = Literal["access", "refresh"]


async def _in_hash_pool(work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, work)


async def hash_password(password: str) -> str:
    return await _in_hash_pool(lambda: _hasher.hash(password))


async def verify_password(password: str, password_hash: str | None) -> bool:
    def verify() -> bool:
        global _dummy_hash
        # Verifying against a real hash when the e-mail is unknown keeps login timing uniform.
        if password_hash is None and _dummy_hash is None:
            _dummy_hash = _hasher.hash("timing-equaliser-not-a-password")
        try:
            return _hasher.verify(password_hash or _dummy_hash or "", password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await _in_hash_pool(verify)


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    token_type: TokenType
    jti: str
    expires_at: datetime


class InvalidTokenError(Exception):
    pass


def create_token(user_id: str, token_type: TokenType, secret: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "type": token_type,
        "jti": new_id(),
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_token(token: str, secret: str, expected: TokenType) -> TokenClaims:
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "exp", "jti", "type"]})
    except jwt.ExpiredSignatureError as error:
        raise InvalidTokenError("token expired") from error
    except jwt.PyJWTError as error:
        raise InvalidTokenError("invalid token") from error
    if claims["type"] != expected:
        raise InvalidTokenError(f"not an {expected} token" if expected == "access" else f"not a {expected} token")
    return TokenClaims(
        user_id=claims["sub"],
        token_type=expected,
        jti=claims["jti"],
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


def new_api_key() -> tuple[str, str, str]:
    """Return (key shown once, display prefix, stored hash)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:12], hash_api_key(key)


def hash_api_key(key: str) -> str:
    # API keys carry 256 bits of entropy, so a fast hash is safe and allows lookup by hash.
    return hashlib.sha256(key.encode()).hexdigest()
