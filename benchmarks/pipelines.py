"""The measured work, one function per worker process: our pipeline and LlamaIndex's default.

Each worker runs in a fresh process (`python -m benchmarks.bench --worker NAME JOB_JSON`) so
that cold means cold and the peak RSS it reports is that pipeline's alone. Both pipelines use
the same packaged MiniLM model (LlamaIndex gets it wrapped as a BaseEmbedding, from
evals/baseline.py); LlamaIndex's global `Settings` is never touched: every object is passed in.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from .common import SEEDS, cpu_seconds, dir_size_mb, peak_rss_mb, percentiles, questions, rss_mb
from .embed_tune import raw_throughput

CHANGED_FILE = "004_0d75783bdc352dae.txt"
CHANGE = "\n\nA paragraph added for the benchmark: the ministers met again in Baku in May.\n"


def copy_seeds(dst: Path) -> Path:
    """A private copy of seeds/ that a run may modify."""
    shutil.copytree(SEEDS, dst)
    return dst


# ---- ours ------------------------------------------------------------------------------
def ours_cold(job: dict[str, Any]) -> dict[str, Any]:
    """Model load, raw embedding of the seeds' chunks, cold build, unchanged and one-file-changed
    re-index, open. Odd runs time the raw embedding after the build so order effects cancel."""
    from rag import Index, Settings
    from rag.chunking import chunk_document, embed_text
    from rag.documents import load_folder
    from rag.embedding import get_embedder

    run = Path(job["dir"])
    docs = copy_seeds(run / "docs")
    settings = Settings(docs_dir=str(docs), persist_dir=str(run / "index"), **job.get("store", {}))
    t = time.perf_counter()
    embedder = get_embedder(settings)
    model_s = time.perf_counter() - t
    loaded, _ = load_folder(settings.docs_path)
    texts = [embed_text(c) for d in loaded for c in chunk_document(d, settings.chunk_tokens, settings.chunk_overlap)]

    def raw() -> dict[str, float]:
        return raw_throughput(embedder, texts)

    raw_before = raw() if job["run"] % 2 == 0 else None
    embedder.cache_clear()  # type: ignore[attr-defined]
    c0 = cpu_seconds()
    cold = Index.build(settings)
    cold_cpu = cpu_seconds() - c0
    raw_embed = raw_before or raw()
    assert cold.report is not None
    unchanged = Index.build(settings).report
    with (docs / CHANGED_FILE).open("a", encoding="utf-8") as f:
        f.write(CHANGE)
    changed = Index.build(settings).report
    assert unchanged is not None and changed is not None and changed.changed_files == [CHANGED_FILE]
    t = time.perf_counter()
    opened = Index.open(settings)
    open_s = time.perf_counter() - t
    return {
        "model_load_s": round(model_s, 3),
        "chunks": cold.report.chunks,
        "raw_embed": raw_embed,
        "cold": _r(cold.report.seconds),
        "cold_cpu_s": round(cold_cpu, 2),
        "unchanged": _r(unchanged.seconds),
        "changed": {**_r(changed.seconds), "embedded": changed.embedded, "file": CHANGED_FILE},
        "open_s": round(open_s, 3),
        "index_mb": dir_size_mb(run / "index"),
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "chunks_open": len(opened.chunks),
    }


def ours_queries(job: dict[str, Any]) -> dict[str, Any]:
    """Retrieve and ask latency on an index a cold run built (uncached question embeddings)."""
    from rag import Answer, Index, Settings
    from rag.embedding import get_embedder
    from rag.question import subqueries

    settings = Settings(docs_dir=job["docs"], persist_dir=job["persist"], **job.get("store", {}))
    get_embedder(settings)  # the model load is reported by the cold runs, not as open time
    t = time.perf_counter()
    index = Index.open(settings)
    open_s = time.perf_counter() - t
    emb: Any = index.embedder
    qs = questions(job["queries"])
    index.retrieve(qs[0])  # warm-up
    lat, cpu, single = [], [], []
    for q in qs:
        emb.cache_clear()
        c, t = cpu_seconds(), time.perf_counter()
        index.retrieve(q)
        lat.append(time.perf_counter() - t)
        cpu.append(cpu_seconds() - c)
        if not subqueries(q):
            single.append(lat[-1])
    out: dict[str, Any] = {
        "open_s": round(open_s, 3), "retrieve": percentiles(lat), "retrieve_cpu": percentiles(cpu),
        "retrieve_single_part": percentiles(single),
    }
    asks, refused = [], 0
    for q in qs[: job["asks"]]:
        emb.cache_clear()
        t = time.perf_counter()
        refused += index.ask(q, generator="extractive").refused
        asks.append(time.perf_counter() - t)
    out["ask_extractive"] = {**percentiles(asks), "refused": refused}
    if job.get("local"):
        first, total = [], []
        index.ask(qs[0], generator="local")  # loads the model: not part of any answer's latency
        for q in qs[1 : 1 + job["local_questions"]]:
            emb.cache_clear()
            t = time.perf_counter()
            got_first = None
            for item in index.stream(q, generator="local"):
                if got_first is None and isinstance(item, str) and item:
                    got_first = time.perf_counter() - t
                if isinstance(item, Answer):
                    total.append(time.perf_counter() - t)
            first.append(got_first if got_first is not None else total[-1])
        out["ask_local"] = percentiles(total)
        out["first_token_local"] = percentiles(first)
    out["rss_mb"] = rss_mb()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# ---- LlamaIndex's default pipeline ---------------------------------------------------------
class TimedEmbedder:
    """Our embedder, adding up the seconds spent in it (to split LlamaIndex's build time)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim, self.seconds = inner, inner.name, inner.dim, 0.0

    def embed(self, texts: Sequence[str], progress: Any = None) -> Any:
        t = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - t


def _llamaindex_parts(persist: Path, collection: str) -> tuple[Any, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import StorageContext
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=str(persist), settings=ChromaSettings(anonymized_telemetry=False))
    coll = client.get_or_create_collection(collection, embedding_function=None)
    store = ChromaVectorStore(chroma_collection=coll)
    return coll, StorageContext.from_defaults(vector_store=store)


def llamaindex_cold(job: dict[str, Any]) -> dict[str, Any]:
    """SimpleDirectoryReader -> SentenceSplitter() -> VectorStoreIndex over a persistent Chroma,
    then `refresh_ref_docs` (LlamaIndex's own incremental update) unchanged and with one file changed."""
    from evals.baseline import _point_tiktoken_at_packaged_files, wrap_embedder

    _point_tiktoken_at_packaged_files()
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    from rag import Settings
    from rag.embedding import get_embedder

    run = Path(job["dir"])
    docs = copy_seeds(run / "docs")
    t = time.perf_counter()
    timed = TimedEmbedder(get_embedder(Settings()))
    embed_model = wrap_embedder(timed)
    model_s = time.perf_counter() - t

    t0 = time.perf_counter()
    documents = SimpleDirectoryReader(str(docs), filename_as_id=True).load_data()
    t1 = time.perf_counter()
    nodes = SentenceSplitter()(documents)  # timed alone; from_documents splits again below
    t2 = time.perf_counter()
    coll, storage = _llamaindex_parts(run / "index", "bench")
    timed.inner.cache_clear()
    t3 = time.perf_counter()
    index = VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embed_model, transformations=[SentenceSplitter()]
    )
    t4 = time.perf_counter()
    embed_s = timed.seconds
    build_s = t4 - t3
    cold = {
        "read": t1 - t0, "chunk": t2 - t1, "embed": embed_s,
        "write": max(build_s - embed_s - (t2 - t1), 0.0), "total": (t1 - t0) + build_s,
    }

    t = time.perf_counter()
    again = SimpleDirectoryReader(str(docs), filename_as_id=True).load_data()
    unchanged_refreshed = sum(index.refresh_ref_docs(again))
    unchanged_s = time.perf_counter() - t
    with (docs / CHANGED_FILE).open("a", encoding="utf-8") as f:
        f.write(CHANGE)
    timed.seconds = 0.0
    t = time.perf_counter()
    again = SimpleDirectoryReader(str(docs), filename_as_id=True).load_data()
    changed_refreshed = sum(index.refresh_ref_docs(again))
    changed_s = time.perf_counter() - t
    return {
        "model_load_s": round(model_s, 3),
        "chunks": len(nodes),
        "stored": int(coll.count()),
        "cold": _r(cold),
        "unchanged": {"total": round(unchanged_s, 3), "refreshed_docs": unchanged_refreshed},
        "changed": {"total": round(changed_s, 3), "refreshed_docs": changed_refreshed,
                    "embed": round(timed.seconds, 3)},
        "index_mb": dir_size_mb(run / "index"),
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
    }


def llamaindex_queries(job: dict[str, Any]) -> dict[str, Any]:
    """Open the persisted LlamaIndex index; retriever and query-engine latency."""
    from evals.baseline import _point_tiktoken_at_packaged_files, wrap_embedder

    _point_tiktoken_at_packaged_files()
    from llama_index.core import VectorStoreIndex
    from llama_index.core.llms import MockLLM

    from rag import Settings
    from rag.embedding import get_embedder

    emb: Any = get_embedder(Settings())
    embed_model = wrap_embedder(emb)
    t = time.perf_counter()
    _, storage = _llamaindex_parts(Path(job["persist"]), "bench")
    index = VectorStoreIndex.from_vector_store(storage.vector_store, embed_model=embed_model)
    open_s = time.perf_counter() - t
    qs = questions(job["queries"])
    retriever = index.as_retriever(similarity_top_k=5)
    retriever.retrieve(qs[0])
    lat, cpu = [], []
    for q in qs:
        emb.cache_clear()
        c, t = cpu_seconds(), time.perf_counter()
        retriever.retrieve(q)
        lat.append(time.perf_counter() - t)
        cpu.append(cpu_seconds() - c)
    out: dict[str, Any] = {"open_s": round(open_s, 3), "retrieve": percentiles(lat), "retrieve_cpu": percentiles(cpu)}
    engine: Any = index.as_query_engine(llm=MockLLM(max_tokens=64))
    asks = []
    for q in qs[: job["asks"]]:
        emb.cache_clear()
        t = time.perf_counter()
        engine.query(q)
        asks.append(time.perf_counter() - t)
    out["ask_mockllm"] = percentiles(asks)
    if job.get("local"):
        llm = local_llm_for_llamaindex()
        engine = index.as_query_engine(llm=llm, streaming=True)
        engine.query(qs[0]).get_response()  # warm-up: the model loads here
        first, total = [], []
        for q in qs[1 : 1 + job["local_questions"]]:
            emb.cache_clear()
            t = time.perf_counter()
            got_first = None
            for delta in engine.query(q).response_gen:
                if got_first is None and delta:
                    got_first = time.perf_counter() - t
            total.append(time.perf_counter() - t)
            first.append(got_first if got_first is not None else total[-1])
        out["ask_local"] = percentiles(total)
        out["first_token_local"] = percentiles(first)
    out["rss_mb"] = rss_mb()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def local_llm_for_llamaindex() -> Any:
    """A llama-index CustomLLM on the same llama.cpp server and model our `local` generator uses."""
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
    from llama_index.core.llms.callbacks import llm_completion_callback

    from rag import Settings
    from rag.generation import get_generator

    settings = Settings(generator="local")
    gen: Any = get_generator(settings)
    client = gen.connect()  # starts (or reuses) the in-process llama.cpp server
    model = gen.model

    class LocalLlamaCpp(CustomLLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=settings.local_ctx, num_output=settings.max_new_tokens,
                               model_name="local")

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            text = "".join(d.delta or "" for d in self.stream_complete(prompt))
            return CompletionResponse(text=text)

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Iterator[CompletionResponse]:
            stream = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": prompt}],
                max_tokens=settings.max_new_tokens, temperature=0.0, stream=True,
            )
            text = ""
            for chunk in stream:
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    text += delta
                    yield CompletionResponse(text=text, delta=delta)

    return LocalLlamaCpp()


def _r(seconds: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in seconds.items()}


WORKERS = {
    "ours_cold": ours_cold,
    "ours_queries": ours_queries,
    "llamaindex_cold": llamaindex_cold,
    "llamaindex_queries": llamaindex_queries,
}
