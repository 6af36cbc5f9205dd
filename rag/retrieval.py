"""question -> ranked passages: dense (Chroma), BM25 (bm25s), fused by reciprocal rank."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from typing import Literal, Sequence

import bm25s
import numpy as np

from .chunking import embed_text
from .embedding import Embedder
from .evidence import idf_table
from .store import Store
from .question import PIECE_WORDS, asks_author, list_asked, retrieval_queries, source_phrases, subqueries, without_sources
from .text import author_names, content_words, list_positions, named_author_positions, surnames, with_parts
from .types import Chunk, Passage

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG; keep its chatter out of our users' terminals
logging.getLogger("bm25s").setLevel(logging.WARNING)

Mode = Literal["hybrid", "dense", "bm25"]
Section = tuple[str, "str | None"]  # a piece: its file and author


class Retriever:
    """Holds the BM25 index (built once at open) and queries Chroma for the dense side."""

    def __init__(self, store: Store, embedder: Embedder, chunks: Sequence[Chunk], rrf_k: int = 60) -> None:
        self.store = store
        self.embedder = embedder
        self.chunks = list(chunks)
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}
        self.files = np.array([c.file for c in self.chunks])
        self.rrf_k = rrf_k
        self.bm25 = bm25s.BM25()
        if self.chunks:
            corpus = [content_words(embed_text(c)) or ["_empty_"] for c in self.chunks]
            self.bm25.index(corpus, show_progress=False)
        self.idf = bm25_idf(self.bm25, self.chunks)
        self.author_files: dict[str, list[str]] = {}  # each section author and the files they write in
        for c in self.chunks:
            if c.author and c.file not in (got := self.author_files.setdefault(c.author, [])):
                got.append(c.file)
        self._terms: dict[int, frozenset[str]] = {}  # content words of chunks met in coverage pools
        self._pieces: tuple[dict[str, set[Section]], dict[str, Counter[Section]]] | None = None

    def dense(self, question: str, n: int, files: Sequence[str] = ()) -> list[tuple[int, float]]:
        """(chunk index, cosine similarity), best first."""
        vec = self.embedder.embed([question])[0]
        hits = self.store.query(vec, n, files)
        return [(self.by_id[cid], sim) for cid, sim in hits if cid in self.by_id]

    def lexical(self, question: str, n: int, files: Sequence[str] = ()) -> list[tuple[int, float]]:
        """(chunk index, BM25 score), best first; only chunks sharing a term."""
        terms = content_words(question)
        if not self.chunks or not terms:
            return []
        scores = self.bm25.get_scores(terms)
        if files:
            scores = np.where(np.isin(self.files, list(files)), scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def retrieve(
        self, question: str, k: int = 5, candidates: int = 40, files: Sequence[str] = (), mode: Mode = "hybrid"
    ) -> list[Passage]:
        """Top-k passages; hybrid fuses dense and BM25 ranks of the question and of its parts
        (a multi-part question is split into sub-questions) by reciprocal rank, keeps the whole
        question's best BM25 chunk in the top k, and puts the best chunk of each author the
        question names ("How do Pashayeva and Gauin differ?") into the top k."""
        if mode == "dense":
            ranked = self.dense(question, k, files)
        elif mode == "bm25":
            ranked = self.lexical(question, k, files)
        else:
            bm25_hits = self.lexical(question, candidates, files)  # the whole question's BM25 list, used twice
            lists = [self._fuse(question, candidates, files, bm25_hits),
                     *(self._fuse(q, candidates, files) for q in retrieval_queries(question))]
            ranked = _summed(lists)
            if COVERAGE:
                ranked = self._coverage(question, ranked)
            if LEXICAL_PIN is not None and bm25_hits:
                top = bm25_hits[0][0]  # pinned with its fused score, not its BM25 one
                score = next((sc for i, sc in ranked if i == top), 0.0)
                ranked = _pin(ranked, [(top, score)], k, at=min(LEXICAL_PIN, k - 1))
            if NAMED_AUTHORS and len(named := self._named_sources(question, files)) >= NAMED_AUTHORS:
                ranked = _pin(ranked, self._author_bests(question, named, candidates), k)
            if ENUMERATION and (count := list_asked(question)) > 1:
                ranked = self._enumeration(ranked, k, count)
            if asks_author(question):
                ranked = self._bylines(ranked, k)
            return self._merge(ranked, k)
        return [_passage([self.chunks[i]], score) for i, score in ranked[:k]]

    def _merge(self, ranked: Sequence[tuple[int, float]], k: int) -> list[Passage]:
        """Build k passages from the best k + EXTRA_CHUNKS chunks: a chunk next to one already
        chosen (same file and section) extends that passage instead of taking a slot."""
        groups: list[list[int]] = []
        scores: list[float] = []
        merged = 0
        for i, score in ranked:
            if len(groups) >= k and merged >= EXTRA_CHUNKS:
                break
            c = self.chunks[i]
            for g in groups:
                if (merged < EXTRA_CHUNKS and len(g) < MAX_MERGED and any(abs(i - j) == 1 for j in g)
                        and _same_section(c, self.chunks[g[0]])):
                    g.append(i)
                    merged += 1
                    break
            else:
                if len(groups) < k:
                    groups.append([i])
                    scores.append(score)
        return [_passage([self.chunks[j] for j in sorted(g)], sc) for g, sc in zip(groups, scores)]

    def _coverage(self, question: str, ranked: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
        """Re-rank the best COVERAGE_POOL chunks greedily by fused score (relative to the best)
        plus COVERAGE times the IDF share of the question's words that the chunk adds to those
        the chunks ranked before it already hold: a question about two things gets passages
        about each, not five about the one that most of its words are about."""
        terms = set(content_words(question))
        weight = {t: self.idf.get(t, 0.0) for t in terms}
        total = sum(weight.values())
        pool = list(ranked[:COVERAGE_POOL])
        if not total or len(pool) < 2:
            return list(ranked)
        top = max(s for _, s in pool) or 1.0
        holds = {i: self._words(i) & terms for i, _ in pool}
        out: list[tuple[int, float]] = []
        covered: set[str] = set()
        while pool:
            best = max(pool, key=lambda c: c[1] / top + COVERAGE * sum(weight[t] for t in holds[c[0]] - covered) / total)
            pool.remove(best)
            out.append(best)
            covered |= holds[best[0]]
        return out + list(ranked[COVERAGE_POOL:])

    def _named_authors(self, question: str, files: Sequence[str] = ()) -> list[Section]:
        """The (file, author) of every section whose author the question names by surname
        ("How do Pashayeva and Gauin differ?"), in the order the question names them."""
        return [fa for _, fa in self._authors_at(question, files)]

    def _authors_at(self, question: str, files: Sequence[str]) -> list[tuple[int, Section]]:
        """`_named_authors`, each with where the question first names the author."""
        return [(at, (f, a)) for at, a in named_author_positions(question, self.author_files)
                for f in self.author_files[a] if not files or f in files]

    def _named_sources(self, question: str, files: Sequence[str] = ()) -> list[Section]:
        """The sections the question names by their author (`_named_authors`) or, with NAMED_PIECES,
        by a phrase whose word only one section holds ("the ISA report", "the shadow-conflict
        article"), in the order the question names them."""
        found = self._authors_at(question, files)
        if NAMED_PIECES:
            for phrase in source_phrases(question):
                end = question.find(phrase) + len(phrase)  # "the essay on the smart village": what it is on
                if on := _ON.match(question, end):
                    phrase += on.group(0)
                piece = self._piece_named(phrase)
                if piece and (not files or piece[0] in files) and piece not in [fa for _, fa in found]:
                    found.append((question.find(phrase), piece))
        return [fa for _, fa in sorted(found, key=lambda x: x[0])]

    def _piece_named(self, phrase: str) -> Section | None:
        """The section a source phrase names: by a word of its text no other section's holds
        ("the ISA report"), else by a word of its title that few chunks of other sections hold
        ("the hybrid-war article"; not "time", "France")."""
        titles, texts = self._piece_words()
        terms = [w for w in with_parts(content_words(phrase)) if w not in _GENERIC_SOURCE]
        hits = Counter(next(iter(texts[w])) for w in terms if len(texts.get(w, ())) == 1)
        if not hits:
            for w in terms:
                if len(titles.get(w, ())) == 1:
                    piece = next(iter(titles[w]))
                    if sum(n for other, n in texts.get(w, Counter()).items() if other != piece) <= TITLE_ELSEWHERE * len(self.chunks):
                        hits[piece] += 1
        return hits.most_common(1)[0][0] if hits else None

    def _piece_words(self) -> tuple[dict[str, set[Section]], dict[str, Counter[Section]]]:
        """Each content word and the sections (file, author) whose title holds it, and how many
        chunks of each section hold it in their text."""
        if self._pieces is None:
            titles: dict[str, set[Section]] = {}
            texts: dict[str, Counter[Section]] = {}
            for c in self.chunks:
                for w in with_parts(content_words(embed_text(c).split("\n", 1)[0])):
                    titles.setdefault(w, set()).add((c.file, c.author))
                for w in with_parts(content_words(c.text)):
                    texts.setdefault(w, Counter())[(c.file, c.author)] += 1
            self._pieces = (titles, texts)
        return self._pieces

    def _author_bests(self, question: str, named: Sequence[tuple[str, str | None]], candidates: int) -> list[tuple[int, float]]:
        """The best AUTHOR_CHUNKS chunks of each named author's sections, in turn (A's best, B's
        best, A's second, ...), ranked for the question's parts that name no author ("Do the
        resolutions reflect French policy? How do A and B differ?": the first), else for the
        question, less the names (within an author's chunks a name tells nothing, and a byline or
        bio matches it): the whole-corpus ranking may hold none of them."""
        topical = [p for p in subqueries(question) if not set(self._named_sources(p)) & set(named)]
        topic = " ".join(topical) if TOPICAL_PARTS and topical else question
        for n in {n for _, a in named for n in author_names(a)}:
            topic = re.sub(rf"\b{re.escape(n)}(?:['’]s)?\b", " ", topic)
        if NAMED_PIECES:  # "the ISA report": where to look, not what to find
            topic = without_sources(topic)
        per: list[list[tuple[int, float]]] = []
        for f, a in named:
            ranked = self._fuse(topic, int(np.sum(self.files == f)), (f,))
            per.append([(i, s) for i, s in ranked if self.chunks[i].author == a][:AUTHOR_CHUNKS])
        picks: list[tuple[int, float]] = []
        for rank in range(AUTHOR_CHUNKS):
            picks.extend(own[rank] for own in per if rank < len(own))
        return picks

    def _words(self, i: int) -> frozenset[str]:
        if (got := self._terms.get(i)) is None:
            got = self._terms[i] = frozenset(content_words(embed_text(self.chunks[i])))
        return got

    def _enumeration(self, ranked: Sequence[tuple[int, float]], k: int, count: int) -> list[tuple[int, float]]:
        """For a question that asks for `count` items ("the three ways ..."): when one of the top k
        chunks, or the chunk after it, opens a list ("First, ..."), the chunks that go on with it
        ("Second, ...", "The third ...") in the same section come right after it in the ranking,
        so that every item of the list reaches the top k, not only the one that shares words."""
        for a, score in ranked[:k]:
            anchor = self.chunks[a]
            found: dict[int, int] = {}
            for j in range(a, min(a + ENUM_WINDOW + 1, len(self.chunks))):
                if not _same_section(self.chunks[j], anchor):
                    break
                for n in list_positions(self.chunks[j].text, count):
                    if n == 1 or 1 in found:
                        found.setdefault(n, j)
                if 1 not in found and j > a:
                    break  # the list must open in the anchor or the chunk after it
                if all(n in found for n in range(1, count + 1)):
                    break
            follow = sorted({j for n, j in found.items() if j != a and (n > 1 or j == a + 1)})
            if len(found) < 2:
                continue
            rest = [(i, s) for i, s in ranked if i not in follow]
            at = rest.index((a, score)) + 1
            return [*rest[:at], *((j, score) for j in follow), *rest[at:]]
        return list(ranked)

    def _bylines(self, ranked: Sequence[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        """For a question about who wrote a piece: the chunk whose text names the author of the
        best chunk's section (its byline, credit line or closing bio) goes first. The author is
        in every chunk's header, so all chunks of the section match the question alike."""
        if not ranked:
            return []
        best, score = ranked[0]
        c = self.chunks[best]
        names = surnames(c.author)
        first = best  # chunks are stored in reading order: the section is a run around the best
        while first > 0 and _same_section(self.chunks[first - 1], c):
            first -= 1
        j = first
        while names and j < len(self.chunks) and _same_section(self.chunks[j], c):
            if all(n in self.chunks[j].text for n in names):
                return [(j, score + 1.0), *((x, s) for x, s in ranked if x != j)]
            j += 1
        return list(ranked)

    def _fuse(self, question: str, candidates: int, files: Sequence[str],
              lexical: Sequence[tuple[int, float]] | None = None) -> list[tuple[int, float]]:
        """Dense and BM25 lists fused by reciprocal rank (`lexical`: the BM25 list, when already made)."""
        fused: dict[int, float] = {}
        if lexical is None:
            lexical = self.lexical(question, candidates, files)
        for hits in (self.dense(question, candidates, files), lexical):
            for rank, (i, _) in enumerate(hits):
                fused[i] = fused.get(i, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        return sorted(fused.items(), key=lambda kv: -kv[1])


COVERAGE = 0.2  # weight of the question words a chunk adds (0: rank by fused score alone)
COVERAGE_POOL = 15
ENUMERATION = True
# the whole question's best BM25 chunk is put in the top k (at this 0-based position, None: off):
# summed over the question and its parts, ranks can bury the one chunk holding its exact words
LEXICAL_PIN: int | None = 4
NAMED_AUTHORS = 2  # a question naming this many section authors or more gets each one's best chunks in the top k
AUTHOR_CHUNKS = 2  # ... this many of each, in turn
_GENERIC_SOURCE = frozenset(content_words(" ".join(PIECE_WORDS) + " account according per"))
_ON = re.compile(r"\s+(?:on|about|regarding)\s+(?:\S+\s+){0,7}?[^\s,?.;:]+(?=[,?.;:]|\s+(?:and|say|says|said|is|are|was|were|do|does|did)\b|$)", re.IGNORECASE)
TITLE_ELSEWHERE = 0.03  # ... or a word of its title that at most this share of the chunks of other sections hold
NAMED_PIECES = True  # ... or names by a phrase only one section's words match ("the ISA report")
TOPICAL_PARTS = True  # ... ranked for the question's parts that name no author
ENUM_WINDOW = 12  # chunks after an enumeration's opening searched for its further items (~1.2k tokens)
EXTRA_CHUNKS = 9  # neighbours merged into the top-k passages (small chunks, wider context)
MAX_MERGED = 6


def _summed(lists: Sequence[Sequence[tuple[int, float]]]) -> list[tuple[int, float]]:
    """The chunks of all lists by the sum of their scores in each (reciprocal-rank fusion over the
    whole question and its parts: a chunk that answers one part and matches the whole question
    beats one that only one part's list ranks high)."""
    total: dict[int, float] = {}
    for lst in lists:
        for i, sc in lst:
            total[i] = total.get(i, 0.0) + sc
    return sorted(total.items(), key=lambda kv: -kv[1])


def _pin(ranked: Sequence[tuple[int, float]], picks: Sequence[tuple[int, float]], k: int,
         at: int = 1) -> list[tuple[int, float]]:
    """The ranking with each pick not already in its top k moved to position `at` (0-based; by
    default just after the best chunk), the next pick after it, ..."""
    out = list(ranked)
    for n, pick in enumerate(picks):
        if any(i == pick[0] for i, _ in out[:k]):
            continue
        out = [x for x in out if x[0] != pick[0]]
        out.insert(min(at + n, len(out)), pick)
    return out


def _same_section(a: Chunk, b: Chunk) -> bool:
    return a.file == b.file and a.section == b.section


def _passage(run: Sequence[Chunk], score: float) -> Passage:
    """A passage over consecutive chunks of one file (overlaps removed, offsets kept)."""
    first, last = run[0], run[-1]
    text = first.text
    end = first.clean_end
    for c in run[1:]:
        if c.clean_end <= end:
            continue
        if c.clean_start >= end:  # only whitespace lies between consecutive chunks, and a sentence ends there
            # a line break, not a space: a heading that ends a chunk stays a line of its own, as in
            # the document ("... War Effort" / "Kafkassam Editör ..." had been read as one sentence)
            text += "\n" * (c.clean_start - end) + c.text
        else:
            text += c.text[end - c.clean_start :]
        end = c.clean_end
    return Passage(
        file=first.file,
        start=first.start,
        end=max(c.end for c in run),
        text=text,
        score=score,
        line_start=first.line_start,
        line_end=max(c.line_end for c in run),
        section=first.section,
        author=first.author,
        title=first.title,
        chunk_id=first.id if len(run) == 1 else ",".join(c.id for c in run),
        clean_start=first.clean_start,
    )


def bm25_idf(bm25: bm25s.BM25, chunks: Sequence[Chunk]) -> dict[str, float]:
    """evidence.idf_table of the chunks' content words, read off the BM25 index's document
    frequencies: the same tokens, and tokenising every chunk twice doubled the open time."""
    try:
        df = np.diff(np.asarray(bm25.scores["indptr"]))
        vocab = bm25.vocab_dict
    except (AttributeError, KeyError, TypeError):  # no chunks (no BM25 index) or another bm25s
        return idf_table([content_words(embed_text(c)) for c in chunks])
    n = len(chunks)
    return {
        str(t): math.log(1 + (n - int(df[i]) + 0.5) / (int(df[i]) + 0.5))
        for t, i in vocab.items()
        if t and t != "_empty_" and i < len(df) and df[i] > 0
    }
