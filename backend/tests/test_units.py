"""Unit tests of the pure helpers: text handling, rate limiters, extractive composition."""

from __future__ import annotations

import pytest

from app import ratelimit
from app.generation.base import GenerationRequest, SourceText
from app.generation.extractive import ExtractiveProvider
from app.ratelimit import MemoryRateLimiter
from app.storage.sqlite import fts_query
from app.text import chunk_text, keywords, render_snippet, safe_filename, split_sentences


def test_split_sentences_handles_markdown_structure():
    text = "# Title\n\n- First item is here. Second sentence!\n1. Numbered point\n\nNew paragraph? Yes."
    assert split_sentences(text) == [
        "Title",
        "First item is here.",
        "Second sentence!",
        "Numbered point",
        "New paragraph?",
        "Yes.",
    ]


def test_chunk_text_packs_sentences_and_cuts_overlong_ones():
    text = "Short one. " + "X" * 450 + ". Another short one."
    chunks = chunk_text(text, 200)
    assert chunks[0] == "Short one."
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert "".join(chunks).replace(" ", "").startswith("Shortone." + "X" * 100)
    assert chunks[-1].endswith("Another short one.")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("../../a.txt", "a.txt"), ("C:\\docs\\b.md", "b.md"), ("bad\x00name.txt", "badname.txt"), ("", "upload"), (None, "upload")],
)
def test_safe_filename(raw, expected):
    assert safe_filename(raw) == expected


def test_render_snippet_escapes_everything_but_marks():
    assert render_snippet('a <b> \x02"x"\x03 & c', "\x02", "\x03") == "a &lt;b&gt; <mark>&quot;x&quot;</mark> &amp; c"


def test_fts_query_quotes_terms():
    assert fts_query('rust AND "ownership" OR NEAR(x') == '"rust" OR "and" OR "ownership" OR "or" OR "near" OR "x"'
    assert fts_query("!!!") is None


def test_keywords_skip_stopwords_and_tie_break_alphabetically():
    assert keywords("The zebra and the apple; the zebra and the apple. Kiwi.", 3) == ["apple", "zebra", "kiwi"]


async def test_memory_rate_limiter_windows(monkeypatch):
    now = [1_000_040.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    limiter = MemoryRateLimiter()
    decisions = [await limiter.hit("k", 2, 60) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[-1].retry_after == 40
    assert (await limiter.hit("other", 2, 60)).allowed
    now[0] += 60
    assert (await limiter.hit("k", 2, 60)).allowed


async def test_extractive_without_usable_sentences_still_produces_markdown():
    provider = ExtractiveProvider()
    request = GenerationRequest([SourceText("d1", "tiny.txt", "Hi.")], [], None, "casual", "short")
    draft = await provider.generate(request)
    assert draft.title == "Notes"
    assert "## Overview" in draft.content and "1. tiny.txt" in draft.content
    await provider.close()
