"""Markers -> verified citations.

Parse [n] markers from an answer, narrow each to the sentence(s) of passage n that best
support the claim, map them to exact spans of the ORIGINAL file, verify the quote, and
flag answer sentences that no verified citation supports.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from .embedding import Embedder, Vectors
from .evidence import lexical_overlap
from .text import content_words, sentence_spans
from .types import Citation, Document, Passage

log = logging.getLogger(__name__)

# What small models write for "source 2": [2] [2, 3] [2; 3] [2-4] [2 and 3] [Source 2] [^2] 【2】 (Source 2)
_NUM = r"\d{1,4}"
_LIST = rf"{_NUM}(?:\s*(?:[,;&]|[-–]|and)\s*(?:source\s*)?{_NUM})*"
_LABEL = r"(?:(?:sources?|src|doc(?:ument)?s?|passages?|ref)\s*#?\s*)"
MARKER = re.compile(
    rf"[\[【]\s*{_LABEL}?\^?({_LIST})\s*[\]】]"
    rf"|\(\s*{_LABEL}({_LIST})\s*\)",
    re.IGNORECASE,
)
_MARKERS_AFTER_STOP = re.compile(rf"(?:(?<!\d)|(?<=\b(?:1[89]|20)\d\d))([.!?…])([\"”’')]*\d{{0,3}})((?:\s*(?:{MARKER.pattern}))+)", re.IGNORECASE)
_LABEL_ONLY = re.compile(r"^\W*(?:sources?|references?|citations?|refs?)\W*$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
MAX_RANGE = 20  # "[1-3]" means 1, 2, 3; a longer "range" is more likely a date or garbage
SUPPORT_THRESHOLD = 0.45
WIDEN_RATIO = 0.9  # take the neighbouring sentence too when it scores this close to the best
SECOND_RATIO = 0.6  # a non-adjacent sentence adding missing words must score this close
REPAIR_THRESHOLD = 0.6  # support needed to cite a sentence to a passage its markers did not name
REPAIR_MARGIN = 0.1  # ... and by how much it must beat the support of the named passages


@dataclass(frozen=True)
class Claim:
    """One answer sentence and the passage numbers its markers name."""

    text: str  # without markers
    markers: tuple[int, ...]
    sep: str = " "  # the whitespace before it in the answer ("\n" keeps paragraphs and lists)


@dataclass
class Resolved:
    """The answer text renumbered to its verified citations."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    dropped: int = 0  # markers that named no shown passage or failed verification
    remapped: int = 0  # sentences cited to another passage than their markers named
    inferred: int = 0  # sentences without markers given the citation that supports them
    sentences: int = 0  # answer sentences (claims with text)


def marker_numbers(m: re.Match[str]) -> tuple[int, ...]:
    """The passage numbers one MARKER match names, in order ("2-4" gives 2, 3, 4)."""
    body = next(g for g in m.groups() if g is not None)
    body = re.sub(r"(?i)source", " ", body)
    nums: list[int] = []
    for part in re.split(r"(?i)\s*(?:[,;&]|and)\s*", body):
        bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part.strip()) if x]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] <= MAX_RANGE:
            nums.extend(range(bounds[0], bounds[1] + 1))
        else:
            nums.extend(bounds)
    return tuple(nums)


def strip_markers(text: str) -> str:
    """Text without markers, whitespace normalised, no space left before punctuation."""
    plain = " ".join(MARKER.sub(" ", text).split())
    return re.sub(r"\s+([.,;:!?…])", r"\1", plain)


def parse_claims(text: str) -> list[Claim]:
    """Split an answer into sentences with their markers.

    "[1][2]", "[1, 2]", "[1-3]", "x. [1]" (a marker after the full stop belongs to the
    sentence before it) all work. A line holding only markers (or a stray closing quote)
    belongs to the sentence before it; a "Sources: [1], [2]" line names no sentence and is left out.
    """
    norm = _MARKERS_AFTER_STOP.sub(lambda m: f" {m.group(3).strip()}{m.group(1)}{m.group(2)}", text.strip())
    claims: list[Claim] = []
    pending: tuple[int, ...] = ()  # markers seen before any sentence
    prev_end = 0
    for s, e in sentence_spans(norm):
        sent = norm[s:e]
        gap = norm[prev_end:s]
        prev_end = e
        nums = tuple(n for m in MARKER.finditer(sent) for n in marker_numbers(m))
        plain = strip_markers(sent)
        if _LABEL_ONLY.match(plain):
            continue  # "Sources: [1], [2]" cites no sentence in particular
        if not re.search(r"\w", plain):  # only markers, or a stray closing quote: not a sentence
            if claims:
                last = claims[-1]
                claims[-1] = Claim(last.text + plain, last.markers + nums, last.sep)
            else:
                pending += nums
            continue
        sep = "\n\n" if gap.count("\n") > 1 else "\n" if "\n" in gap else " "
        claims.append(Claim(plain, pending + nums, sep if claims else ""))
        pending = ()
    if pending:  # markers and nothing else
        claims.append(Claim("", pending, ""))
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


@dataclass(frozen=True)
class _Cand:
    passage: int  # the 1-based marker number
    start: int  # passage-relative clean offsets
    end: int
    text: str


def _narrow(
    terms: Sequence[str], scores: Sequence[float], cands: Sequence[_Cand], idf: Mapping[str, float]
) -> list[tuple[int, int]]:
    """The passage-relative span(s) of the sentence(s) that best support a claim.

    The best sentence, widened over a neighbour that scores nearly as well; then, if the claim
    has words that span lacks (a date, a name) and another sentence has them and scores well
    enough, that sentence too.
    """
    order = [int(i) for i in np.argsort(scores)[::-1]]
    top = order[0]
    spans = [(cands[top].start, cands[top].end)]
    chosen = {top}
    if len(order) > 1:
        nxt = order[1]
        if scores[nxt] >= WIDEN_RATIO * scores[top] and abs(nxt - top) == 1:
            spans = [(min(cands[top].start, cands[nxt].start), max(cands[top].end, cands[nxt].end))]
            chosen.add(nxt)
    have = {w for i in chosen for w in content_words(cands[i].text)}
    missing = [t for t in dict.fromkeys(terms) if t not in have]
    if missing:
        gain = [0.0] * len(cands)
        for i, c in enumerate(cands):
            if i not in chosen:
                words = set(content_words(c.text))
                gain[i] = sum(idf.get(t, 1.0) for t in missing if t in words)
        best = int(np.argmax(gain))
        if gain[best] > 0 and scores[best] >= SECOND_RATIO * scores[top]:
            spans.append((cands[best].start, cands[best].end))
    return sorted(spans)


def _numbers_ok(claim: str, support_text: str) -> bool:
    """Every number in the claim (a date, an amount) appears in the text it cites."""
    have = set(_DIGITS.findall(support_text))
    return all(n in have for n in _DIGITS.findall(claim))


class _SentenceBank:
    """Sentences of the passages and their vectors, embedded once, on first need."""

    def __init__(self, passages: Sequence[Passage], embedder: Embedder) -> None:
        self.passages = passages
        self.embedder = embedder
        self.cands: dict[int, list[_Cand]] = {}
        self.vecs: dict[int, Vectors] = {}

    def load(self, numbers: Iterable[int], extra: Sequence[str] = ()) -> Vectors:
        """Embed the sentences of passages `numbers` (1-based) not loaded yet, in one batch with
        `extra` texts; return the vectors of `extra`."""
        todo = sorted({n for n in numbers if n not in self.cands})
        groups = {n: [_Cand(n, s, e, self.passages[n - 1].text[s:e])
                      for s, e in sentence_spans(self.passages[n - 1].text)] for n in todo}
        texts = list(extra) + [c.text for n in todo for c in groups[n]]
        vecs = self.embedder.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        pos = len(extra)
        for n in todo:
            self.cands[n], self.vecs[n] = groups[n], vecs[pos : pos + len(groups[n])]
            pos += len(groups[n])
        return vecs[: len(extra)]


@dataclass
class _Support:
    citations: list[Citation]  # verified, not numbered yet
    score: float  # the best cited sentence's support for the claim
    text: str  # the cited sentences and the passage header, for the numbers check


def _support(
    n: int, terms: Sequence[str], claim_vec: Vectors, bank: _SentenceBank, docs: Mapping[str, Document],
    idf: Mapping[str, float],
) -> _Support | None:
    """Passage n's best support for a claim, narrowed to sentence spans; None if nothing verifies."""
    group = bank.cands.get(n, [])
    if not group:
        return None
    p = bank.passages[n - 1]
    sims = bank.vecs[n] @ claim_vec
    scores = [0.5 * max(float(sim), 0.0) + 0.5 * lexical_overlap(terms, p.header + " " + c.text, idf, states=False)
              for sim, c in zip(sims, group)]
    doc = docs[p.file]
    cits: list[Citation] = []
    texts: list[str] = []
    for s, e in _narrow(terms, scores, group, idf):
        cit = cite_span(0, doc, p, s, e)
        if verify(cit, doc.raw):
            cits.append(cit)
            texts.append(p.text[s:e])
        else:
            log.warning("citation to %s:%d-%d failed verification; dropped", cit.file, cit.start, cit.end)
    if not cits:
        return None
    return _Support(cits, max(scores), " ".join(texts + [p.header]))


def resolve(
    text: str,
    passages: Sequence[Passage],
    docs: Mapping[str, Document],
    embedder: Embedder,
    idf: Mapping[str, float],
    support_threshold: float = SUPPORT_THRESHOLD,
    repair: bool = True,
) -> Resolved:
    """Turn generated text with passage markers into text with verified, renumbered citations.

    Marker n names passages[n - 1]. A marker naming no passage (out of range, or a passage
    whose file changed since indexing) is removed and counted in `dropped`; so is one whose
    spans do not verify against the original file. An answer sentence is supported when its
    best cited sentence is similar enough (embedding + lexical, `support_threshold`) and
    contains every number the sentence states.

    With `repair`, a sentence its markers do not support (or that has none) is cited to the
    passage sentence that supports it best, when that one clearly does (REPAIR_THRESHOLD,
    numbers included): small models often copy a sentence and write the wrong [n], or none.
    Those are counted in `remapped` and `inferred`. Sentences still unsupported are listed
    in `unsupported`, and kept in the text.
    """
    claims = parse_claims(text)
    out = Resolved(text="")
    if not claims:
        return out
    out.sentences = sum(1 for c in claims if c.text)
    usable = [n for n in range(1, len(passages) + 1) if passages[n - 1].file in docs]
    cited = {n for cl in claims if cl.text for n in cl.markers if n in usable}
    bank = _SentenceBank(passages, embedder)
    claim_vecs = bank.load(cited, [c.text or "-" for c in claims])
    found: list[list[Citation]] = []
    for ci, cl in enumerate(claims):
        if not cl.text:  # markers with no sentence to support
            out.dropped += len(set(cl.markers))
            found.append([])
            continue
        terms = content_words(cl.text)
        cits: list[Citation] = []
        best = 0.0
        support_text: list[str] = []
        for n in dict.fromkeys(cl.markers):
            got = _support(n, terms, claim_vecs[ci], bank, docs, idf) if n in cited else None
            if got is None:
                out.dropped += 1
                log.info("marker [%d] names no passage shown with %s; removed", n, _describe(passages, docs, n))
                continue
            cits += got.citations
            best = max(best, got.score)
            support_text.append(got.text)
        ok = bool(cits) and best >= support_threshold and _numbers_ok(cl.text, " ".join(support_text))
        if not ok and repair:
            bank.load(usable)
            others = [g for n in usable if n not in cl.markers
                      if (g := _support(n, terms, claim_vecs[ci], bank, docs, idf)) is not None]
            alt = max(others, key=lambda g: g.score, default=None)
            if (alt is not None and alt.score >= max(REPAIR_THRESHOLD, best + REPAIR_MARGIN)
                    and _numbers_ok(cl.text, alt.text)):
                log.info("cited %r to %s instead of %s", cl.text[:60], alt.citations[0].file, cl.markers or "nothing")
                if cl.markers:
                    out.remapped += 1
                else:
                    out.inferred += 1
                cits, ok = alt.citations, True
        if not ok:
            out.unsupported.append(cl.text)
        found.append(cits)
    keys: dict[tuple[str, int, int], int] = {}
    pieces: list[tuple[str, str]] = []
    for cl, cits in zip(claims, found):
        marks: list[int] = []
        for cit in cits:
            key = (cit.file, cit.start, cit.end)
            if key not in keys:
                keys[key] = len(out.citations) + 1
                out.citations.append(_renumber(cit, keys[key]))
            if keys[key] not in marks:
                marks.append(keys[key])
        if cl.text:
            pieces.append((cl.sep, _with_markers(cl.text, marks)))
    out.text = "".join(sep + piece for sep, piece in pieces).strip()
    return out


def _describe(passages: Sequence[Passage], docs: Mapping[str, Document], n: int) -> str:
    if not 1 <= n <= len(passages):
        return f"{len(passages)} passages"
    return f"{passages[n - 1].file} no longer matching the index"


def _renumber(c: Citation, marker: int) -> Citation:
    return Citation(marker, c.file, c.start, c.end, c.quote, c.line_start, c.line_end, c.section, c.author)


def _with_markers(text: str, marks: Sequence[int]) -> str:
    if not marks:
        return text
    tags = "".join(f"[{m}]" for m in marks)
    m = re.search(r"([.!?…][\"”’')]*)$", text)
    if m:
        return f"{text[: m.start()]} {tags}{m.group(1)}"
    return f"{text} {tags}"
