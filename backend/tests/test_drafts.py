"""Draft generation (extractive provider), editing and Markdown export."""

from __future__ import annotations

import pytest

GEN = "/api/v1/drafts/generate"
GARDEN = (
    "# Growing tomatoes\n\nTomatoes need full sun and regular watering every morning. Compost improves "
    "the soil structure for tomatoes. Basil grows well next to tomatoes and repels pests.\n\n"
    "Pruning tomato suckers keeps the plants productive. Mulch keeps the soil moist during hot summers. "
    "Harvest tomatoes when they are evenly red and slightly soft."
)
BEES = "Bees pollinate tomato flowers by buzzing. A healthy garden attracts bees with lavender and clover."


async def _docs(api, headers):
    garden = await api.upload(headers, "garden.md", GARDEN.encode())
    bees = await api.upload(headers, "bees.txt", BEES.encode())
    return garden, bees


async def test_generate_with_topic_cites_sources(api):
    headers = await api.signup()
    garden, bees = await _docs(api, headers)
    response = await api.client.post(
        GEN,
        json={"document_ids": [garden["id"], bees["id"]], "topic": "tomato pollination", "tone": "friendly", "length": "short"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["title"] == "Tomato Pollination" and draft["status"] == "draft"
    assert draft["sources"] == [
        {"document_id": garden["id"], "filename": "garden.md"},
        {"document_id": bees["id"], "filename": "bees.txt"},
    ]
    content = draft["content"]
    assert content.startswith("# Tomato Pollination\n")
    assert "Curious about tomato pollination?" in content
    assert "## Conclusion" in content and "## Sources\n\n1. garden.md\n2. bees.txt" in content
    assert "Bees pollinate tomato flowers by buzzing. [2]" in content
    assert "tomatoes" in draft["tags"] or "tomato" in draft["tags"]
    assert draft["created_at"] == draft["updated_at"]


async def test_generate_is_deterministic(api):
    headers = await api.signup()
    garden, _ = await _docs(api, headers)
    body = {"document_ids": [garden["id"]], "tone": "technical", "length": "long"}
    first = (await api.client.post(GEN, json=body, headers=headers)).json()
    second = (await api.client.post(GEN, json=body, headers=headers)).json()
    assert first["content"] == second["content"] and first["id"] != second["id"]
    # No topic: the title comes from the most frequent keyword(s).
    assert first["title"].startswith("Notes on Tomatoes and ")
    assert "This post examines tomatoes, " in first["content"]


@pytest.mark.parametrize("length", ["short", "medium", "long"])
async def test_length_controls_the_amount_of_text(api, length):
    headers = await api.signup()
    text = " ".join(f"Fact {i}: the observatory recorded meteor number {i} over the northern ridge." for i in range(40))
    document = await api.upload(headers, "meteors.txt", text.encode())
    draft = (await api.client.post(GEN, json={"document_ids": [document["id"]], "length": length}, headers=headers)).json()
    cited = draft["content"].count("[1]")
    assert cited == {"short": 5, "medium": 10, "long": 18}[length]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"document_ids": []}, "document_ids"),
        ({"document_ids": ["a"] * 21}, "document_ids"),
        ({"document_ids": ["a"], "tone": "angry"}, "tone"),
        ({"document_ids": ["a"], "length": "epic"}, "length"),
        ({}, "document_ids"),
    ],
)
async def test_generate_rejects_bad_input(api, body, field):
    headers = await api.signup()
    response = await api.client.post(GEN, json=body, headers=headers)
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"])


async def test_generate_from_unknown_or_foreign_document_is_404(api):
    alice, bob = await api.signup(), await api.signup()
    document = await api.upload(alice, "a.txt", b"Alice writes about sailing boats and wind.")
    for ids in (["does-not-exist"], [document["id"]]):
        response = await api.client.post(GEN, json={"document_ids": ids}, headers=bob)
        assert response.status_code == 404 and "not found" in response.json()["detail"]


async def test_draft_crud_and_owner_scoping(api):
    alice, bob = await api.signup(), await api.signup()
    garden, _ = await _docs(api, alice)
    draft = (await api.client.post(GEN, json={"document_ids": [garden["id"]]}, headers=alice)).json()
    url = f"/api/v1/drafts/{draft['id']}"

    listing = (await api.client.get("/api/v1/drafts", headers=alice)).json()
    assert listing["total"] == 1 and listing["items"][0]["content"] == draft["content"]
    assert (await api.client.get(url, headers=alice)).json() == draft

    update = {"title": "My tomato diary", "status": "published", "tags": ["garden", "food"], "content": "# Edited\n"}
    updated = (await api.client.put(url, json=update, headers=alice)).json()
    assert {k: updated[k] for k in update} == update
    assert updated["updated_at"] > draft["updated_at"] and updated["created_at"] == draft["created_at"]
    assert (await api.client.get(url, headers=alice)).json() == updated

    for method, kwargs in (("get", {}), ("put", {"json": {"title": "x"}}), ("delete", {})):
        response = await api.client.request(method, url, headers=bob, **kwargs)
        assert response.status_code == 404
    assert (await api.client.get(f"{url}/export", headers=bob)).status_code == 404
    assert (await api.client.get("/api/v1/drafts", headers=bob)).json()["total"] == 0

    assert (await api.client.delete(url, headers=alice)).status_code == 204
    assert (await api.client.get(url, headers=alice)).status_code == 404
    assert (await api.client.delete(url, headers=alice)).status_code == 404


@pytest.mark.parametrize("body", [{"status": "archived"}, {"title": ""}, {"unknown": 1}, {"tags": ["x" * 51]}])
async def test_update_rejects_bad_input(api, body):
    headers = await api.signup()
    garden, _ = await _docs(api, headers)
    draft = (await api.client.post(GEN, json={"document_ids": [garden["id"]]}, headers=headers)).json()
    response = await api.client.put(f"/api/v1/drafts/{draft['id']}", json=body, headers=headers)
    assert response.status_code == 422
    assert (await api.client.get(f"/api/v1/drafts/{draft['id']}", headers=headers)).json() == draft


async def test_export_is_markdown_with_jekyll_front_matter(api):
    headers = await api.signup()
    garden, _ = await _docs(api, headers)
    draft = (await api.client.post(GEN, json={"document_ids": [garden["id"]], "topic": "Tomatoes"}, headers=headers)).json()
    await api.client.put(
        f"/api/v1/drafts/{draft['id']}", json={"title": 'Crème "brûlée" & tomatoes', "tags": ["food", "garden"]}, headers=headers
    )
    response = await api.client.get(f"/api/v1/drafts/{draft['id']}/export", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.headers["content-disposition"] == 'attachment; filename="creme-brulee-tomatoes.md"'
    front, body = response.text.split("---\n", 2)[1:]
    assert 'title: "Crème \\"brûlée\\" & tomatoes"' in front
    assert f"date: {draft['created_at'][:10]} " in front
    assert 'tags: ["food", "garden"]' in front
    assert body == draft["content"]


async def test_generation_rate_limit(make_api):
    api = await make_api(rate_limit_generate_requests=2)
    headers = await api.signup()
    garden = await api.upload(headers, "g.md", GARDEN.encode())
    statuses = [
        (await api.client.post(GEN, json={"document_ids": [garden["id"]]}, headers=headers)).status_code for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
