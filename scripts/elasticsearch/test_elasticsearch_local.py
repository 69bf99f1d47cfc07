"""End-to-end check of scripts/elasticsearch-local.sh against the official Python client.

Starts a real Elasticsearch node (one per module, on a free port, in a temporary directory),
talks to it with `elasticsearch[async]` (which refuses any server that is not Elasticsearch) and
stops it. Needs: a JDK >= 21, Maven, curl, and the `elasticsearch` Python package.
Run: uv run --no-project --with 'elasticsearch[async]>=9,<10' --with pytest \
         pytest -q scripts/elasticsearch
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch, NotFoundError

SCRIPT = Path(__file__).resolve().parent.parent / "elasticsearch-local.sh"
START_TIMEOUT_S = 300

POSTS = [
    (
        "1",
        "Caching drafts with Redis",
        "Redis keeps blog drafts close to the FastAPI workers.",
        "redis",
    ),
    (
        "2",
        "BM25 ranking explained",
        "BM25 ranks documents by term frequency and inverse document frequency.",
        "search",
    ),
    (
        "3",
        "Agents that write",
        "An agent drafts a post; search helps it find sources for BM25 fans.",
        "llm",
    ),
]


def run_script(*args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    run_dir = tmp_path_factory.mktemp("es-node")
    started = run_script("start", "--dir", str(run_dir))
    assert started.returncode == 0, started.stderr
    url_line = started.stdout.strip().splitlines()[-1]
    assert url_line.startswith("ELASTICSEARCH_URL=http://127.0.0.1:"), started.stdout
    pid = int((run_dir / "elasticsearch.pid").read_text())
    yield url_line.split("=", 1)[1], run_dir, pid
    # Teardown doubles as the check of `stop`: the process and its pid file must be gone.
    stopped = run_script("stop", "--dir", str(run_dir), timeout=90)
    assert stopped.returncode == 0, stopped.stderr
    assert not (run_dir / "elasticsearch.pid").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def index_and_search(url: str) -> tuple[dict, dict, dict]:
    client = AsyncElasticsearch(url, request_timeout=30)
    index = "posts-e2e"
    try:
        await client.indices.create(
            index=index,
            settings={"number_of_shards": 1, "number_of_replicas": 0},
            mappings={
                "properties": {
                    "title": {"type": "text"},
                    "body": {"type": "text"},
                    "tag": {"type": "keyword"},
                }
            },
        )
        for doc_id, title, body, tag in POSTS:
            await client.index(
                index=index, id=doc_id, document={"title": title, "body": body, "tag": tag}
            )
        await client.indices.refresh(index=index)
        mapping = await client.indices.get_mapping(index=index)
        ranked = await client.search(
            index=index,
            query={"multi_match": {"query": "BM25 ranking", "fields": ["title^2", "body"]}},
            highlight={"fields": {"title": {}, "body": {}}},
        )
        filtered = await client.search(
            index=index, query={"bool": {"filter": [{"term": {"tag": "redis"}}]}}
        )
        return mapping[index]["mappings"], ranked, filtered
    finally:
        await client.indices.delete(index=index, ignore_unavailable=True)
        await client.close()


def test_python_client_indexes_and_searches_with_bm25_highlights(node) -> None:
    url, _, _ = node
    mappings, ranked, filtered = asyncio.run(index_and_search(url))

    assert mappings["properties"]["tag"] == {"type": "keyword"}
    assert mappings["properties"]["title"] == {"type": "text"}
    hits = ranked["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["2", "3"]  # title boost puts the BM25 article first
    assert hits[0]["_score"] > hits[1]["_score"] > 0
    assert hits[0]["highlight"]["title"] == ["<em>BM25</em> <em>ranking</em> explained"]
    assert [hit["_id"] for hit in filtered["hits"]["hits"]] == ["1"]


def test_missing_index_is_a_real_404(node) -> None:
    url, _, _ = node

    async def get_missing() -> None:
        async with AsyncElasticsearch(url) as client:
            await client.get(index="no-such-index", id="1")

    with pytest.raises(NotFoundError):
        asyncio.run(get_missing())


def test_second_start_on_same_dir_is_refused(node) -> None:
    _, run_dir, pid = node
    again = run_script("start", "--dir", str(run_dir), timeout=60)
    assert again.returncode != 0
    assert f"a node already runs for {run_dir} (pid {pid})" in again.stderr


def test_bad_port_is_rejected_with_the_flag_named() -> None:
    result = run_script("start", "--port", "http", timeout=30)
    assert result.returncode != 0
    assert "--port must be 0..65535, got 'http'" in result.stderr
