"""The facade that wires the stages: Index.build / open / retrieve / ask / stream."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from filelock import FileLock

from . import citations
from .chunking import chunk_document, embed_text
from .config import Settings
from .documents import Skipped, load_folder, read_document
from .embedding import Embedder, get_embedder
from .errors import BackendError, DocumentError, IndexNotFoundError, QuestionError
from .evidence import Sentence, evidence_strength, idf_table, score_sentences
from .generation import REFUSAL, Generator, Turn, get_generator
from .retrieval import Mode, Retriever
from .store import Store
from .text import content_words
from .types import Answer, Chunk, Document, Passage

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildReport:
    """What a build did."""

    files: int = 0
    chunks: int = 0
    embedded: int = 0
    added_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class Index:
    """An opened index: retrieval and answering over the indexed folder."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.docs_root = Path(str(store.meta.get("docs_dir") or settings.docs_path))
        self.chunks: list[Chunk] = store.chunks()
        self.hashes = {c_file: sha for c_file, sha in store.file_hashes().items()}
        self.retriever = Retriever(store, embedder, self.chunks, rrf_k=settings.rrf_k)
        self.idf = idf_table([content_words(embed_text(c)) for c in self.chunks])
        self._docs: dict[str, tuple[tuple[int, int], Document | None]] = {}
        self._generators: dict[str, Generator] = {}
        self.report: BuildReport | None = None

    # ---- construction -------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings | None = None) -> "Index":
        """Open an existing index; IndexNotFoundError if there is none."""
        settings = settings or Settings()
        embedder = get_embedder(settings)
        return cls(settings, Store(settings, embedder.name, embedder.dim, create=False), embedder)

    @classmethod
    def build(
        cls, settings: Settings | None = None, progress: Progress | None = None, rebuild: bool = False
    ) -> "Index":
        """Build or incrementally update the index of settings.docs_dir, then open it."""
        settings = settings or Settings()
        report = BuildReport()
        t0 = time.perf_counter()
        settings.persist_path.mkdir(parents=True, exist_ok=True)
        with FileLock(str(settings.persist_path / ".write.lock")):
            docs, report.skipped = load_folder(settings.docs_path, settings.max_file_bytes)
            report.files = len(docs)
            t1 = time.perf_counter()
            embedder = get_embedder(settings)
            if rebuild:
                Store.reset(settings)
            store = Store(settings, embedder.name, embedder.dim, create=True)
            if not store.compatible_chunking:
                log.warning("chunking settings changed since the last build: re-indexing every file")
                Store.reset(settings)
                store = Store(settings, embedder.name, embedder.dim, create=True)
            stored = store.file_hashes()
            current = {d.file: d for d in docs}
            report.removed_files = sorted(set(stored) - set(current))
            report.changed_files = sorted(f for f in current if f in stored and stored[f] != current[f].sha256)
            report.added_files = sorted(f for f in current if f not in stored)
            todo = [current[f] for f in report.changed_files + report.added_files]
            new_chunks = [
                c for d in todo for c in chunk_document(d, settings.chunk_tokens, settings.chunk_overlap)
            ]
            t2 = time.perf_counter()
            total = len(new_chunks)
            done = 0

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress:
                    progress("embedding", done, total)

            vectors = embedder.embed([embed_text(c) for c in new_chunks], progress=tick)
            t3 = time.perf_counter()
            store.delete_files(report.removed_files + report.changed_files)
            store.add(new_chunks, vectors, {d.file: d.sha256 for d in todo})
            if store.meta.get("docs_dir") != str(settings.docs_path):
                store.set_meta(docs_dir=str(settings.docs_path))
            t4 = time.perf_counter()
            report.embedded = total
            index = cls(settings, store, embedder)
            report.chunks = len(index.chunks)
            report.seconds = {
                "read": t1 - t0, "chunk": t2 - t1, "embed": t3 - t2, "write": t4 - t3,
                "open": time.perf_counter() - t4, "total": time.perf_counter() - t0,
            }
        index.report = report
        return index

    # ---- documents ----------------------------------------------------------------
    def document(self, file: str) -> Document | None:
        """The indexed document as it is on disk now, or None if it changed since indexing."""
        path = self.docs_root / file
        try:
            st = path.stat()
        except OSError:
            log.warning("%s is no longer in %s: its passages cannot be cited", file, self.docs_root)
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._docs.get(file)
        if cached and cached[0] == stamp:
            return cached[1]
        doc: Document | None
        try:
            doc = read_document(path, self.docs_root, self.settings.max_file_bytes)
        except DocumentError as exc:
            log.warning("cannot re-read %s: %s", file, exc)
            doc = None
        if doc is not None and doc.sha256 != self.hashes.get(file):
            log.warning("%s changed since it was indexed: run `rag index` to cite it again", file)
            doc = None
        self._docs[file] = (stamp, doc)
        return doc

    @property
    def files(self) -> list[str]:
        """Indexed files, sorted."""
        return sorted(self.hashes)

    # ---- querying -----------------------------------------------------------------
    def _check(self, question: str) -> str:
        q = " ".join(question.split()) if isinstance(question, str) else ""
        q = "".join(ch for ch in q if ch.isprintable())
        if not q:
            raise QuestionError("the question is empty: type a question about the indexed documents")
        if len(q) > self.settings.max_question_chars:
            raise QuestionError(
                f"the question is {len(q):,} characters long; the limit is "
                f"{self.settings.max_question_chars:,} (RAG_MAX_QUESTION_CHARS): shorten it"
            )
        return q

    def retrieve(
        self, question: str, k: int | None = None, files: Sequence[str] = (), mode: Mode = "hybrid"
    ) -> list[Passage]:
        """The k passages that best match the question (offsets into the original files)."""
        q = self._check(question)
        files = tuple(files) or self.settings.file_filter
        return self.retriever.retrieve(q, k or self.settings.top_k, self.settings.candidate_k, files, mode)

    def ask(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[Turn] = (),
        files: Sequence[str] = (),
        generator: str | None = None,
    ) -> Answer:
        """Answer with verified citations (or refuse when the documents do not answer)."""
        answer: Answer | None = None
        for item in self.stream(question, k=k, history=history, files=files, generator=generator):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None  # stream always ends with an Answer
        return answer

    def stream(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[Turn] = (),
        files: Sequence[str] = (),
        generator: str | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text deltas, then the complete Answer with its citations."""
        timings: dict[str, float] = {}
        t = time.perf_counter()
        q = self._check(question)
        name = generator or self.settings.generator
        gen = self._generator(name)
        standalone = gen.condense(q, history) if history else q
        passages = self.retrieve(standalone, k=k, files=files)
        timings["retrieve"] = time.perf_counter() - t
        t = time.perf_counter()
        sentences = score_sentences(standalone, passages, self.embedder, self.idf)
        strength = evidence_strength(sentences)
        timings["evidence"] = time.perf_counter() - t
        base = dict(question=q, passages=passages, generator=name,
                    standalone_question=standalone if standalone != q else None)
        if strength < self.settings.refusal_threshold:
            yield REFUSAL
            yield Answer(text=REFUSAL, refused=True, timings=timings, **base)  # type: ignore[arg-type]
            return
        t = time.perf_counter()
        parts: list[str] = []
        try:
            for delta in gen.stream(standalone, passages, sentences, history):
                if not parts:
                    timings["first_token"] = time.perf_counter() - t
                parts.append(delta)
                yield delta
        except BackendError as exc:
            if not self.settings.fallback_to_extractive or name == "extractive":
                raise
            # say so, then answer extractively rather than leave the user with nothing
            log.warning("%s; falling back to the extractive answer", exc)
            base["notice"] = f"{exc} — showing the extractive answer instead."
            base["generator"] = "extractive"
            if parts:
                yield "\n\n"
            parts = list(self._generator("extractive").stream(standalone, passages, sentences, history))
            for delta in parts:
                yield delta
        raw_text = "".join(parts)
        timings["generate"] = time.perf_counter() - t
        t = time.perf_counter()
        yield self._finish(raw_text, passages, timings, t, base)

    def _finish(self, raw_text: str, passages: Sequence[Passage], timings: dict[str, float],
                t: float, base: dict[str, object]) -> Answer:
        if is_refusal(raw_text):
            timings["cite"] = time.perf_counter() - t
            return Answer(text=REFUSAL, refused=True, timings=timings, **base)  # type: ignore[arg-type]
        docs = {p.file: d for p in passages if (d := self.document(p.file)) is not None}
        res = citations.resolve(raw_text, passages, docs, self.embedder, self.idf)
        timings["cite"] = time.perf_counter() - t
        if not res.citations:
            return Answer(text=REFUSAL, refused=True, dropped_markers=res.dropped, timings=timings,
                          **base)  # type: ignore[arg-type]
        return Answer(text=res.text, citations=res.citations, unsupported=res.unsupported,
                      dropped_markers=res.dropped, timings=timings, **base)  # type: ignore[arg-type]

    def _generator(self, name: str) -> Generator:
        if name not in self._generators:
            self._generators[name] = get_generator(self.settings.replace(generator=name))
        return self._generators[name]


def is_refusal(text: str) -> bool:
    """Whether generated text is (essentially) the fixed refusal sentence."""
    norm = " ".join(citations.MARKER.sub(" ", text).split()).strip().lower()
    return norm.rstrip(".") == REFUSAL.lower().rstrip(".") or (
        norm.startswith(REFUSAL.lower().rstrip(".")) and len(norm) < len(REFUSAL) + 20
    )


def ask(question: str, settings: Settings | None = None) -> Answer:
    """One call: open the index (building it if missing) and answer."""
    settings = settings or Settings.from_env()
    try:
        index = Index.open(settings)
    except IndexNotFoundError:
        index = Index.build(settings)
    return index.ask(question)
