"""Hand-built hostile PDFs (raw bytes, so nothing sanitises them on the way)."""

from __future__ import annotations

import zlib


def build_pdf(objects: list[bytes]) -> bytes:
    """A PDF whose object n (1-based) is objects[n-1], with a correct xref table; 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def page_with_content(stream: bytes, *, filters: bytes = b"") -> bytes:
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
        ),
        b"<< /Length %d %s >>\nstream\n" % (len(stream), filters) + stream + b"\nendstream",
    ])


def readable_pdf(text: str) -> bytes:
    return page_with_content(b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % text.encode())


def decompression_bomb(compressed_budget: int) -> tuple[bytes, int]:
    """A content stream that inflates ~1000x: returns the PDF and the inflated size."""
    chunk = b"0 0 m " * (1 << 20)  # 6 MiB of valid, highly repetitive operators
    compressor = zlib.compressobj(9)
    body, inflated = bytearray(), 0
    while len(body) < compressed_budget - 64 * 1024:
        body += compressor.compress(chunk)
        inflated += len(chunk)
    body += compressor.flush()
    return page_with_content(bytes(body), filters=b"/Filter /FlateDecode"), inflated


def deeply_nested(depth: int) -> bytes:
    """Arrays nested `depth` levels deep inside the page dictionary (recursion bomb)."""
    nested = b"[" * depth + b"]" * depth
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Deep " + nested + b" >>",
    ])


def page_tree_cycle() -> bytes:
    """A page tree whose Pages node lists itself as a kid (an infinite walk for a naive reader)."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1000000 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ])


def many_pages(count: int) -> bytes:
    """`count` page objects that all share one content stream (huge page count, tiny file)."""
    kids = b" ".join(b"4 0 R" for _ in range(count))
    stream = b"BT /F1 12 Tf 72 720 Td (x) Tj ET"
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>",
    ])
