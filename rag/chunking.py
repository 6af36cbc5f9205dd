"""Document -> Chunk: sentence-aware windows of the cleaned text, with spans in the ORIGINAL file.

llama-index's SentenceSplitter returns strings, not offsets, and re-joins splits; we need
exact original-file spans for citations, so sentences are packed here from their spans.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
from typing import Callable

from .text import count_tokens, sentence_spans
from .types import Chunk, Document, Section

log = logging.getLogger(__name__)

Counter = Callable[[str], int]


def line_starts(raw: str) -> list[int]:
    """Offsets at which each line of raw begins (index i -> line i+1)."""
    starts = [0]
    pos = raw.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = raw.find("\n", pos + 1)
    return starts


def line_of(starts: list[int], offset: int) -> int:
    """1-based line number of a raw offset."""
    return bisect.bisect_right(starts, offset)


def _split_long(text: str, s: int, e: int, max_tokens: int, count: Counter) -> list[tuple[int, int]]:
    """Cut an over-long sentence at word boundaries into pieces of at most max_tokens."""
    pieces: list[tuple[int, int]] = []
    start = s
    while start < e:
        lo, hi = start + 1, e
        # binary search the longest prefix that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[start:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        if cut < e:
            space = text.rfind(" ", start, cut)
            if space > start:
                cut = space
        pieces.append((start, cut))
        start = cut
        while start < e and text[start].isspace():
            start += 1
    return pieces


def chunk_document(
    doc: Document, max_tokens: int = 200, overlap: int = 40, count: Counter = count_tokens
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most max_tokens, repeating up to `overlap`
    tokens of trailing sentences at the start of the next chunk. Chunks never cross sections."""
    starts = line_starts(doc.raw)
    sections = doc.sections or (Section(doc.title, None, 0, len(doc.clean)),)
    chunks: list[Chunk] = []
    for sec in sections:
        sents: list[tuple[int, int, int]] = []  # start, end, tokens
        for s, e in sentence_spans(doc.clean, sec.start, sec.end):
            n = count(doc.clean[s:e])
            if n > max_tokens:
                sents.extend((a, b, count(doc.clean[a:b])) for a, b in _split_long(doc.clean, s, e, max_tokens, count))
            else:
                sents.append((s, e, n))
        i = 0
        while i < len(sents):
            j, total = i, 0
            while j < len(sents) and total + sents[j][2] + (1 if j > i else 0) <= max_tokens:
                total += sents[j][2] + (1 if j > i else 0)
                j += 1
            j = max(j, i + 1)
            chunks.append(_make_chunk(doc, sec, sents[i][0], sents[j - 1][1], starts))
            if j >= len(sents):
                break
            # step back over trailing sentences worth at most `overlap` tokens, always advancing
            k, back = j, 0
            while k - 1 > i and back + sents[k - 1][2] <= overlap:
                back += sents[k - 1][2]
                k -= 1
            i = k
    return chunks


def _make_chunk(doc: Document, sec: Section, cs: int, ce: int, starts: list[int]) -> Chunk:
    rs, re_ = doc.raw_span(cs, ce)
    return Chunk(
        id=f"{chunk_key(doc)}:{cs}",
        file=doc.file,
        start=rs,
        end=re_,
        line_start=line_of(starts, rs),
        line_end=line_of(starts, max(rs, re_ - 1)),
        text=doc.clean[cs:ce],
        clean_start=cs,
        clean_end=ce,
        title=doc.title,
        section=sec.title if sec.title != doc.title else None,
        author=sec.author,
    )


def chunk_key(doc: Document) -> str:
    """The id prefix of a document's chunks: its name and content, so that two files with the
    same bytes (a copy under another name) get distinct chunk ids instead of overwriting each other."""
    return hashlib.sha256(f"{doc.file}\0{doc.sha256}".encode()).hexdigest()[:16]


def embed_text(chunk: Chunk) -> str:
    """What the embedder and BM25 see: a provenance header, then the passage."""
    head = chunk.header
    return f"{head}\n{chunk.text}" if head else chunk.text
