"""question -> ranked passages: dense (Chroma), BM25 (bm25s), fused by reciprocal rank."""

from __future__ import annotations

import logging
from typing import Literal, Sequence

import bm25s
import numpy as np

from .chunking import embed_text
from .embedding import Embedder
from .store import Store
from .text import content_words
from .types import Chunk, Passage

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG; keep its chatter out of our users' terminals
logging.getLogger("bm25s").setLevel(logging.WARNING)

Mode = Literal["hybrid", "dense", "bm25"]


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
        """Top-k passages; hybrid fuses dense and BM25 ranks with RRF (score = Σ 1/(rrf_k + rank))."""
        if mode == "dense":
            ranked = self.dense(question, k, files)
        elif mode == "bm25":
            ranked = self.lexical(question, k, files)
        else:
            fused: dict[int, float] = {}
            for hits in (self.dense(question, candidates, files), self.lexical(question, candidates, files)):
                for rank, (i, _) in enumerate(hits):
                    fused[i] = fused.get(i, 0.0) + 1.0 / (self.rrf_k + rank + 1)
            ranked = sorted(fused.items(), key=lambda kv: -kv[1])
        return [_passage(self.chunks[i], score) for i, score in ranked[:k]]


def _passage(c: Chunk, score: float) -> Passage:
    return Passage(
        file=c.file,
        start=c.start,
        end=c.end,
        text=c.text,
        score=score,
        line_start=c.line_start,
        line_end=c.line_end,
        section=c.section,
        author=c.author,
        title=c.title,
        chunk_id=c.id,
        clean_start=c.clean_start,
    )
