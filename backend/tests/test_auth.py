"""Accounts, tokens, API keys, export and erasure — on every storage backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.models import Chunk

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


async def test_register_returns_user_without_secrets(api):
    response = await api.client.post(REGISTER, json={"email": "Ada@Example.com", "password": "longenough", "full_name": "Ada"})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com" and body["full_name"] == "Ada"
    assert set(body) == {"id", "email", "full_name", "created_at"}


async def test_register_duplicate_email_is_409(api):
    payload = {"email": "dup@example.com", "password": "longenough", "full_name": "D"}
    assert (await api.client.post(REGISTER, json=payload)).status_code == 201
    response = await api.client.post(REGISTER, json={**payload, "email": "DUP@example.com"})
    assert response.status_code == 409
    assert "already registered" in response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": "longenough", "full_name": "X"}, "email"),
        ({"email": "a@example.com", "password": "short", "full_name": "X"}, "password"),
        ({"email": "a@example.com", "password": "longenough"}, "full_name"),
    ],
)
async def test_register_rejects_bad_input_naming_the_field(api, payload, field):
    response = await api.client.post(REGISTER, json=payload)
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"])


async def test_login_and_me(api):
    headers = await api.signup("me@example.com")
    response = await api.client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200
    assert response.json()["email"] == "me@example.com"


async def test_login_wrong_password_and_unknown_user_are_401(api):
    await api.signup("who@example.com")
    wrong = await api.client.post(LOGIN, json={"email": "who@example.com", "password": "wrong-password"})
    unknown = await api.client.post(LOGIN, json={"email": "nobody@example.com", "password": "whatever1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "incorrect e-mail or password"}


async def test_login_response_shape(api):
    await api.signup("shape@example.com")
    body = (await api.client.post(LOGIN, json={"email": "shape@example.com", "password": "correct-horse-1"})).json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"]


@pytest.mark.parametrize("header", [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}])
async def test_me_without_valid_credentials_is_401(api, header):
    response = await api.client.get("/api/v1/auth/me", headers=header)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_access_token_is_401(api):
    await api.signup("late@example.com")
    user = await api.state.backends.store.get_user_by_email("late@example.com")
    past = datetime.now(UTC) - timedelta(hours=1)
    token = jwt.encode(
        {"sub": user.id, "type": "access", "jti": "x", "iat": past, "exp": past + timedelta(minutes=1)},
        api.state.settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    response = await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"


async def test_token_signed_with_another_secret_is_401(api):
    await api.signup("forged@example.com")
    user = await api.state.backends.store.get_user_by_email("forged@example.com")
    token = jwt.encode(
        {"sub": user.id, "type": "access", "jti": "x", "exp": datetime.now(UTC) + timedelta(minutes=5)},
        "attacker-secret-attacker-secret-32",
        algorithm="HS256",
    )
    assert (await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_refresh_rotates_and_old_refresh_token_is_revoked(api):
    await api.signup("rot@example.com")
    tokens = (await api.client.post(LOGIN, json={"email": "rot@example.com", "password": "correct-horse-1"})).json()
    first = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200
    new = first.json()
    assert (
        await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    ).status_code == 200
    reuse = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reuse.status_code == 401
    assert "already used" in reuse.json()["detail"]
    assert (await api.client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})).status_code == 200


async def test_token_types_are_not_interchangeable(api):
    await api.signup("types@example.com")
    tokens = (await api.client.post(LOGIN, json={"email": "types@example.com", "password": "correct-horse-1"})).json()
    as_refresh = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert as_refresh.status_code == 401 and "not a refresh token" in as_refresh.json()["detail"]
    as_access = await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert as_access.status_code == 401 and "not an access token" in as_access.json()["detail"]
    garbage = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": "garbage"})
    assert garbage.status_code == 401


async def test_api_key_lifecycle(api):
    headers = await api.signup()
    created = await api.client.post("/api/v1/auth/api-keys", json={"name": "ci"}, headers=headers)
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith("bca_") and key["key"].startswith(key["prefix"])

    me = await api.client.get("/api/v1/auth/me", headers={"X-API-Key": key["key"]})
    assert me.status_code == 200

    listing = (await api.client.get("/api/v1/auth/api-keys", headers=headers)).json()
    assert listing["total"] == 1 and listing["limit"] == 20 and listing["offset"] == 0
    item = listing["items"][0]
    assert item["id"] == key["id"] and item["last_used_at"] is not None
    assert "key" not in item and "key_hash" not in item

    assert (await api.client.delete(f"/api/v1/auth/api-keys/{key['id']}", headers=headers)).status_code == 204
    revoked = await api.client.get("/api/v1/auth/me", headers={"X-API-Key": key["key"]})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert (await api.client.delete(f"/api/v1/auth/api-keys/{key['id']}", headers=headers)).status_code == 404


async def test_api_key_as_bearer_token_for_the_deploy_smoke_check(api):
    # The deploy's authenticated smoke check sends `Authorization: Bearer <secret>` to
    # GET /api/v1/auth/me; a long-lived API key stored as a CI secret must work there.
    headers = await api.signup()
    key = (await api.client.post("/api/v1/auth/api-keys", json={"name": "smoke"}, headers=headers)).json()
    me = await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key['key']}"})
    assert me.status_code == 200 and me.json()["email"].endswith("@example.com")
    unknown = await api.client.get("/api/v1/auth/me", headers={"Authorization": "Bearer bca_not-a-real-key"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == "invalid or revoked API key"
    assert unknown.headers["www-authenticate"] == "Bearer"
    await api.client.delete(f"/api/v1/auth/api-keys/{key['id']}", headers=headers)
    revoked = await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key['key']}"})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    nothing = await api.client.get("/api/v1/auth/me")
    assert nothing.status_code == 401 and "Bearer <token or API key>" in nothing.json()["detail"]


async def test_api_key_of_another_user_cannot_be_deleted(api):
    alice, bob = await api.signup(), await api.signup()
    key = (await api.client.post("/api/v1/auth/api-keys", json={"name": "a"}, headers=alice)).json()
    assert (await api.client.delete(f"/api/v1/auth/api-keys/{key['id']}", headers=bob)).status_code == 404
    assert (await api.client.get("/api/v1/auth/me", headers={"X-API-Key": key["key"]})).status_code == 200


async def test_api_key_name_is_required(api):
    headers = await api.signup()
    response = await api.client.post("/api/v1/auth/api-keys", json={"name": ""}, headers=headers)
    assert response.status_code == 422


async def test_export_contains_all_user_data_without_secrets(api):
    headers = await api.signup("export@example.com")
    await api.client.post("/api/v1/auth/api-keys", json={"name": "k"}, headers=headers)
    document = await api.upload(headers, "notes.txt", b"Gardening needs water. Tomatoes love the sun. Soil matters a lot.")
    await api.client.post("/api/v1/drafts/generate", json={"document_ids": [document["id"]]}, headers=headers)
    response = await api.client.get("/api/v1/auth/me/export", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == "export@example.com"
    assert "password_hash" not in response.text and "key_hash" not in response.text
    assert [k["name"] for k in body["api_keys"]] == ["k"]
    assert body["documents"][0]["text"].startswith("Gardening needs water")
    assert len(body["drafts"]) == 1 and body["drafts"][0]["sources"][0]["document_id"] == document["id"]


async def test_erasure_removes_user_data_and_search_entries(api):
    headers = await api.signup("gone@example.com")
    user = await api.state.backends.store.get_user_by_email("gone@example.com")
    await api.upload(headers, "a.md", b"Zebras graze on the savanna. Zebras have stripes.")
    assert await api.state.backends.index.search(user.id, "zebras", 5)
    assert (await api.client.delete("/api/v1/auth/me", headers=headers)).status_code == 204
    assert (await api.client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    assert await api.state.backends.index.search(user.id, "zebras", 5) == []
    assert await api.state.backends.store.get_user(user.id) is None
    assert await api.state.backends.store.list_documents(user.id, 10, 0) == ([], 0)
    # The e-mail address is free again.
    await api.signup("gone@example.com")


async def test_auth_rate_limit_returns_429_with_retry_after(make_api):
    api = await make_api(rate_limit_auth_requests=3)
    payload = {"email": "rl@example.com", "password": "wrong-pass"}
    statuses = [(await api.client.post(LOGIN, json=payload)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = await api.client.post(LOGIN, json=payload)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "rate limit exceeded" in response.json()["detail"]


async def test_rate_limit_can_be_disabled(make_api):
    api = await make_api(rate_limit_auth_requests=1, rate_limit_enabled=False)
    payload = {"email": "rl@example.com", "password": "wrong-pass"}
    assert [(await api.client.post(LOGIN, json=payload)).status_code for _ in range(3)] == [401] * 3


async def test_index_is_owner_scoped_at_the_storage_level(api):
    index = api.state.backends.index
    await index.index_chunks("owner-a", [Chunk(document_id="d1", filename="f", chunk_index=0, text="shared words here")])
    assert await index.search("owner-b", "shared words", 5) == []
    assert len(await index.search("owner-a", "shared words", 5)) == 1
