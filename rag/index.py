"""The facade that wires the stages: Index.build / open / retrieve / ask / stream."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from filelock import FileLock

from . import citations
from .chunking import chunk_document, embed_text
from .config import Settings
from .documents import Skipped, check_folder, list_files, load_folder, read_document
from .embedding import Embedder, get_embedder
from .errors import BackendError, DocumentError, IndexNotFoundError, QuestionError
from .evidence import Sentence, answerable, evidence_strength, score_sentences
from .generation import REFUSAL, Generator, Turn, get_generator
from .question import analyse, subqueries
from .retrieval import Mode, Retriever
from .store import PIPELINE_VERSION, Snapshot, Store, check_index_dir, lock_path
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

    def __init__(
        self, settings: Settings, store: Store, embedder: Embedder, snapshot: Snapshot | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        # One committed state, held for the life of this Index: a concurrent `rag index` never
        # shows it half-written (passages come from these chunks; unknown dense ids are skipped).
        snap = snapshot or store.snapshot()
        store.pin(snap)
        self.docs_root = Path(str(store.meta.get("docs_dir") or settings.docs_path))
        if store.meta.get("pipeline_version") not in (None, PIPELINE_VERSION):
            log.warning(
                "the index in %s was made by an older version of the cleaning and chunking (version %s, "
                "this is %s): answers use its old passages; run `rag index` to update it",
                settings.chroma_url or settings.persist_path, store.meta.get("pipeline_version"), PIPELINE_VERSION)
        self.chunks: list[Chunk] = snap.chunks
        self.hashes = dict(snap.hashes)
        self.generation = snap.generation
        self.retriever = Retriever(store, embedder, self.chunks, rrf_k=settings.rrf_k)
        self.idf = self.retriever.idf
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
        index = cls._update(settings or Settings(), progress, rebuild, open_after=True)
        assert isinstance(index, Index)
        return index

    @classmethod
    def update(
        cls, settings: Settings | None = None, progress: Progress | None = None, rebuild: bool = False
    ) -> BuildReport:
        """Build or incrementally update the index without opening it (what `rag index` runs):
        an unchanged folder costs reading the manifest and hashing the files, not an open."""
        report = cls._update(settings or Settings(), progress, rebuild, open_after=False)
        assert isinstance(report, BuildReport)
        return report

    @classmethod
    def _update(
        cls, settings: Settings, progress: Progress | None, rebuild: bool, open_after: bool
    ) -> "Index | BuildReport":
        report = BuildReport()
        t0 = time.perf_counter()
        check_folder(settings.docs_path)  # no folder to index: say so before an empty index is made
        check_index_dir(settings)  # a read-only or uncreatable folder: say so before the lock fails
        lock = lock_path(settings)
        lock.parent.mkdir(parents=True, exist_ok=True)
        # one writer at a time, across processes (in server mode: per server and collection)
        with FileLock(str(lock)):
            tl = time.perf_counter()
            embedder = get_embedder(settings)
            tm = time.perf_counter()
            if rebuild:
                Store.reset(settings)
            store = Store(settings, embedder.name, embedder.dim, create=True)
            committed = store.committed_files()
            damaged = store.discard_uncommitted()  # left half-written by a killed `rag index`
            for f in damaged:
                del committed[f]  # written again below, like a new file
            rechunk = not store.compatible_chunking
            if rechunk and committed:
                log.warning("chunking settings changed since the last build: re-indexing every file")
            docs, unchanged, report.skipped = _read_folder(settings, {} if rechunk else committed)
            report.files = len(docs) + len(unchanged)
            t1 = time.perf_counter()
            current = {**unchanged, **{d.file: d.sha256 for d in docs}}
            report.removed_files = sorted(set(committed) - set(current))
            report.changed_files = sorted(
                f for f in current if f in committed and (rechunk or committed[f][0] != current[f])
            )
            report.added_files = sorted(f for f in current if f not in committed)
            fresh = set(report.changed_files + report.added_files)
            todo = [d for d in docs if d.file in fresh]
            per_doc = {d.file: chunk_document(d, settings.chunk_tokens, settings.chunk_overlap) for d in todo}
            new_chunks = [c for d in todo for c in per_doc[d.file]]
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
            if todo or damaged or report.removed_files or store.meta.get("docs_dir") != str(settings.docs_path):
                # new chunks first, then the commit, then the deletes: readers see the old
                # files or the new ones, never a file with no chunks
                store.add(new_chunks, vectors, {d.file: d.sha256 for d in todo})
                files = {f: committed[f] for f in current if f not in per_doc}
                files.update({f: (current[f], len(cs)) for f, cs in per_doc.items()})
                store.commit(files, written=list(per_doc), docs_dir=str(settings.docs_path))
                store.delete_superseded(report.changed_files + damaged, report.removed_files)
            else:
                files = {f: committed[f] for f in current}
            t4 = time.perf_counter()
            report.embedded = total
            index = None
            if open_after:
                snapshot = None
                if not committed or rechunk:  # everything was just written: no need to read it back
                    chunks = sorted(new_chunks, key=lambda c: (c.file, c.start))
                    snapshot = Snapshot(chunks, current, store.generation)
                index = cls(settings, store, embedder, snapshot)
                report.chunks = len(index.chunks)
            else:
                report.chunks = sum(n for _, n in files.values())
            t5 = time.perf_counter()
            report.seconds = {
                "lock": tl - t0, "model": tm - tl, "read": t1 - tm, "chunk": t2 - t1, "embed": t3 - t2,
                "write": t4 - t3, "open": t5 - t4, "total": t5 - t0,
            }
        if index is None:
            return report
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
        if not isinstance(question, str):
            raise QuestionError(f"expected the question as a str, found {type(question).__name__}: pass text")
        q = " ".join(question.split())
        if not q.isprintable():  # drop control and format characters: NUL, zero-width spaces, bidi marks
            q = " ".join("".join(ch for ch in q if ch.isprintable()).split())
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
        if mode == "hybrid" and (parts := subqueries(q)):
            # one batched model call for the question and its parts; the retriever's
            # one-at-a-time embeds then hit the embedder's cache
            self.embedder.embed([q, *parts])
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
        """Yield text deltas, then the complete Answer with its citations. A bad question
        (empty, too long) or generator raises here, not at the first `next()`."""
        t = time.perf_counter()
        q = self._check(question)
        name = generator or self.settings.generator
        return self._stream(q, name, self._generator(name), t, k, history, files)

    def _stream(
        self, q: str, name: str, gen: Generator, t: float, k: int | None, history: Sequence[Turn], files: Sequence[str]
    ) -> Iterator[str | Answer]:
        timings: dict[str, float] = {}
        standalone = gen.condense(q, history) if history else q
        passages = self.retrieve(standalone, k=k, files=files)
        timings["retrieve"] = time.perf_counter() - t
        t = time.perf_counter()
        analysis = analyse(standalone)
        sentences = score_sentences(standalone, passages, self.embedder, self.idf, analysis)
        strength = evidence_strength(sentences)
        timings["evidence"] = time.perf_counter() - t
        base: dict[str, object] = dict(question=q, passages=passages, generator=name,
                    standalone_question=standalone if standalone != q else None)
        # too little evidence, or none holding the kind of answer asked for ("how many": a number)
        if strength < self.settings.refusal_threshold or not answerable(analysis, sentences, passages):
            if strength >= self.settings.refusal_threshold:  # on topic, but the asked detail is missing
                base["notice"] = (f"The passages closest to this question do not give the {analysis.expects} "
                                  "it asks for.")
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
            parts = self._quotes(standalone, passages, sentences, history)
            for delta in parts:
                yield delta
        raw_text = "".join(parts)
        timings["generate"] = time.perf_counter() - t
        t = time.perf_counter()
        answer = self._finish(raw_text, passages, timings, t, base)
        if answer.refused and base["generator"] in self.settings.refusal_fallback:
            # the evidence check found an answer of the asked kind, the model did not: quote the sources
            log.info("%s refused an answerable-looking question; showing the extractive answer", name)
            quotes = self._quotes(standalone, passages, sentences, history)
            if not is_refusal("".join(quotes)):
                yield "\n\n"
                yield from quotes
                base["generator"] = "extractive"
                why = "its answer was not supported by them" if answer.notice else "it said they do not answer"
                base["notice"] = (f"The {name} model did not answer from these passages ({why}); showing the "
                                  "sentences of the sources that best match the question instead.")
                answer = self._finish("".join(quotes), passages, timings, time.perf_counter(), base)
        yield answer

    def _quotes(self, question: str, passages: Sequence[Passage], sentences: Sequence[Sentence],
                history: Sequence[Turn]) -> list[str]:
        """The extractive answer's deltas: what a fallback shows instead of a generator's answer."""
        return list(self._generator("extractive").stream(question, passages, sentences, history))

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
        if res.unsupported and len(res.unsupported) >= res.sentences:
            # not one sentence is backed by its sources: an answer that looks cited but is not
            log.info("refused: no sentence of the answer is supported by the sources: %r", res.text[:300])
            return Answer(text=REFUSAL, refused=True, dropped_markers=res.dropped, timings=timings,
                          **{**base, "notice": "The model answered, but no sentence of its answer is supported by "
                                               "the sources, so it is not shown."})  # type: ignore[arg-type]
        return Answer(text=res.text, citations=res.citations, unsupported=res.unsupported,
                      dropped_markers=res.dropped, timings=timings, **base)  # type: ignore[arg-type]

    def _generator(self, name: str) -> Generator:
        if name not in self._generators:
            self._generators[name] = get_generator(self.settings.replace(generator=name))
        return self._generators[name]


def _read_folder(
    settings: Settings, known: dict[str, tuple[str, int]]
) -> tuple[list[Document], dict[str, str], list[Skipped]]:
    """load_folder, except that a file whose bytes still hash to its committed sha256 is only
    hashed, not decoded and cleaned again (that was most of an unchanged re-index).
    Returns (documents read, unchanged file -> sha256, skipped files)."""
    root = settings.docs_path
    if not known or not root.is_dir():  # load_folder also says why a missing folder is wrong
        everything, failed = load_folder(root, settings.max_file_bytes)
        return everything, {}, failed
    unchanged: dict[str, str] = {}
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in list_files(root):  # escaping symlinks too: reported as skipped on every run
        rel = path.relative_to(root).as_posix()
        entry = known.get(rel)
        try:
            if entry and not path.is_symlink() and path.stat().st_size <= settings.max_file_bytes:
                if hashlib.sha256(path.read_bytes()).hexdigest() == entry[0]:
                    unchanged[rel] = entry[0]
                    continue
            docs.append(read_document(path, root, settings.max_file_bytes))
        except (OSError, DocumentError) as exc:
            log.warning("%s", exc)
            skipped.append(Skipped(rel, str(exc)))
    return docs, unchanged, skipped


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
