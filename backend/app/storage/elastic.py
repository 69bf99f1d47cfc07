"""Production search index in Elasticsearch (BM25 + highlighting), owner-filtered."""

from __future__ import annotations

from elasticsearch import AsyncElasticsearch, NotFoundError
from elasticsearch.helpers import async_bulk

from app.models import Chunk, SearchHit
from app.text import render_snippet

_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"

MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "user_id": {"type": "keyword"},
        "document_id": {"type": "keyword"},
        "filename": {"type": "keyword"},
        "chunk_index": {"type": "integer"},
        "text": {"type": "text", "analyzer": "english"},
    },
}


class ElasticSearchIndex:
    name = "elasticsearch"

    def __init__(self, client: AsyncElasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    @classmethod
    async def open(cls, url: str, index: str, api_key: str | None = None) -> ElasticSearchIndex:
        client = AsyncElasticsearch(url, api_key=api_key, request_timeout=10, retry_on_timeout=True)
        search_index = cls(client, index)
        await search_index.ensure_index()
        return search_index

    async def ensure_index(self) -> None:
        if not await self.client.indices.exists(index=self.index):
            await self.client.indices.create(index=self.index, mappings=MAPPINGS, settings={"number_of_replicas": 0})

    async def ping(self) -> None:
        await self.client.cluster.health(index=self.index)

    async def close(self) -> None:
        await self.client.close()

    async def index_chunks(self, user_id: str, chunks: list[Chunk]) -> None:
        actions = (
            {
                "_index": self.index,
                "_id": f"{chunk.document_id}:{chunk.chunk_index}",
                "_source": {"user_id": user_id, **chunk.model_dump()},
            }
            for chunk in chunks
        )
        await async_bulk(self.client, actions, refresh="wait_for")

    async def search(self, user_id: str, query: str, k: int, document_ids: list[str] | None = None) -> list[SearchHit]:
        filters: list[dict[str, object]] = [{"term": {"user_id": user_id}}]
        if document_ids:
            filters.append({"terms": {"document_id": document_ids}})
        response = await self.client.search(
            index=self.index,
            size=k,
            query={"bool": {"must": {"match": {"text": query}}, "filter": filters}},
            highlight={
                "fields": {"text": {"fragment_size": 240, "number_of_fragments": 1, "no_match_size": 240}},
                "pre_tags": [_MARK_OPEN],
                "post_tags": [_MARK_CLOSE],
            },
        )
        hits = []
        for hit in response["hits"]["hits"]:
            source = hit["_source"]
            fragment = (hit.get("highlight", {}).get("text") or [source["text"][:240]])[0]
            hits.append(
                SearchHit(
                    document_id=source["document_id"],
                    filename=source["filename"],
                    chunk_index=source["chunk_index"],
                    score=round(float(hit["_score"]), 6),
                    snippet=render_snippet(fragment, _MARK_OPEN, _MARK_CLOSE),
                    text=source["text"],
                )
            )
        return hits

    async def delete_document(self, user_id: str, document_id: str) -> None:
        await self._delete_where([{"term": {"user_id": user_id}}, {"term": {"document_id": document_id}}])

    async def delete_user(self, user_id: str) -> None:
        await self._delete_where([{"term": {"user_id": user_id}}])

    async def _delete_where(self, filters: list[dict[str, object]]) -> None:
        try:
            await self.client.delete_by_query(
                index=self.index, query={"bool": {"filter": filters}}, refresh=True, conflicts="proceed"
            )
        except NotFoundError:  # index removed underneath us: nothing left to delete
            return
