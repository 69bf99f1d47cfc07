"""Text extraction from uploads, chunking, sentence splitting and snippet rendering."""

from __future__ import annotations

import html
import io
import re
import unicodedata
from collections import Counter
from pathlib import PurePath

from pypdf import PdfReader
from pypdf.errors import PyPdfError

SUPPORTED_TYPES = {".txt": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown", ".pdf": "application/pdf"}


class UnsupportedTypeError(ValueError):
    """The upload is not .txt, .md or .pdf."""


class UnreadableDocumentError(ValueError):
    """The upload's type is supported but no usable text could be read from it."""


def safe_filename(name: str | None) -> str:
    base = PurePath((name or "").replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return cleaned[:255] or "upload"


def detect_type(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED_TYPES:
        raise UnsupportedTypeError(f"unsupported file type '{suffix or filename}': upload a .txt, .md or .pdf file")
    return SUPPORTED_TYPES[suffix]


def _clean(text: str) -> str:
    # Drop control characters (keeping newlines/tabs) so snippets can use them as markers.
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def extract_text(data: bytes, content_type: str) -> str:
    if content_type == "application/pdf":
        text = _pdf_text(data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise UnreadableDocumentError(
                f"file is not valid UTF-8 text (byte {error.start}): save it as UTF-8 and retry"
            ) from error
    text = _clean(text)
    if not text:
        raise UnreadableDocumentError("the file contains no text to work with")
    return text


def _pdf_text(data: bytes) -> str:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocumentError("the PDF is encrypted: upload an unencrypted copy")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except UnreadableDocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UnreadableDocumentError(f"the PDF could not be read ({type(error).__name__}): the file may be corrupt") from error


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        # Markdown headings stand alone; list markers are structure, not prose.
        prose = ""
        for line in lines:
            if line.startswith("#"):
                sentences.append(line.lstrip("#").strip())
            else:
                prose += " " + re.sub(r"^([-*+]\s+|\d+[.)]\s+)", "", line)
        sentences.extend(part.strip() for part in _SENTENCE_END.split(prose) if part.strip())
    return sentences


def chunk_text(text: str, size: int) -> list[str]:
    """Pack whole sentences into chunks of at most `size` characters (longer ones are cut)."""
    chunks: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        while len(sentence) > size:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(sentence[:size])
            sentence = sentence[size:]
        if current and len(current) + 1 + len(sentence) > size:
            chunks.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        chunks.append(current)
    return chunks


def render_snippet(marked: str, open_mark: str, close_mark: str) -> str:
    """HTML-escape a snippet whose highlights are delimited by marker characters."""
    escaped = html.escape(marked, quote=True)
    return escaped.replace(open_mark, "<mark>").replace(close_mark, "</mark>")


STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just let me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up us
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves one two may might must shall use used using via per like get got make
    made many much new well way""".split()
)

_TOKEN = re.compile(r"[a-zA-Z][a-zA-Z0-9'-]{2,}")


def tokens(text: str) -> list[str]:
    return [t for t in (m.lower().strip("'-") for m in _TOKEN.findall(text)) if t not in STOPWORDS]


def keywords(text: str, count: int) -> list[str]:
    ranked = Counter(tokens(text)).most_common()
    return [word for word, _ in sorted(ranked, key=lambda item: (-item[1], item[0]))][:count]
