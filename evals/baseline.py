"""The baseline a user would build first: LlamaIndex's default pipeline over the raw files.

VectorStoreIndex over Chroma (an in-memory EphemeralClient, telemetry off), SentenceSplitter
with its defaults (chunk_size=1024, chunk_overlap=200), the same packaged MiniLM model wrapped
as a llama-index `BaseEmbedding`, and a plain `as_retriever(similarity_top_k=k)`.

Nothing here may fetch a model: the embedder is passed explicitly (llama-index's global
`Settings` singleton is never touched), the Chroma collection is created with
`embedding_function=None`, and tiktoken is pointed at the BPE files llama-index ships.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from evals.check_gold import locate

log = logging.getLogger(__name__)


def _point_tiktoken_at_packaged_files() -> None:
    # Must happen before llama_index/tiktoken first load an encoding, or tiktoken downloads it.
    spec = importlib.util.find_spec("llama_index.core")
    if spec and spec.submodule_search_locations:
        cache = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))


@dataclass(frozen=True)
class BaselinePassage:
    """One retrieved node mapped back to the original file."""

    file: str
    start: int
    end: int
    score: float
    text: str


def node_span(node: Any, raw: str) -> tuple[int, int]:
    """The node's [start, end) in raw: its recorded char offsets when they match, else a search.

    SentenceSplitter records start/end_char_idx when it finds the chunk verbatim in the document;
    when it re-joined splits with different whitespace we locate the text (whitespace-flexible),
    then fall back to locating its first and last words. (-1, -1) when nothing matches.
    """
    text: str = node.get_content()
    s, e = node.start_char_idx, node.end_char_idx
    if s is not None and e is not None and raw[s:e] == text:
        return int(s), int(e)
    try:
        return locate(text, raw)
    except ValueError:
        pass
    words = text.split()
    head, tail = " ".join(words[:12]), " ".join(words[-12:])
    try:
        hs, _ = locate(head, raw)
        _, te = locate(tail, raw[hs:])
        return hs, hs + te
    except ValueError:
        log.warning("baseline node not found in its file: %r", text[:60])
        return -1, -1


class Baseline:
    """LlamaIndex defaults over Chroma with the MiniLM embedder; retrieval only."""

    name = "llamaindex-default"

    def __init__(self, raws: Mapping[str, str], embedder: Any) -> None:
        """Index every file of `raws` (file name -> raw text) with the default SentenceSplitter."""
        _point_tiktoken_at_packaged_files()
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.raws = dict(raws)
        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        # A fresh name per instance: EphemeralClients in one process share their in-memory system.
        collection = client.get_or_create_collection(
            f"baseline-{uuid.uuid4().hex[:8]}", embedding_function=None
        )
        store = ChromaVectorStore(chroma_collection=collection)
        docs = [Document(text=raw, metadata={"file_name": name}) for name, raw in sorted(self.raws.items())]
        splitter = SentenceSplitter(chunk_size=1024, chunk_overlap=200)
        self.index = VectorStoreIndex.from_documents(
            docs,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=wrap_embedder(embedder),
            transformations=[splitter],
        )
        self.chunks = len(collection.get(include=[])["ids"])

    def retrieve(self, question: str, k: int) -> list[BaselinePassage]:
        """The default retriever's top-k nodes, mapped to original-file spans."""
        out = []
        for hit in self.index.as_retriever(similarity_top_k=k).retrieve(question):
            file = str(hit.node.metadata.get("file_name", ""))
            s, e = node_span(hit.node, self.raws.get(file, ""))
            out.append(BaselinePassage(file, s, e, float(hit.score or 0.0), hit.node.get_content()))
        return out


def wrap_embedder(embedder: Any) -> Any:
    """A llama-index BaseEmbedding that delegates to an `rag.embedding.Embedder`."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class RagEmbedding(BaseEmbedding):
        _inner: Any = PrivateAttr()

        def __init__(self, inner: Any) -> None:
            super().__init__(model_name=str(inner.name), embed_batch_size=32)
            self._inner = inner

        def _embed(self, texts: Sequence[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in self._inner.embed(list(texts))]

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embed([query])[0]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embed([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embed(texts)

    return RagEmbedding(embedder)
