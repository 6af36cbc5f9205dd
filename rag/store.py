"""The vector store: the only module that imports chromadb.

Embedded (PersistentClient in a folder) by default; a Chroma server (HttpClient) when
Settings.chroma_url is set. Vectors are always passed explicitly: Chroma's default
embedding function downloads a model and must never run.

Readers never see a half-written index. The collection's metadata holds the manifest of the
committed files (file -> sha256, chunk count, generation) and every chunk records the
generation that wrote it. A writer adds the new chunks, commits the new manifest in one
metadata write, and only then deletes the chunks it superseded; `snapshot()` keeps only
chunks the manifest names and re-reads when a commit (or a delete) overlapped its read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from .config import Settings
from .errors import (
    ConfigError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    RagError,
    ReadOnlyIndexError,
)
from .types import Chunk

log = logging.getLogger(__name__)

# Bump when cleaning/chunking changes so that `build` re-chunks every file.
PIPELINE_VERSION = 11  # 10: a footnote number opening a sentence is left out of it; 11: letter-spaced words inside a line joined
_ADD_BATCH = 2000
# Chroma's embedded get() binds one SQL variable per record: above ~32k it fails outright.
_GET_PAGE = 10000
_DELETE_FILES = 500
_EXACT_MAX = 2000  # an index, or a file filter, of at most this many chunks is ranked exactly
_CLIENT_LOCK = threading.Lock()
_SNAPSHOT_TRIES = 6
# What Chroma keeps in an embedded index folder: the SQLite database and one folder per segment.
_CHROMA_FILES = ("chroma.sqlite3", "chroma.sqlite3-wal", "chroma.sqlite3-shm", "chroma.sqlite3-journal")
_DAMAGED = ("file is not a database", "malformed", "corrupt", "no such table")  # SQLite's words for it
_SEGMENT_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Snapshot:
    """One committed state of the index: its chunks (by file and position) and file hashes."""

    chunks: list[Chunk]
    hashes: dict[str, str]
    generation: int


def lock_path(settings: Settings) -> Path:
    """The file lock that admits one writer at a time: in the index folder, or for a Chroma
    server in a local lock folder, keyed by server and collection."""
    if not settings.chroma_url:
        return settings.persist_path / ".write.lock"
    url = urlparse(settings.chroma_url)
    key = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{url.hostname}-{url.port}-{settings.collection}")
    return Path(settings.local_cache_dir).expanduser() / "locks" / f"chroma-{key}.lock"


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
        check_index_dir(settings)
    except ReadOnlyIndexError:
        if create:
            raise
        path = private_copy(settings)  # answering only: Chroma may write to a copy of it
    try:
        with _CLIENT_LOCK:  # another thread's forget must not drop our System mid-construction
            _forget_cached_system(str(path))
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise IndexCorruptError(
            f"cannot open the index in {path}: {exc}; rebuild it with `rag index --rebuild`"
        ) from exc


def check_index_dir(settings: Settings) -> None:
    """Create the embedded index folder if needed and make sure it can be written (Chroma writes
    to it even to answer questions), or say why not and what to do. A no-op in server mode."""
    if settings.chroma_url:
        return
    path = settings.persist_path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the index folder {path} ({exc.strerror}): set RAG_PERSIST_DIR (or --persist) "
            "to a folder you can write"
        ) from exc
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
        if (path / "chroma.sqlite3").exists():
            with open(path / "chroma.sqlite3", "r+b"):
                pass
    except OSError as exc:
        raise ReadOnlyIndexError(
            f"cannot use the index in {path}: expected a writable folder, found a read-only one "
            f"({exc.strerror}); Chroma writes to it even to answer questions: make it "
            f"writable (chmod -R u+w {path}) or copy it to a writable folder and pass that as --persist"
        ) from exc


def private_copy(settings: Settings) -> Path:
    """A copy of a read-only embedded index in local_cache_dir, made once per state of the index
    (its database's size and mtime) and replaced when the index changes; older copies of the same
    index are removed. Chroma writes to its folder even to answer questions, so a read-only index
    (a shared or mounted folder) is answered from the copy. Raises the ReadOnlyIndexError when
    no copy can be made."""
    src = settings.persist_path
    st = (src / "chroma.sqlite3").stat()
    origin = hashlib.sha256(str(src).encode()).hexdigest()[:12]
    state = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
    root = Path(settings.local_cache_dir).expanduser() / "read-only-indexes"
    dest = root / f"{origin}-{state}"
    try:
        if not (dest / "chroma.sqlite3").exists():
            root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{origin}-", dir=root))
            shutil.copytree(src, tmp, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".write.lock", ".corrupt-*", "*.tmp"))
            for p in [tmp, *tmp.rglob("*")]:  # the copy must be writable even if the files were not
                p.chmod(p.stat().st_mode | 0o200)
            try:
                tmp.rename(dest)
            except OSError:  # another process made the same copy first
                shutil.rmtree(tmp, ignore_errors=True)
        for old in root.glob(f"{origin}-*"):
            if old != dest and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise ReadOnlyIndexError(
            f"cannot use the index in {src}: expected a writable folder, found a read-only one, and "
            f"could not copy it to {root} ({exc.strerror or exc}); Chroma writes to its folder even to answer "
            f"questions: make it writable (chmod -R u+w {src}), or set RAG_LOCAL_CACHE_DIR to a writable folder"
        ) from exc
    log.warning("the index in %s is read-only: answering from a private copy in %s "
                "(`rag index` needs the folder writable)", src, dest)
    return dest


def _move_aside(path: Path, reason: BaseException) -> None:
    """Move the files Chroma owns in an index folder that cannot be opened into a new
    .corrupt-* folder inside it; nothing else in the folder is touched or deleted."""
    owned = [p for p in path.iterdir()
             if p.name in _CHROMA_FILES or (p.is_dir() and _SEGMENT_DIR.fullmatch(p.name))]
    if not owned:
        return
    dest = Path(tempfile.mkdtemp(prefix=".corrupt-", dir=path))
    for p in owned:
        os.replace(p, dest / p.name)
    log.warning("the index in %s cannot be opened (%s): moved its files to %s (delete that folder "
                "when you no longer need it) and building a new index", path, reason, dest)


def _forget_cached_system(path: str) -> None:
    """Make the next PersistentClient for path read what is on disk now.

    Chroma keeps one System per path per process, and its in-memory vector index never sees
    what another process (a `rag index` run) wrote later: queries return deleted ids, and
    filtered queries or get(embeddings) fail with "Error finding id". Dropping the cached System
    gives new Stores a current view; Stores opened earlier keep their own System (clients hold
    a direct reference), whose stale view matches the snapshot their Index holds.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(path, None)
    SharedSystemClient._identifier_to_refcount.pop(path, None)


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
            "generation": 0,
            "files": "{}",
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
                    f"the index in {settings.chroma_url or settings.persist_path} has no collection {settings.collection!r}; "
                    "run `rag index` first"
                ) from exc
            raise IndexCorruptError(
                f"cannot open collection {settings.collection!r}: {exc}; rebuild with `rag index --rebuild`"
            ) from exc
        self.meta: dict[str, Any] = dict(self.collection.metadata or {})
        self.ids_by_file: dict[str, list[str]] | None = None  # set by pin()
        self.pinned: list[str] | None = None  # every chunk id of the pinned snapshot
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}  # exact ranking's cache (ids are content keys)
        self._pinned_matrix: tuple[list[str], npt.NDArray[np.float32]] | None = None  # the whole index's
        if self.meta.get("embedder") != embedder_name or int(self.meta.get("dim", -1)) != dim:
            raise IndexMismatchError(
                f"the index was built with embedder {self.meta.get('embedder')!r} "
                f"({self.meta.get('dim')} dims) but {embedder_name!r} ({dim} dims) is configured; "
                "use the same RAG_EMBEDDER or rebuild with `rag index --rebuild`"
            )
        if not create and self.meta.get("files") is not None and self.generation == 0:
            raise IndexNotFoundError(
                f"the index in {settings.chroma_url or settings.persist_path} was never completed: its "
                "first `rag index` stopped (killed or failed) before it committed any file; run `rag index` again"
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
        """Delete the collection (used by rebuilds). An embedded index too damaged to open is
        moved aside instead, so that a rebuild from the documents always starts clean."""
        check_index_dir(settings)  # read-only: say so rather than try to move anything
        try:
            _client(settings, create=True).delete_collection(settings.collection)
        except Exception as exc:  # chromadb raises many unrelated types here
            text = str(exc).lower()
            if "does not exist" in text:
                log.debug("no collection to delete")
            elif not settings.chroma_url and any(sign in text for sign in _DAMAGED):
                _move_aside(settings.persist_path, exc)
            else:  # e.g. "database is locked": a healthy index in use must not be moved aside
                raise RagError(
                    f"cannot delete collection {settings.collection!r} in "
                    f"{settings.chroma_url or settings.persist_path}: {exc}; stop what else uses the index "
                    "(or check the Chroma server's log) and retry"
                ) from exc

    def set_meta(self, **values: Any) -> None:
        """Record extra facts about the index (e.g. the indexed folder) in the collection."""
        self.meta.update(values)
        self.collection.modify(metadata=self.meta)

    def count(self) -> int:
        """Number of stored chunks (committed or not)."""
        return int(self.collection.count())

    # ---- the committed state ---------------------------------------------------------
    @property
    def generation(self) -> int:
        """The number of commits so far."""
        return int(self.meta.get("generation", 0))

    def manifest(self) -> dict[str, tuple[str, int, int]] | None:
        """Committed files -> (sha256, chunk count, generation); None for an index made before
        manifests existed (its chunks are then all taken as committed)."""
        raw = self.meta.get("files")
        if raw is None:
            return None
        return {f: (str(v[0]), int(v[1]), int(v[2])) for f, v in json.loads(str(raw)).items()}

    def committed_files(self) -> dict[str, tuple[str, int]]:
        """Committed files -> (sha256, chunk count)."""
        manifest = self.manifest()
        if manifest is not None:
            return {f: (v[0], v[1]) for f, v in manifest.items()}
        counts: Counter[tuple[str, str]] = Counter(
            (str(m["file"]), str(m["sha256"])) for _, _, m in self._records(["metadatas"])
        )
        return {f: (sha, n) for (f, sha), n in counts.items()}

    def file_hashes(self) -> dict[str, str]:
        """file -> sha256 of the content its committed chunks came from."""
        return {f: v[0] for f, v in self.committed_files().items()}

    def commit(self, files: dict[str, tuple[str, int]], written: Sequence[str], **extra: Any) -> int:
        """Make the index these files (file -> (sha256, chunk count)), in one metadata write:
        `written` files are the ones whose chunks add() just wrote, the others keep theirs,
        files left out are dropped. Returns the new generation."""
        gen = self.generation + 1
        old = self.manifest() or {}
        fresh = set(written)
        manifest = {
            f: [sha, n, gen if f in fresh else old.get(f, (sha, n, 0))[2]] for f, (sha, n) in sorted(files.items())
        }
        self.set_meta(
            generation=gen,
            files=json.dumps(manifest, separators=(",", ":")),
            chunk_tokens=self.settings.chunk_tokens,
            chunk_overlap=self.settings.chunk_overlap,
            pipeline_version=PIPELINE_VERSION,
            **extra,
        )
        return gen

    def add(self, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32], hashes: dict[str, str]) -> None:
        """Write chunks with their vectors in bulk, stamped with the next generation; they
        stay invisible to snapshot() until commit()."""
        gen = self.generation + 1
        for lo in range(0, len(chunks), _ADD_BATCH):
            part = chunks[lo : lo + _ADD_BATCH]
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[lo : lo + _ADD_BATCH],
                documents=[c.text for c in part],
                metadatas=[_meta(c, hashes[c.file], gen) for c in part],
            )

    def delete_superseded(self, rewritten: Sequence[str], removed: Sequence[str]) -> None:
        """After a commit: remove the chunks of removed files, and of rewritten files (committed
        before this commit too) the chunks of earlier generations (records without one count as
        earlier). A few calls in all: each delete scans the metadata (one per file took 30 min
        for 4,400 files)."""
        for lo in range(0, len(removed), _DELETE_FILES):
            self.collection.delete(where={"file": {"$in": list(removed[lo : lo + _DELETE_FILES])}})
        for lo in range(0, len(rewritten), _DELETE_FILES):
            part = list(rewritten[lo : lo + _DELETE_FILES])
            self.collection.delete(where={"$and": [{"file": {"$in": part}}, {"gen": {"$ne": self.generation}}]})

    def discard_uncommitted(self) -> list[str]:
        """Delete what a killed writer left behind (chunks added but never committed, chunks a
        commit superseded but did not delete); return the committed files that lack chunks, to
        be written again. One count() when there is nothing to repair. Writers only, under the lock."""
        manifest = self.manifest()
        if manifest is None or self.count() == sum(v[1] for v in manifest.values()):
            return []
        stale: list[str] = []
        have: Counter[str] = Counter()
        for cid, _, m in self._records(["metadatas"]):
            if _committed(m, manifest):
                have[str(m["file"])] += 1
            else:
                stale.append(cid)
        for lo in range(0, len(stale), _GET_PAGE):
            self.collection.delete(ids=stale[lo : lo + _GET_PAGE])
        damaged = sorted(f for f, v in manifest.items() if have[f] != v[1])
        log.warning("removed %d chunks an interrupted `rag index` left behind; %d files to index again",
                    len(stale), len(damaged))
        return damaged

    def delete_files(self, files: Sequence[str]) -> None:
        """Remove every chunk of these files."""
        if files:
            self.collection.delete(where={"file": {"$in": list(files)}})

    # ---- reading ----------------------------------------------------------------------
    def _records(self, include: list[str]) -> Iterator[tuple[str, str, Any]]:
        """(id, document, metadata) of every stored record, a page at a time."""
        offset = 0
        while True:
            got = self.collection.get(include=include, limit=_GET_PAGE, offset=offset)
            ids = got["ids"]
            docs = got.get("documents") or [""] * len(ids)
            metas = got.get("metadatas") or [{}] * len(ids)
            yield from zip(ids, docs, metas)
            if len(ids) < _GET_PAGE:
                return
            offset += len(ids)

    def _fresh_meta(self) -> dict[str, Any]:
        coll = self.client.get_collection(name=self.settings.collection, embedding_function=None)
        return dict(coll.metadata or {})

    def snapshot(self) -> Snapshot:
        """The committed chunks, consistent with one manifest: never a mix of two versions of a
        file, never a file with some of its chunks missing (re-read when a writer overlapped)."""
        prev_ids: set[str] | None = None
        for attempt in range(_SNAPSHOT_TRIES):
            before = self._fresh_meta()
            records = {cid: (doc, m) for cid, doc, m in self._records(["metadatas", "documents"])}
            self.meta = self._fresh_meta()
            if before.get("generation") != self.meta.get("generation"):
                prev_ids = None
                continue  # a commit landed while we read
            manifest = self.manifest()
            chunks = [
                _chunk(cid, doc, m)
                for cid, (doc, m) in records.items()
                if manifest is None or _committed(m, manifest)
            ]
            if manifest is None:
                hashes = {c.file: str(records[c.id][1]["sha256"]) for c in chunks}
                break
            hashes = {f: v[0] for f, v in manifest.items()}
            have = Counter(c.file for c in chunks)
            missing = {f: (v[1], have.get(f, 0)) for f, v in manifest.items() if have.get(f, 0) != v[1]}
            if not missing:
                break
            if prev_ids == set(records):  # the same records twice: not a race, a damaged index
                log.warning("the index lacks chunks of %s (expected, found): %s; rebuild it with "
                            "`rag index --rebuild`", len(missing), dict(list(missing.items())[:5]))
                break
            prev_ids = set(records)
            time.sleep(0.05 * 2**attempt)  # deletes after a commit shift the pages: read again
        else:
            log.warning("the index kept changing while it was read; opened generation %s as read",
                        self.meta.get("generation"))
        chunks.sort(key=lambda c: (c.file, c.start))
        return Snapshot(chunks, hashes, self.generation)

    def chunks(self) -> list[Chunk]:
        """Every committed chunk, ordered by file and position."""
        return self.snapshot().chunks

    def pin(self, snapshot: Snapshot) -> None:
        """Answer file-filtered queries from this snapshot's chunk ids (see query)."""
        by_file: dict[str, list[str]] = {}
        for c in snapshot.chunks:
            by_file.setdefault(c.file, []).append(c.id)
        self.ids_by_file = by_file
        self.pinned = [c.id for c in snapshot.chunks]
        keep = set(self.pinned)
        self._vectors = {cid: v for cid, v in self._vectors.items() if cid in keep}
        self._pinned_matrix = None

    def query(
        self, vector: npt.NDArray[np.float32], n: int, files: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        """Nearest chunk ids with cosine similarity, optionally only from some files."""
        if n <= 0:
            return []
        ids: list[str] | None = None
        if files and self.ids_by_file is not None:
            ids = [cid for f in dict.fromkeys(files) for cid in self.ids_by_file.get(f, ())]
            if not ids:
                return []
        elif self.pinned is not None and len(self.pinned) <= _EXACT_MAX:
            ids = self.pinned
        try:
            return self._query(vector, n, files, ids)
        except Exception as exc:  # a stale embedded view or a rebuilt collection: reconnect once
            log.info("dense search failed (%s); reconnecting to the store", exc)
            try:
                self.client = _client(self.settings, create=False)
                self.collection = self.client.get_collection(
                    name=self.settings.collection, embedding_function=None
                )
                return self._query(vector, n, files, ids)
            except Exception as exc2:
                raise RagError(
                    f"dense search in collection {self.settings.collection!r} failed: {exc2}; "
                    "check the index (`rag index`) or the Chroma server (RAG_CHROMA_URL)"
                ) from exc2

    def _matrix(self, ids: list[str]) -> tuple[list[str], npt.NDArray[np.float32]]:
        """The stored ids among `ids` and their vectors as rows, fetched once; the whole pinned
        index's matrix is kept, so that an unfiltered query stacks nothing."""
        whole = ids is self.pinned
        if whole and self._pinned_matrix is not None:
            return self._pinned_matrix
        missing = [cid for cid in ids if cid not in self._vectors]
        if missing:
            got = self.collection.get(ids=missing, include=["embeddings"])
            for cid, vec in zip(got["ids"], got["embeddings"] if got["embeddings"] is not None else []):
                self._vectors[str(cid)] = np.asarray(vec, dtype=np.float32)
        found = [cid for cid in ids if cid in self._vectors]
        matrix = np.stack([self._vectors[cid] for cid in found]) if found else np.zeros((0, 0), np.float32)
        if whole:
            self._pinned_matrix = (found, matrix)
        return found, matrix

    def _query(
        self, vector: npt.NDArray[np.float32], n: int, files: Sequence[str], ids: list[str] | None
    ) -> list[tuple[str, float]]:
        if ids is not None and len(ids) <= _EXACT_MAX:
            # A small index or a few files: rank exactly, from vectors fetched once. Chroma's
            # filtered HNSW search took 340 ms (p50) for one file of 100k chunks; and its HNSW
            # search of the whole seeds index returned a different top 40 from run to run for
            # low-similarity queries (its threads), so small indexes are ranked exactly too.
            found, matrix = self._matrix(ids)
            if not found:
                return []
            sims = matrix @ vector.astype(np.float32)
            top = np.argsort(-sims, kind="stable")[:n]
            return [(found[i], float(sims[i])) for i in top]
        where = {"file": {"$in": list(files)}} if files else None
        res = self.collection.query(
            query_embeddings=[vector.astype(np.float32)], n_results=n, where=where, include=["distances"]
        )
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], (res["distances"] or [[]])[0])]


def _committed(m: Any, manifest: dict[str, tuple[str, int, int]]) -> bool:
    entry = manifest.get(str(m.get("file")))
    return entry is not None and entry[0] == m.get("sha256") and entry[2] == int(m.get("gen", 0))


def _meta(c: Chunk, sha: str, gen: int) -> dict[str, Any]:
    return {
        "file": c.file,
        "sha256": sha,
        "gen": gen,
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
