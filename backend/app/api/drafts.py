"""Generate drafts from documents, edit them and export them as Markdown."""

from __future__ import annotations

import re
import time
import unicodedata

from fastapi import APIRouter, HTTPException, Response, status

from app.api.deps import CurrentUser, Paging, State, enforce_rate_limit
from app.generation.base import GenerationRequest, ProviderError, SourceText
from app.metrics import GENERATION
from app.models import Draft, Source, utcnow
from app.schemas import DraftOut, DraftUpdate, GenerateIn, Page

router = APIRouter(prefix="/drafts", tags=["drafts"])
PASSAGES = 12


@router.post("/generate", status_code=201, response_model=DraftOut)
async def generate_draft(body: GenerateIn, user: CurrentUser, state: State) -> Draft:
    await enforce_rate_limit(state, "generate", user.id, state.settings.rate_limit_generate_requests)
    store, index = state.backends.store, state.backends.index
    sources: list[SourceText] = []
    for document_id in body.document_ids:
        document = await store.get_document(user.id, document_id)
        if document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"document {document_id} not found")
        sources.append(SourceText(document.id, document.filename, document.text))
    numbers = {source.document_id: n for n, source in enumerate(sources, start=1)}
    passages: list[tuple[int, str]] = []
    if body.topic and body.topic.strip():
        hits = await index.search(user.id, body.topic, PASSAGES, body.document_ids)
        passages = [(numbers[hit.document_id], hit.text) for hit in hits]
    request = GenerationRequest(sources, passages, body.topic, body.tone, body.length)

    provider = state.provider
    started = time.perf_counter()
    try:
        generated = await provider.generate(request)
    except ProviderError as error:
        GENERATION.labels(provider.name, "error").observe(time.perf_counter() - started)
        raise HTTPException(error.status_code, error.detail) from error
    GENERATION.labels(provider.name, "ok").observe(time.perf_counter() - started)

    now = utcnow()
    draft = Draft(
        user_id=user.id,
        created_at=now,
        updated_at=now,
        title=generated.title[:300],
        content=generated.content,
        tags=generated.tags,
        sources=[Source(document_id=s.document_id, filename=s.filename) for s in sources],
    )
    await store.create_draft(draft)
    return draft


@router.get("", response_model=Page[DraftOut])
async def list_drafts(user: CurrentUser, state: State, page: Paging) -> dict[str, object]:
    items, total = await state.backends.store.list_drafts(user.id, page.limit, page.offset)
    return {"items": [i.model_dump() for i in items], "total": total, "limit": page.limit, "offset": page.offset}


async def _owned(state: State, user_id: str, draft_id: str) -> Draft:
    draft = await state.backends.store.get_draft(user_id, draft_id)
    if draft is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "draft not found")
    return draft


@router.get("/{draft_id}", response_model=DraftOut)
async def get_draft(draft_id: str, user: CurrentUser, state: State) -> Draft:
    return await _owned(state, user.id, draft_id)


@router.put("/{draft_id}", response_model=DraftOut)
async def update_draft(draft_id: str, body: DraftUpdate, user: CurrentUser, state: State) -> Draft:
    draft = await _owned(state, user.id, draft_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    updated = draft.model_copy(update={**changes, "updated_at": utcnow()})
    await state.backends.store.update_draft(updated)
    return updated


@router.delete("/{draft_id}", status_code=204)
async def delete_draft(draft_id: str, user: CurrentUser, state: State) -> Response:
    if not await state.backends.store.delete_draft(user.id, draft_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "draft not found")
    return Response(status_code=204)


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80] or "draft"


def _yaml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


@router.get("/{draft_id}/export")
async def export_draft(draft_id: str, user: CurrentUser, state: State) -> Response:
    draft = await _owned(state, user.id, draft_id)
    front_matter = [
        "---",
        "layout: post",
        f"title: {_yaml_string(draft.title)}",
        f"date: {draft.created_at.strftime('%Y-%m-%d %H:%M:%S +0000')}",
        "tags: [" + ", ".join(_yaml_string(tag) for tag in draft.tags) + "]",
        "---",
        "",
    ]
    filename = f"{slugify(draft.title)}.md"
    return Response(
        "\n".join(front_matter) + draft.content,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
