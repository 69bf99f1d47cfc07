"""Every authenticated endpoint × {no credentials, another user's token, revoked API key,
expired token, forged token} against the real backend: 401 or 404, and never the owner's data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from hostile_support import API, Backend, User, register

PUBLIC = {("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh")}
OPERATIONS = [
    ("GET", "/auth/me"),
    ("GET", "/auth/me/export"),
    ("DELETE", "/auth/me"),
    ("POST", "/auth/api-keys"),
    ("GET", "/auth/api-keys"),
    ("DELETE", "/auth/api-keys/{key_id}"),
    ("POST", "/documents"),
    ("GET", "/documents"),
    ("POST", "/documents/search"),
    ("GET", "/documents/{document_id}"),
    ("DELETE", "/documents/{document_id}"),
    ("POST", "/drafts/generate"),
    ("GET", "/drafts"),
    ("GET", "/drafts/{draft_id}"),
    ("PUT", "/drafts/{draft_id}"),
    ("DELETE", "/drafts/{draft_id}"),
    ("GET", "/drafts/{draft_id}/export"),
]
SECRET_WORD = "zanzibarquokka"  # only in the owner's document: must never reach anyone else


class Owner:
    """A user with a document, a draft and an API key, plus a revoked key."""

    def __init__(self, backend: Backend) -> None:
        self.user = register(backend, "owner")
        with backend.client(**self.user.headers) as client:
            text = f"# Private notes\n\nThe {SECRET_WORD} migrates at dawn. Nobody else may read this.\n"
            document = client.post(f"{API}/documents", files={"file": ("private.md", text.encode())})
            assert document.status_code == 201, document.text
            self.document_id = document.json()["id"]
            draft = client.post(f"{API}/drafts/generate", json={"document_ids": [self.document_id]})
            assert draft.status_code == 201, draft.text
            self.draft_id = draft.json()["id"]
            key = client.post(f"{API}/auth/api-keys", json={"name": "live"}).json()
            self.key_id = key["id"]
            revoked = client.post(f"{API}/auth/api-keys", json={"name": "revoked"}).json()
            assert client.get(f"{API}/auth/me", headers={"X-API-Key": revoked["key"]}).status_code == 200
            assert client.delete(f"{API}/auth/api-keys/{revoked['id']}").status_code == 204
            self.revoked_key = revoked["key"]

    @property
    def ids(self) -> dict[str, str]:
        return {"document_id": self.document_id, "draft_id": self.draft_id, "key_id": self.key_id}


@pytest.fixture(scope="module")
def owner(backend: Backend) -> Owner:
    return Owner(backend)


@pytest.fixture(scope="module")
def intruder(backend: Backend) -> User:
    return register(backend, "intruder")


def token(backend: Backend, user_id: str, *, expires_in: timedelta, secret: str | None = None) -> str:
    now = datetime.now(UTC)
    claims = {"sub": user_id, "type": "access", "jti": uuid.uuid4().hex, "iat": now - timedelta(hours=1), "exp": now + expires_in}
    return jwt.encode(claims, secret or backend.jwt_secret, algorithm="HS256")


def request(client: httpx.Client, method: str, path: str, ids: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    url = API + path.format(**ids)
    kwargs: dict[str, object] = {"headers": headers}
    if path == "/documents" and method == "POST":
        kwargs["files"] = {"file": ("intruder.md", b"# Planted\n\nA document planted by someone else.\n")}
    elif path == "/documents/search":
        kwargs["json"] = {"query": SECRET_WORD}
    elif path == "/drafts/generate":
        kwargs["json"] = {"document_ids": [ids["document_id"]]}
    elif path == "/auth/api-keys" and method == "POST":
        kwargs["json"] = {"name": "stolen"}
    elif method == "PUT":
        kwargs["json"] = {"title": "Defaced", "content": "defaced"}
    return client.request(method, url, **kwargs)  # type: ignore[arg-type]


def test_matrix_covers_every_authenticated_operation(backend: Backend) -> None:
    with backend.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith(API)} - PUBLIC
    assert documented == {(m, API + p) for m, p in OPERATIONS}


CREDENTIALS = ["none", "expired token", "forged token", "refresh token as access", "revoked API key", "malformed header"]


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_bad_credentials_get_401_and_no_data(backend: Backend, owner: Owner, credential: str, method: str, path: str) -> None:
    headers = {
        "none": {},
        "expired token": {"Authorization": f"Bearer {token(backend, owner.user.id, expires_in=timedelta(seconds=-30))}"},
        "forged token": {"Authorization": f"Bearer {token(backend, owner.user.id, expires_in=timedelta(minutes=5), secret='x' * 64)}"},
        "refresh token as access": {"Authorization": f"Bearer {jwt.encode({'sub': owner.user.id, 'type': 'refresh', 'jti': 'r', 'exp': datetime.now(UTC) + timedelta(minutes=5)}, backend.jwt_secret, algorithm='HS256')}"},
        "revoked API key": {"X-API-Key": owner.revoked_key},
        "malformed header": {"Authorization": f"Basic {owner.user.token}"},
    }[credential]
    with backend.client() as client:
        response = request(client, method, path, owner.ids, headers)
    assert response.status_code == 401, f"{method} {path} with {credential}: {response.status_code} {response.text}"
    assert response.headers.get("www-authenticate") == "Bearer"
    assert set(response.json()) == {"detail"}
    assert owner.user.email not in response.text and SECRET_WORD not in response.text


# DELETE /auth/me acts on the caller only: the intruder erasing itself is the last test.
CROSS_USER = [op for op in OPERATIONS if op != ("DELETE", "/auth/me")]


@pytest.mark.parametrize(("method", "path"), CROSS_USER, ids=[f"{m} {p}" for m, p in CROSS_USER])
def test_another_user_never_sees_or_touches_the_owners_data(
    backend: Backend, owner: Owner, intruder: User, method: str, path: str
) -> None:
    with backend.client() as client:
        response = request(client, method, path, owner.ids, intruder.headers)
    text = response.text
    assert owner.user.email not in text and owner.user.id not in text and SECRET_WORD not in text
    if "{" in path or path == "/drafts/generate":
        # Someone else's id is indistinguishable from a missing one.
        assert response.status_code == 404, f"{method} {path}: {response.status_code} {text}"
    else:
        assert response.status_code in {200, 201}, f"{method} {path}: {response.status_code} {text}"
    if path == "/documents/search":
        assert response.json()["results"] == []


def test_owner_data_intact_after_the_attacks(backend: Backend, owner: Owner, intruder: User) -> None:
    with backend.client(**intruder.headers) as client:
        assert client.delete(f"{API}/auth/me").status_code == 204
        assert client.get(f"{API}/auth/me").status_code == 401  # the intruder's token died with the account
    with backend.client(**owner.user.headers) as client:
        assert client.get(f"{API}/documents/{owner.document_id}").json()["text"].count(SECRET_WORD) == 1
        draft = client.get(f"{API}/drafts/{owner.draft_id}").json()
        assert draft["title"] != "Defaced" and draft["content"] != "defaced"
        keys = client.get(f"{API}/auth/api-keys").json()
        assert [k["id"] for k in keys["items"]] == [owner.key_id]
        assert [d["filename"] for d in client.get(f"{API}/documents").json()["items"]] == ["private.md"]
        search = client.post(f"{API}/documents/search", json={"query": SECRET_WORD}).json()["results"]
        assert [hit["document_id"] for hit in search] == [owner.document_id]
