"""Deterministic, offline drafting: compose a post from the sources' key sentences."""

from __future__ import annotations

from collections import Counter

from app.generation.base import GeneratedDraft, GenerationRequest, Tone
from app.text import keywords, split_sentences, tokens

SENTENCES = {"short": 5, "medium": 10, "long": 18}
SECTIONS = {"short": 2, "medium": 3, "long": 4}

INTROS: dict[Tone, str] = {
    "professional": "This article summarises what the source material says about {subject}.",
    "casual": "Let's take a relaxed look at {subject} and what the sources have to say about it.",
    "technical": "This post examines {subject} in detail, drawing directly on the source material.",
    "friendly": "Curious about {subject}? Here is a friendly tour of the key ideas.",
}
CONCLUSIONS: dict[Tone, str] = {
    "professional": "In summary, these points give a solid overview of {subject}.",
    "casual": "That's the gist of {subject}: worth keeping in mind.",
    "technical": "Taken together, these details outline how {subject} works in practice.",
    "friendly": "Hopefully this helps you get started with {subject}. Happy reading!",
}


class ExtractiveProvider:
    name = "extractive"

    async def generate(self, request: GenerationRequest) -> GeneratedDraft:
        corpus = " ".join(source.text for source in request.sources)
        top_words = keywords(corpus, 12)
        subject = (request.topic or "").strip() or ", ".join(top_words[:3]) or "these documents"
        title = (
            request.topic.strip().title()
            if request.topic and request.topic.strip()
            else ("Notes on " + " and ".join(word.capitalize() for word in top_words[:2]) if top_words else "Notes")
        )
        picked = self._pick_sentences(request, top_words, SENTENCES[request.length])
        sections = self._sections(picked, SECTIONS[request.length])

        lines = [f"# {title}", "", INTROS[request.tone].format(subject=subject), ""]
        for heading, sentences in sections:
            lines += [f"## {heading}", ""]
            lines += [" ".join(f"{text} [{number}]" for number, text in sentences), ""]
        lines += ["## Conclusion", "", CONCLUSIONS[request.tone].format(subject=subject), "", "## Sources", ""]
        lines += [f"{n}. {source.filename}" for n, source in enumerate(request.sources, start=1)]
        tags = keywords(" ".join(text for _, text in picked) + " " + (request.topic or ""), 5)
        return GeneratedDraft(title=title, content="\n".join(lines) + "\n", tags=tags)

    @staticmethod
    def _pick_sentences(request: GenerationRequest, top_words: list[str], count: int) -> list[tuple[int, str]]:
        weights = Counter({word: len(top_words) - rank for rank, word in enumerate(top_words)})
        topic_terms = set(tokens(request.topic or ""))
        candidates: list[tuple[float, int, int, str]] = []  # (-score, order, source, sentence)
        passages = request.passages or [(n, source.text) for n, source in enumerate(request.sources, start=1)]
        seen: set[str] = set()
        for order, (number, passage) in enumerate(passages):
            for sentence in split_sentences(passage):
                words = tokens(sentence)
                if len(words) < 3 or sentence in seen:
                    continue
                seen.add(sentence)
                score = sum(weights[w] for w in words) / len(words) + 3 * len(topic_terms & set(words))
                candidates.append((-score, order, number, sentence))
        best = sorted(candidates)[:count]
        # Keep the sources' original order so the text reads naturally.
        return [(number, sentence) for _, _, number, sentence in sorted(best, key=lambda c: c[1])]

    @staticmethod
    def _sections(picked: list[tuple[int, str]], wanted: int) -> list[tuple[str, list[tuple[int, str]]]]:
        if not picked:
            return [("Overview", [])]
        size = max(1, -(-len(picked) // wanted))
        sections = []
        used: set[str] = set()
        for start in range(0, len(picked), size):
            group = picked[start : start + size]
            words = [w for w in keywords(" ".join(text for _, text in group), 5) if w not in used]
            heading = words[0].capitalize() if words else f"Part {len(sections) + 1}"
            used.update(words[:1])
            sections.append((heading, group))
        return sections

    async def close(self) -> None:
        return None
