"""Production search index in Elasticsearch (BM25 + highlighting), owner-filtered.

Uses only core Elasticsearch APIs (index/mapping, bulk, search, scroll, cluster health), so it
works on every distribution, including nodes without the `reindex` module (no
`_delete_by_query`) or the `analysis-common` module (no language analyzers): see README.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from elastic_transport import HttpxAsyncHttpNode, TlsError
from elastic_transport.client_utils import DEFAULT
from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError
from elasticsearch.helpers import async_bulk, async_scan

from app.models import Chunk, SearchHit
from app.text import render_snippet

# Private-use characters, not control characters: Elasticsearch trims highlight fragments,
# which dropped a leading "\x02" marker (seen on 9.5).
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
# Chunks per bulk request; each upload's bulk is sent with refresh=wait_for, so fewer and
# larger requests keep an upload to about one refresh interval (1 s) of waiting.
_BULK_CHUNKS = 5000
_BULK_MAX_BYTES = 20 * 1024 * 1024
_SCAN_PAGE = 1000  # ids fetched per scroll page when deleting
_HEALTH_TIMEOUT = "1s"  # a missing index answers 408 after this instead of hanging readiness


class IndexConfigurationError(RuntimeError):
    """The index cannot be created with the configured settings (names the variable)."""


class IndexUnhealthyError(RuntimeError):
    """Cluster health reports the index red: some primary shard is not allocated."""


def mappings(analyzer: str) -> dict[str, object]:
    """Explicit mappings; unknown fields are rejected instead of guessed."""
    return {
        "dynamic": "strict",
        "properties": {
            "user_id": {"type": "keyword"},
            "document_id": {"type": "keyword"},
            "filename": {"type": "keyword"},
            "chunk_index": {"type": "integer"},
            "text": {"type": "text", "analyzer": analyzer},
        },
    }


class ElasticSearchIndex:
    name = "elasticsearch"

    def __init__(
        self,
        client: AsyncElasticsearch,
        index: str,
        analyzer: str = "standard",
        replicas: int = 0,
        refresh_interval: str | None = None,
    ) -> None:
        self.client = client
        self.index = index
        self.analyzer = analyzer
        self.replicas = replicas
        self.refresh_interval = refresh_interval

    @classmethod
    async def open(
        cls,
        url: str,
        index: str,
        api_key: str | None = None,
        analyzer: str = "standard",
        replicas: int = 0,
        refresh_interval: str | None = None,
        ca_certs: str | None = None,
    ) -> ElasticSearchIndex:
        """Connect and make sure the index exists. `ca_certs`: PEM file of the CA that signed
        the server's certificate (None: certifi's public CAs)."""
        # httpx transport: the app already ships httpx, so aiohttp (the default) is not installed.
        client = AsyncElasticsearch(
            url,
            api_key=api_key,
            # DEFAULT: the client's own trust store (certifi's public CAs).
            ca_certs=ca_certs or DEFAULT,
            request_timeout=10,
            retry_on_timeout=True,
            node_class=HttpxAsyncHttpNode,
        )
        search_index = cls(client, index, analyzer, replicas, refresh_interval)
        try:
            await search_index.ensure_index()
        except TlsError as error:
            await client.close()
            trusted = f"the CA in ELASTICSEARCH_CA_CERTS={ca_certs}" if ca_certs else "the default trust store (certifi's CAs)"
            raise IndexConfigurationError(
                f"cannot verify the TLS certificate of ELASTICSEARCH_URL={url} with {trusted}: {error}. "
                "Set ELASTICSEARCH_CA_CERTS to the PEM file of the CA that signed the cluster's certificate "
                "(ECK: ca.crt of the <cluster>-es-http-certs-public secret)"
            ) from None
        except BaseException:
            await client.close()
            raise
        return search_index

    async def ensure_index(self) -> None:
        """Create the index with explicit mappings if missing. Checking first lets an API key
        without the create_index privilege start against an existing index; app replicas
        starting together may still race to create it, which is fine."""
        if await self.client.indices.exists(index=self.index):
            return
        settings: dict[str, object] = {"number_of_replicas": self.replicas}
        if self.refresh_interval:
            settings["refresh_interval"] = self.refresh_interval
        try:
            await self.client.indices.create(index=self.index, mappings=mappings(self.analyzer), settings=settings)
        except BadRequestError as error:
            if error.error == "resource_already_exists_exception":  # another replica won the race
                return
            reason = error.body.get("error", {}).get("reason") if isinstance(error.body, dict) else None
            raise IndexConfigurationError(
                f"cannot create Elasticsearch index {self.index!r} with ELASTICSEARCH_ANALYZER={self.analyzer!r} "
                f"and ELASTICSEARCH_REPLICAS={self.replicas}: {reason or error.message}"
            ) from error

    async def ping(self) -> None:
        # Cluster health works on every cluster (GET / may be blocked or absent); yellow still
        # serves reads and writes, red means some of our data is unreachable.
        health = await self.client.cluster.health(index=self.index, timeout=_HEALTH_TIMEOUT)
        if health["status"] == "red":
            raise IndexUnhealthyError(f"Elasticsearch index {self.index!r} is red")

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
        # refresh=wait_for: the upload answers once its chunks are searchable, without forcing
        # a refresh (and a new segment) per upload the way refresh=true would.
        await async_bulk(self.client, actions, chunk_size=_BULK_CHUNKS, max_chunk_bytes=_BULK_MAX_BYTES, refresh="wait_for")

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

    async def _delete_where(self, filters: list[dict[str, object]]) -> int:
        """Delete every chunk matching `filters`; returns how many were deleted.

        A scroll over the matching ids (a consistent snapshot, pages of _SCAN_PAGE, constant
        memory) feeds bulk deletes, then one refresh so searches stop returning them. This is
        what `_delete_by_query` does server-side, but it needs only core APIs."""
        try:
            deleted, _ = await async_bulk(self.client, self._delete_actions(filters), ignore_status=(404,), stats_only=True)
        except NotFoundError:  # index removed underneath us: nothing left to delete
            return 0
        if deleted:
            await self.client.indices.refresh(index=self.index)
        return int(deleted)

    async def _delete_actions(self, filters: list[dict[str, object]]) -> AsyncIterator[dict[str, object]]:
        matches = async_scan(
            self.client,
            index=self.index,
            query={"query": {"bool": {"filter": filters}}},
            _source=False,
            size=_SCAN_PAGE,
            scroll="2m",
        )
        async for hit in matches:
            yield {"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]}
