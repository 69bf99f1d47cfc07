"""Sign-up and sign-in with the PRODUCTION argon2 parameters (every other test weakens them;
`ARGON2_PRODUCTION=1 uv run pytest ...` runs any part of the suite with them)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from app import security

# OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane (what security.PRODUCTION_HASHER says).
PRODUCTION_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture
def production_hashing() -> Iterator[None]:
    weakened, dummy = security._hasher, security._dummy_hash
    security._hasher, security._dummy_hash = security.PRODUCTION_HASHER, None
    yield
    security._hasher, security._dummy_hash = weakened, dummy


def test_production_parameters_are_owasp_minimum() -> None:
    hasher: PasswordHasher = security.PRODUCTION_HASHER
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.type.name) == (2, 19 * 1024, 1, "ID")


@pytest.mark.usefixtures("production_hashing")
async def test_sign_up_and_sign_in_with_production_parameters(api) -> None:
    email = "prod-argon@example.com"
    started = time.monotonic()
    headers = await api.signup(email=email, password="correct-horse-1")
    signup_seconds = time.monotonic() - started
    user = await api.state.backends.store.get_user_by_email(email)
    assert user.password_hash.startswith(PRODUCTION_PREFIX), user.password_hash[:40]
    assert (await api.client.get("/api/v1/auth/me", headers=headers)).json()["email"] == email

    wrong = await api.client.post("/api/v1/auth/login", json={"email": email, "password": "wrong-horse-1"})
    assert wrong.status_code == 401
    unknown = await api.client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "correct-horse-1"})
    assert unknown.status_code == 401
    # The timing equaliser for unknown e-mails costs what a real verification costs.
    assert security._dummy_hash is not None and security._dummy_hash.startswith(PRODUCTION_PREFIX)
    # One hash + one verification at 19 MiB: well under a second even on a busy 2-core machine.
    assert signup_seconds < 5, f"sign-up + sign-in took {signup_seconds:.2f} s with production parameters"
