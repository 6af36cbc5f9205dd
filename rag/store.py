"""The vector store: the only module that imports chromadb.

Embedded (PersistentClient in a folder) by default; a Chroma server (HttpClient) when
Settings.chroma_url is set. Vectors are always passed explicitly: Chroma's default
embedding function downloads a model and must never run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from .config import Settings
from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, RagError
from .types import Chunk

log = logging.getLogger(__name__)

# Bump when cleaning/chunking changes so that `build` re-chunks every file.
PIPELINE_VERSION = 2
_ADD_BATCH = 2000


def _client(settings: Settings, create: bool) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises many unrelated types here
            raise RagError(
                f"cannot reach the Chroma server at {settings.chroma_url}: {exc}; start it with "
                "`chroma run --path DIR --host 127.0.0.1 --port N` or unset RAG_CHROMA_URL"
            ) from exc
        return client
    path = settings.persist_path
    if not create and not (path / "chroma.sqlite3").exists():
        raise IndexNotFoundError(
            f"no index found in {path}: expected a folder made by `rag index`; "
            f"run `rag index --docs {settings.docs_dir}` first (or Index.build(settings))"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise IndexCorruptError(
            f"cannot open the index in {path}: {exc}; rebuild it with `rag index --rebuild`"
        ) from exc


class Store:
    """One Chroma collection of chunks, with the embedder's name and dimension in its metadata."""

    def __init__(self, settings: Settings, embedder_name: str, dim: int, create: bool = False) -> None:
        self.settings = settings
        self.client = _client(settings, create)
        wanted = {
            "embedder": embedder_name,
            "dim": dim,
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap": settings.chunk_overlap,
            "pipeline_version": PIPELINE_VERSION,
        }
        try:
            if create:
                self.collection = self.client.get_or_create_collection(
                    name=settings.collection,
                    metadata=wanted,
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            else:
                self.collection = self.client.get_collection(name=settings.collection, embedding_function=None)
        except Exception as exc:
            if not create and "does not exist" in str(exc).lower():
                raise IndexNotFoundError(
                    f"the index in {settings.persist_path} has no collection {settings.collection!r}; "
                    "run `rag index` first"
                ) from exc
            raise IndexCorruptError(
                f"cannot open collection {settings.collection!r}: {exc}; rebuild with `rag index --rebuild`"
            ) from exc
        self.meta: dict[str, Any] = dict(self.collection.metadata or {})
        if self.meta.get("embedder") != embedder_name or int(self.meta.get("dim", -1)) != dim:
            raise IndexMismatchError(
                f"the index was built with embedder {self.meta.get('embedder')!r} "
                f"({self.meta.get('dim')} dims) but {embedder_name!r} ({dim} dims) is configured; "
                "use the same RAG_EMBEDDER or rebuild with `rag index --rebuild`"
            )

    @property
    def compatible_chunking(self) -> bool:
        """Whether stored chunks were made with the current chunking parameters and pipeline."""
        return (
            self.meta.get("chunk_tokens") == self.settings.chunk_tokens
            and self.meta.get("chunk_overlap") == self.settings.chunk_overlap
            and self.meta.get("pipeline_version") == PIPELINE_VERSION
        )

    @classmethod
    def reset(cls, settings: Settings) -> None:
        """Delete the collection (used by rebuilds)."""
        client = _client(settings, create=True)
        try:
            client.delete_collection(settings.collection)
        except Exception:  # absent collection: nothing to delete
            log.debug("no collection to delete", exc_info=True)

    def set_meta(self, **values: Any) -> None:
        """Record extra facts about the index (e.g. the indexed folder) in the collection."""
        self.meta.update(values)
        self.collection.modify(metadata=self.meta)

    def count(self) -> int:
        """Number of stored chunks."""
        return int(self.collection.count())

    def add(self, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32], hashes: dict[str, str]) -> None:
        """Write chunks with their vectors in bulk."""
        for lo in range(0, len(chunks), _ADD_BATCH):
            part = chunks[lo : lo + _ADD_BATCH]
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[lo : lo + _ADD_BATCH],
                documents=[c.text for c in part],
                metadatas=[_meta(c, hashes[c.file]) for c in part],
            )

    def delete_files(self, files: Sequence[str]) -> None:
        """Remove every chunk of these files."""
        if files:
            self.collection.delete(where={"file": {"$in": list(files)}})

    def file_hashes(self) -> dict[str, str]:
        """file -> sha256 of the content its stored chunks came from."""
        got = self.collection.get(include=["metadatas"])
        return {str(m["file"]): str(m["sha256"]) for m in got["metadatas"] or []}

    def chunks(self) -> list[Chunk]:
        """Every stored chunk, ordered by file and position."""
        got = self.collection.get(include=["metadatas", "documents"])
        out = [
            _chunk(cid, doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])
        ]
        out.sort(key=lambda c: (c.file, c.start))
        return out

    def query(
        self, vector: npt.NDArray[np.float32], n: int, files: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        """Nearest chunk ids with cosine similarity, optionally only from some files."""
        n = min(n, self.count())
        if n <= 0:
            return []
        where = {"file": {"$in": list(files)}} if files else None
        res = self.collection.query(
            query_embeddings=[vector.astype(np.float32)], n_results=n, where=where, include=["distances"]
        )
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], (res["distances"] or [[]])[0])]


def _meta(c: Chunk, sha: str) -> dict[str, Any]:
    return {
        "file": c.file,
        "sha256": sha,
        "start": c.start,
        "end": c.end,
        "line_start": c.line_start,
        "line_end": c.line_end,
        "clean_start": c.clean_start,
        "clean_end": c.clean_end,
        "title": c.title,
        "section": c.section or "",
        "author": c.author or "",
    }


def _chunk(cid: str, text: str, m: Any) -> Chunk:
    return Chunk(
        id=cid,
        file=str(m["file"]),
        start=int(m["start"]),
        end=int(m["end"]),
        line_start=int(m["line_start"]),
        line_end=int(m["line_end"]),
        text=text,
        clean_start=int(m["clean_start"]),
        clean_end=int(m["clean_end"]),
        title=str(m.get("title", "")),
        section=str(m["section"]) or None,
        author=str(m["author"]) or None,
    )


def index_exists(settings: Settings) -> bool:
    """Cheap check for an embedded index on disk (always True in server mode)."""
    return bool(settings.chroma_url) or Path(settings.persist_path, "chroma.sqlite3").exists()
