"""The Elasticsearch index adapter against a REAL Elasticsearch (never a fake).

Runs only when ELASTICSEARCH_URL points at a running server (the Dagger `test` function or
.ci/run provide one where it can run). When it is set, the whole API suite also runs on the
"redis+elasticsearch" backend (see conftest.BACKENDS).
"""

from __future__ import annotations

import os
import uuid

import pytest

from app.models import Chunk
from app.storage.elastic import MAPPINGS, ElasticSearchIndex

URL = os.environ.get("ELASTICSEARCH_URL")
pytestmark = pytest.mark.skipif(not URL, reason="ELASTICSEARCH_URL not set: no Elasticsearch server to test against")


@pytest.fixture
async def index():
    name = f"test-adapter-{uuid.uuid4().hex[:8]}"
    search_index = await ElasticSearchIndex.open(URL, name)  # type: ignore[arg-type]
    yield search_index
    await search_index.client.indices.delete(index=name, ignore_unavailable=True)
    await search_index.close()


def _chunks(document_id: str, texts: list[str]) -> list[Chunk]:
    return [Chunk(document_id=document_id, filename=f"{document_id}.md", chunk_index=i, text=t) for i, t in enumerate(texts)]


async def test_index_is_created_with_explicit_mappings(index):
    mapping = await index.client.indices.get_mapping(index=index.index)
    assert mapping[index.index]["mappings"]["properties"] == MAPPINGS["properties"]
    await index.ensure_index()  # idempotent
    await index.ping()


async def test_search_ranks_highlights_and_filters_by_owner(index):
    await index.index_chunks("alice", _chunks("garden", ["Tomatoes love sun and <b>water</b>.", "Compost feeds the soil."]))
    await index.index_chunks("alice", _chunks("engine", ["Engines need oil. Tomatoes are not engines."]))
    await index.index_chunks("bob", _chunks("bobs", ["Bob also grows tomatoes."]))
    hits = await index.search("alice", "tomatoes water", 5)
    assert [h.document_id for h in hits][:1] == ["garden"]
    assert {h.document_id for h in hits} == {"garden", "engine"}
    assert "<mark>Tomatoes</mark>" in hits[0].snippet and "&lt;b&gt;" in hits[0].snippet
    assert hits[0].score >= hits[-1].score
    assert [h.document_id for h in await index.search("alice", "tomatoes", 5, ["engine"])] == ["engine"]


async def test_delete_document_and_user(index):
    await index.index_chunks("carol", _chunks("one", ["Unique walrus facts."]))
    await index.index_chunks("carol", _chunks("two", ["More walrus facts."]))
    await index.delete_document("carol", "one")
    assert [h.document_id for h in await index.search("carol", "walrus", 5)] == ["two"]
    await index.delete_user("carol")
    assert await index.search("carol", "walrus", 5) == []
