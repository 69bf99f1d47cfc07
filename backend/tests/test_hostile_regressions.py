"""Regressions for bugs found by the hostile-input suite (tests/hostile, Schemathesis)."""

import pytest


@pytest.mark.parametrize("path", ["/api/v1/documents", "/api/v1/drafts", "/api/v1/auth/api-keys"])
async def test_huge_offset_is_a_clear_422_not_a_500(api, path):
    headers = await api.signup()
    response = await api.client.get(path, params={"offset": 146031967834991837184}, headers=headers)
    assert response.status_code == 422, response.text
    assert "offset" in response.text
    assert (await api.client.get(path, params={"offset": 1_000_000_000}, headers=headers)).status_code == 200


async def test_uploads_still_work_after_a_readiness_probe(api):
    # /readyz left the SQLite index's ping cursor open: the next upload hit "database is locked".
    headers = await api.signup()
    await api.upload(headers, "a.md", b"# A\n\nFirst words about rivers.\n")
    assert (await api.client.get("/readyz")).status_code == 200
    await api.upload(headers, "b.md", b"# B\n\nSecond words about lakes.\n")
