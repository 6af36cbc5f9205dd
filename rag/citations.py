"""Markers -> verified citations.

Parse [n] markers from an answer, narrow each to the sentence(s) of passage n that best
support the claim, map them to exact spans of the ORIGINAL file, verify the quote, and
flag answer sentences that no verified citation supports.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .embedding import Embedder
from .evidence import lexical_overlap
from .text import content_words, sentence_spans
from .types import Citation, Document, Passage

log = logging.getLogger(__name__)

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])([\"”’)]*)((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
SUPPORT_THRESHOLD = 0.45


@dataclass(frozen=True)
class Claim:
    """One answer sentence and the passage numbers its markers name."""

    text: str  # without markers
    markers: tuple[int, ...]


@dataclass
class Resolved:
    """The answer text renumbered to its verified citations."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    dropped: int = 0


def parse_claims(text: str) -> list[Claim]:
    """Split an answer into sentences with their markers ("[1][2]", "[1, 2]" and "x. [1]" all work)."""
    norm = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(3)}{m.group(1)}{m.group(2)}", text.strip())
    claims = []
    for s, e in sentence_spans(norm):
        sent = norm[s:e]
        nums = tuple(int(n) for m in MARKER.finditer(sent) for n in re.split(r"[,;]", m.group(1)))
        plain = " ".join(MARKER.sub(" ", sent).split())
        plain = re.sub(r"\s+([.,;:!?])", r"\1", plain)
        if plain or nums:
            claims.append(Claim(plain, nums))
    return claims


def verify(c: Citation, raw: str) -> bool:
    """True when the quote is exactly the original text at [start, end)."""
    return 0 <= c.start < c.end <= len(raw) and raw[c.start : c.end] == c.quote


def cite_span(marker: int, doc: Document, p: Passage, s: int, e: int) -> Citation:
    """A citation for passage-relative clean span [s, e) of passage p in doc."""
    rs, re_ = doc.raw_span(p.clean_start + s, p.clean_start + e)
    return Citation(
        marker=marker,
        file=doc.file,
        start=rs,
        end=re_,
        quote=doc.raw[rs:re_],
        line_start=doc.raw.count("\n", 0, rs) + 1,
        line_end=doc.raw.count("\n", 0, max(rs, re_ - 1)) + 1,
        section=p.section,
        author=p.author,
    )


def resolve(
    text: str,
    passages: Sequence[Passage],
    docs: Mapping[str, Document],
    embedder: Embedder,
    idf: Mapping[str, float],
    support_threshold: float = SUPPORT_THRESHOLD,
) -> Resolved:
    """Turn generated text with passage markers into text with verified, renumbered citations."""
    claims = parse_claims(text)
    out = Resolved(text="")
    # candidate sentences of every cited passage, embedded in one batch with the claims
    cand: dict[int, list[tuple[int, int, str]]] = {}
    for cl in claims:
        for n in cl.markers:
            if 1 <= n <= len(passages) and n not in cand and passages[n - 1].file in docs:
                p = passages[n - 1]
                cand[n] = [(s, e, p.text[s:e]) for s, e in sentence_spans(p.text)]
    flat = [(n, s, e, t) for n, lst in cand.items() for s, e, t in lst]
    vecs = embedder.embed([c.text for c in claims] + [t for *_, t in flat]) if claims else np.zeros((0, 1))
    claim_vecs, sent_vecs = vecs[: len(claims)], vecs[len(claims) :]
    keys: dict[tuple[str, int, int], int] = {}
    pieces: list[str] = []
    for ci, cl in enumerate(claims):
        marks: list[int] = []
        best_support = 0.0
        terms = content_words(cl.text)
        for n in dict.fromkeys(cl.markers):
            rows = [i for i, f in enumerate(flat) if f[0] == n]
            if not rows:
                out.dropped += 1
                log.info("marker [%d] points at no passage; removed", n)
                continue
            sims = sent_vecs[rows] @ claim_vecs[ci]
            scores = [0.5 * max(float(sim), 0.0) + 0.5 * lexical_overlap(terms, flat[r][3], idf)
                      for sim, r in zip(sims, rows)]
            order = np.argsort(scores)[::-1]
            top = order[0]
            s, e = flat[rows[top]][1], flat[rows[top]][2]
            # a claim may draw on two adjacent sentences: widen when the neighbour is nearly as good
            if len(order) > 1 and scores[order[1]] >= 0.9 * scores[top] and abs(int(order[1]) - int(top)) == 1:
                s, e = min(s, flat[rows[order[1]]][1]), max(e, flat[rows[order[1]]][2])
            best_support = max(best_support, scores[top])
            p = passages[n - 1]
            doc = docs[p.file]
            cit = cite_span(0, doc, p, s, e)
            if not verify(cit, doc.raw):
                out.dropped += 1
                log.warning("citation to %s:%d-%d failed verification; dropped", cit.file, cit.start, cit.end)
                continue
            key = (cit.file, cit.start, cit.end)
            if key not in keys:
                keys[key] = len(out.citations) + 1
                out.citations.append(_renumber(cit, keys[key]))
            if keys[key] not in marks:
                marks.append(keys[key])
        if cl.text and (not marks or best_support < support_threshold):
            out.unsupported.append(cl.text)
        pieces.append(_with_markers(cl.text, marks))
    out.text = " ".join(p for p in pieces if p)
    return out


def _renumber(c: Citation, marker: int) -> Citation:
    return Citation(marker, c.file, c.start, c.end, c.quote, c.line_start, c.line_end, c.section, c.author)


def _with_markers(text: str, marks: Sequence[int]) -> str:
    if not marks:
        return text
    tags = "".join(f"[{m}]" for m in marks)
    m = re.search(r"([.!?][\"”’)]*)$", text)
    if m:
        return f"{text[: m.start()]} {tags}{m.group(1)}"
    return f"{text} {tags}"
