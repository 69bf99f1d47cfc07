"""Accounts, tokens, API keys and the user's privacy rights (export, erasure)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response, status

from app.api.deps import CurrentUser, Paging, State, auth_rate_limit
from app.logs import audit
from app.models import ApiKey, User
from app.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    LoginIn,
    Page,
    RefreshIn,
    RegisterIn,
    TokenOut,
    UserExport,
    UserOut,
)
from app.security import (
    InvalidTokenError,
    create_token,
    decode_token,
    hash_password,
    new_api_key,
    verify_password,
)
from app.storage.base import EmailTakenError

router = APIRouter(prefix="/auth", tags=["auth"])
EXPORT_PAGE = 100


def _tokens(state: State, user_id: str) -> TokenOut:
    settings = state.settings
    secret = settings.jwt_secret.get_secret_value()
    return TokenOut(
        access_token=create_token(user_id, "access", secret, settings.access_token_ttl_seconds),
        refresh_token=create_token(user_id, "refresh", secret, settings.refresh_token_ttl_seconds),
        expires_in=settings.access_token_ttl_seconds,
    )


@router.post("/register", status_code=201, response_model=UserOut, dependencies=[Depends(auth_rate_limit)])
async def register(body: RegisterIn, state: State) -> User:
    user = User(email=body.email.lower(), full_name=body.full_name.strip(), password_hash=await hash_password(body.password))
    try:
        await state.backends.store.create_user(user)
    except EmailTakenError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, "this e-mail address is already registered") from error
    audit("user.registered", user_id=user.id)
    return user


@router.post("/login", response_model=TokenOut, dependencies=[Depends(auth_rate_limit)])
async def login(body: LoginIn, state: State) -> TokenOut:
    user = await state.backends.store.get_user_by_email(body.email.lower())
    if not await verify_password(body.password, user.password_hash if user else None) or user is None:
        audit("auth.login_failed", email_domain=body.email.rsplit("@", 1)[-1])
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect e-mail or password")
    audit("auth.login", user_id=user.id)
    return _tokens(state, user.id)


@router.post("/refresh", response_model=TokenOut, dependencies=[Depends(auth_rate_limit)])
async def refresh(body: RefreshIn, state: State) -> TokenOut:
    store = state.backends.store
    try:
        claims = decode_token(body.refresh_token, state.settings.jwt_secret.get_secret_value(), "refresh")
    except InvalidTokenError as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"refresh failed: {error}") from error
    if not await store.revoke_token(claims.jti, claims.expires_at):
        audit("auth.refresh_reused", user_id=claims.user_id)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "refresh failed: token already used or revoked")
    if await store.get_user(claims.user_id) is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "refresh failed: user no longer exists")
    return _tokens(state, claims.user_id)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> User:
    return user


@router.get("/me/export", response_model=UserExport)
async def export_me(user: CurrentUser, state: State) -> UserExport:
    store = state.backends.store
    keys = await _all(store.list_api_keys, user.id)
    documents = [await store.get_document(user.id, document.id) for document in await _all(store.list_documents, user.id)]
    drafts = await _all(store.list_drafts, user.id)
    audit("privacy.export", user_id=user.id)
    return UserExport.model_validate(
        {
            "user": user.model_dump(),
            "api_keys": [k.model_dump() for k in keys],
            "documents": [d.model_dump() for d in documents if d is not None],
            "drafts": [d.model_dump() for d in drafts],
        }
    )


async def _all(list_page, user_id: str) -> list:  # type: ignore[no-untyped-def]
    items: list = []
    while True:
        page, total = await list_page(user_id, EXPORT_PAGE, len(items))
        items.extend(page)
        if not page or len(items) >= total:
            return items


@router.delete("/me", status_code=204)
async def erase_me(user: CurrentUser, state: State) -> Response:
    await state.backends.index.delete_user(user.id)
    await state.backends.store.delete_user(user.id)
    audit("privacy.erasure", user_id=user.id)
    return Response(status_code=204)


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(body: ApiKeyIn, user: CurrentUser, state: State) -> ApiKeyCreated:
    key, prefix, key_hash = new_api_key()
    record = ApiKey(user_id=user.id, name=body.name.strip(), prefix=prefix, key_hash=key_hash)
    await state.backends.store.create_api_key(record)
    audit("apikey.created", user_id=user.id, key_id=record.id, prefix=prefix)
    return ApiKeyCreated(id=record.id, name=record.name, prefix=prefix, created_at=record.created_at, key=key)


@router.get("/api-keys", response_model=Page[ApiKeyOut])
async def list_api_keys(user: CurrentUser, state: State, page: Paging) -> dict[str, object]:
    items, total = await state.backends.store.list_api_keys(user.id, page.limit, page.offset)
    return {"items": [i.model_dump() for i in items], "total": total, "limit": page.limit, "offset": page.offset}


@router.delete("/api-keys/{key_id}", status_code=204)
async def delete_api_key(key_id: str, user: CurrentUser, state: State) -> Response:
    if not await state.backends.store.delete_api_key(user.id, key_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "API key not found")
    audit("apikey.revoked", user_id=user.id, key_id=key_id)
    return Response(status_code=204)
