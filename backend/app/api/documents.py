"""Upload, list, read, delete and search the user's documents."""

from __future__ import annotations

import contextlib

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Response, UploadFile, status

from app.api.deps import CurrentUser, Paging, State
from app.models import Chunk, Document
from app.schemas import DocumentOut, DocumentWithText, Page, SearchIn, SearchOut
from app.text import (
    UnreadableDocumentError,
    UnsupportedTypeError,
    chunk_text,
    detect_type,
    extract_text,
    safe_filename,
)

router = APIRouter(prefix="/documents", tags=["documents"])


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"file too large: the limit is {limit} bytes (MAX_UPLOAD_BYTES)",
        )
    return data


@router.post("", status_code=201, response_model=DocumentOut)
async def upload_document(file: UploadFile, user: CurrentUser, state: State) -> Document:
    settings = state.settings
    filename = safe_filename(file.filename)
    try:
        content_type = detect_type(filename)
    except UnsupportedTypeError as error:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(error)) from error
    data = await _read_limited(file, settings.max_upload_bytes)
    try:
        text = await anyio.to_thread.run_sync(extract_text, data, content_type)
    except UnreadableDocumentError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{filename}: {error}") from error
    pieces = chunk_text(text, settings.chunk_size_chars)
    document = Document(
        user_id=user.id,
        filename=filename,
        content_type=content_type,
        size_bytes=len(data),
        chunk_count=len(pieces),
        text=text,
    )
    await state.backends.store.create_document(document)
    chunks = [Chunk(document_id=document.id, filename=filename, chunk_index=i, text=t) for i, t in enumerate(pieces)]
    try:
        await state.backends.index.index_chunks(user.id, chunks)
    except Exception:
        # Never keep a document the search index does not fully know about, nor chunks of a
        # document that was not stored (a bulk request can fail part-way).
        with contextlib.suppress(Exception):
            await state.backends.index.delete_document(user.id, document.id)
        await state.backends.store.delete_document(user.id, document.id)
        raise
    return document


@router.get("", response_model=Page[DocumentOut])
async def list_documents(user: CurrentUser, state: State, page: Paging) -> dict[str, object]:
    items, total = await state.backends.store.list_documents(user.id, page.limit, page.offset)
    return {"items": [i.model_dump() for i in items], "total": total, "limit": page.limit, "offset": page.offset}


@router.post("/search", response_model=SearchOut)
async def search_documents(body: SearchIn, user: CurrentUser, state: State) -> dict[str, object]:
    hits = await state.backends.index.search(user.id, body.query, body.k)
    return {"results": [hit.model_dump() for hit in hits]}


@router.get("/{document_id}", response_model=DocumentWithText)
async def get_document(document_id: str, user: CurrentUser, state: State) -> Document:
    document = await state.backends.store.get_document(user.id, document_id)
    if document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "document not found")
    return document


@router.delete("/{document_id}", status_code=204)
async def delete_document(document_id: str, user: CurrentUser, state: State) -> Response:
    store, index = state.backends.store, state.backends.index
    if await store.get_document(user.id, document_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "document not found")
    # Index first: if that fails the document still exists and the DELETE can be retried,
    # instead of leaving searchable chunks of a deleted document behind.
    await index.delete_document(user.id, document_id)
    await store.delete_document(user.id, document_id)
    return Response(status_code=204)
