"""The Elasticsearch index adapter against a REAL Elasticsearch (never a fake).

Runs only when ELASTICSEARCH_URL points at a running server (the Dagger `test` function or
.ci/run provide one where it can run). When it is set, the whole API suite also runs on the
"redis+elasticsearch" backend (see conftest.BACKENDS).
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError

from app.models import Chunk
from app.storage.elastic import _SCAN_PAGE, ElasticSearchIndex, IndexConfigurationError, IndexUnhealthyError, mappings

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
    assert mapping[index.index]["mappings"]["properties"] == mappings("standard")["properties"]
    assert mapping[index.index]["mappings"]["dynamic"] == "strict"
    settings = await index.client.indices.get_settings(index=index.index)
    assert settings[index.index]["settings"]["index"]["number_of_replicas"] == "0"
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


async def test_analyzer_and_replicas_are_configurable():
    name = f"test-adapter-{uuid.uuid4().hex[:8]}"
    search_index = await ElasticSearchIndex.open(URL, name, analyzer="whitespace", replicas=0, refresh_interval="200ms")  # type: ignore[arg-type]
    try:
        mapping = await search_index.client.indices.get_mapping(index=name)
        assert mapping[name]["mappings"]["properties"]["text"]["analyzer"] == "whitespace"
        settings = await search_index.client.indices.get_settings(index=name)
        assert settings[name]["settings"]["index"]["refresh_interval"] == "200ms"
        # whitespace keeps case and punctuation: "Tomatoes," is one term, "tomatoes" another.
        await search_index.index_chunks("dave", _chunks("case", ["Tomatoes, basil."]))
        assert await search_index.search("dave", "tomatoes", 5) == []
        assert [h.document_id for h in await search_index.search("dave", "Tomatoes,", 5)] == ["case"]
    finally:
        await search_index.client.indices.delete(index=name, ignore_unavailable=True)
        await search_index.close()


async def test_unknown_analyzer_is_a_clear_configuration_error():
    name = f"test-adapter-{uuid.uuid4().hex[:8]}"
    with pytest.raises(IndexConfigurationError, match="ELASTICSEARCH_ANALYZER='no_such_analyzer'") as caught:
        await ElasticSearchIndex.open(URL, name, analyzer="no_such_analyzer")  # type: ignore[arg-type]
    assert "no_such_analyzer" in str(caught.value)
    async with AsyncElasticsearch(URL) as client:  # type: ignore[arg-type]
        assert not await client.indices.exists(index=name)


async def test_replicas_starting_together_all_find_the_index():
    name = f"test-adapter-{uuid.uuid4().hex[:8]}"
    async with AsyncElasticsearch(URL) as client:  # type: ignore[arg-type]
        replicas = [ElasticSearchIndex(client, name) for _ in range(4)]
        try:
            # All check "exists" before any creates: the losers get resource_already_exists.
            await asyncio.gather(*(replica.ensure_index() for replica in replicas))
            assert await client.indices.exists(index=name)
        finally:
            await client.indices.delete(index=name, ignore_unavailable=True)


async def test_deletes_page_through_many_chunks_and_keep_other_owners(index):
    # More chunks than one scroll page and one bulk request hold: nothing may be left behind.
    many = [f"Walrus note number {i}." for i in range(2 * _SCAN_PAGE + 137)]
    await index.index_chunks("erin", _chunks("big", many[: len(many) // 2]))
    await index.index_chunks("erin", _chunks("bigger", many[len(many) // 2 :]))
    await index.index_chunks("frank", _chunks("franks", ["Frank's walrus note."]))
    assert await index._delete_where([{"term": {"user_id": "erin"}}]) == len(many)
    assert (await index.client.count(index=index.index, query={"term": {"user_id": "erin"}}))["count"] == 0
    assert [h.document_id for h in await index.search("frank", "walrus", 5)] == ["franks"]
    assert await index._delete_where([{"term": {"user_id": "erin"}}]) == 0


async def test_delete_on_a_missing_index_is_a_no_op(index):
    await index.client.indices.delete(index=index.index)
    await index.delete_document("gina", "gone")
    await index.delete_user("gina")


async def test_ping_fails_when_the_index_is_missing_or_red(index):
    await index.client.indices.delete(index=index.index)
    with pytest.raises(ApiError):  # 408: the index never appeared within the health timeout
        await index.ping()
    await _make_red(index)
    with pytest.raises(IndexUnhealthyError, match="is red"):
        await index.ping()


async def _make_red(index: ElasticSearchIndex) -> None:
    """Recreate the index with its primary shard bound to a node that does not exist."""
    await index.client.indices.delete(index=index.index, ignore_unavailable=True)
    await index.client.indices.create(
        index=index.index,
        mappings=mappings("standard"),
        settings={"number_of_replicas": 0, "index.routing.allocation.require._name": "no-such-node"},
        wait_for_active_shards="0",
    )


@pytest.mark.parametrize("make_api", ["redis+elasticsearch"], indirect=True)
async def test_api_answers_503_naming_elasticsearch_when_the_index_is_red(make_api):
    api = await make_api()
    headers = await api.signup()
    await _make_red(api.state.backends.index)
    search = await api.client.post("/api/v1/documents/search", json={"query": "walrus", "k": 5}, headers=headers)
    assert search.status_code == 503
    assert search.json() == {"detail": "elasticsearch is unavailable, retry later"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable: elasticsearch"
    assert ready.json()["checks"]["elasticsearch"] == "unavailable: IndexUnhealthyError"


@pytest.mark.parametrize("make_api", ["redis+elasticsearch"], indirect=True)
async def test_other_elasticsearch_errors_stay_server_errors(make_api):
    # A 4xx from Elasticsearch is a bug or an operator mistake (here: the index was deleted
    # underneath the app), not an outage to retry: it is not reported as "unavailable".
    api = await make_api()
    headers = await api.signup()
    index = api.state.backends.index
    await index.client.indices.delete(index=index.index)
    with pytest.raises(NotFoundError):
        await api.client.post("/api/v1/documents/search", json={"query": "walrus", "k": 5}, headers=headers)
