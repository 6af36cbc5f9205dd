"""The store and the index in both modes: embedded Chroma in a folder, and a real `chroma run` server."""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from rag import Index, IndexMismatchError, RagError, Settings
from rag.chunking import chunk_document, embed_text
from rag.documents import read_document
from rag.embedding import MiniLMEmbedder, get_embedder
from rag.evidence import idf_table
from rag.store import Store, lock_path
from rag.text import content_words

from chroma_server import chroma_server, free_port  # noqa: F401  (a fixture)

MakeSettings = Callable[..., Settings]


class CountingEmbedder:
    """The real MiniLM model, counting how many texts it is asked to embed."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls = 0

    def embed(self, texts, progress=None):  # type: ignore[no-untyped-def]
        self.calls += len(texts)
        return self.inner.embed(texts, progress)


@pytest.fixture()
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingEmbedder:
    from rag import index

    emb = CountingEmbedder(get_embedder(Settings()))  # type: ignore[arg-type]
    monkeypatch.setattr(index, "get_embedder", lambda settings: emb)
    return emb


@pytest.fixture(params=["embedded", "server"])
def make_settings(request: pytest.FixtureRequest, tmp_path: Path) -> MakeSettings:
    """Settings for one mode; in server mode each test gets its own collection on the shared server."""
    extra: dict[str, Any] = {"persist_dir": str(tmp_path / "idx"), "local_cache_dir": str(tmp_path / "cache")}
    if request.param == "server":
        extra["chroma_url"] = request.getfixturevalue("chroma_server")
        extra["collection"] = f"t{uuid.uuid4().hex[:12]}"

    def make(docs: Path, **over: Any) -> Settings:
        return Settings(docs_dir=str(docs), **{**extra, **over})

    return make


def test_build_reindex_and_delete(make_settings: MakeSettings, small_corpus: Path, counting: CountingEmbedder) -> None:
    settings = make_settings(small_corpus)
    first = Index.build(settings)
    assert first.report is not None and first.report.files == 3
    n = len(first.chunks)
    assert counting.calls >= n > 0
    assert first.store.count() == n

    counting.calls = 0
    again = Index.build(settings)
    assert counting.calls == 0 and again.report is not None and again.report.embedded == 0
    assert [c.id for c in again.chunks] == [c.id for c in first.chunks]
    assert set(again.report.seconds) >= {"read", "chunk", "embed", "write", "open", "total"}

    gamma = small_corpus / "gamma.txt"
    old_gamma = gamma.read_text(encoding="utf-8")
    gamma.write_text(old_gamma.replace("Varroa mites", "Wax moths and varroa mites"), encoding="utf-8")
    counting.calls = 0
    changed = Index.build(settings)
    assert changed.report is not None and changed.report.changed_files == ["gamma.txt"]
    gamma_chunks = [c for c in changed.chunks if c.file == "gamma.txt"]
    assert counting.calls == len(gamma_chunks) > 0
    assert any("Wax moths" in c.text for c in gamma_chunks)
    assert not any("Varroa mites are" in c.text for c in changed.chunks)
    assert changed.store.count() == len(changed.chunks), "superseded chunks must be deleted"
    assert [c.id for c in Index.open(settings).chunks] == [c.id for c in changed.chunks]

    (small_corpus / "beta.md").unlink()
    removed = Index.build(settings)
    assert removed.report is not None and removed.report.removed_files == ["beta.md"]
    assert {c.file for c in removed.chunks} == {"alpha.txt", "gamma.txt"}
    assert removed.store.count() == len(removed.chunks)
    assert not removed.retrieve("Brenner Base Tunnel length", k=3, files=["beta.md"], mode="dense")
    assert "beta.md" not in Index.open(settings).files


def test_embedder_mismatch(make_settings: MakeSettings, small_corpus: Path) -> None:
    settings = make_settings(small_corpus)
    Index.build(settings)
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Store(settings, "some-other-model", 768)
    with pytest.raises(IndexMismatchError, match="all-MiniLM"):
        Store(settings, "all-MiniLM-L6-v2-int8", 512, create=True)


def test_chunking_change_reindexes_every_file(make_settings: MakeSettings, small_corpus: Path) -> None:
    Index.build(make_settings(small_corpus))
    settings = make_settings(small_corpus, chunk_tokens=40, chunk_overlap=8)
    index = Index.build(settings)
    assert index.report is not None and index.report.changed_files == ["alpha.txt", "beta.md", "gamma.txt"]
    expected = [
        c.id
        for f in ("alpha.txt", "beta.md", "gamma.txt")
        for c in chunk_document(read_document(small_corpus / f, small_corpus), 40, 8)
    ]
    assert sorted(c.id for c in index.chunks) == sorted(expected)
    assert index.store.count() == len(expected)
    assert sorted(c.id for c in Index.open(settings).chunks) == sorted(expected)


def test_uncommitted_chunks_are_invisible(make_settings: MakeSettings, small_corpus: Path) -> None:
    """What a reader opening mid-update sees: the old files until the commit, then the new ones."""
    settings = make_settings(small_corpus)
    old = Index.build(settings)
    old_ids = [c.id for c in old.chunks]
    gamma = small_corpus / "gamma.txt"
    gamma.write_text(gamma.read_text(encoding="utf-8") + "\nWax moths damage stored combs.\n", encoding="utf-8")
    doc = read_document(gamma, small_corpus)
    new = chunk_document(doc, settings.chunk_tokens, settings.chunk_overlap)
    emb = get_embedder(settings)
    store = Store(settings, emb.name, emb.dim, create=True)

    store.add(new, emb.embed([embed_text(c) for c in new]), {"gamma.txt": doc.sha256})
    assert [c.id for c in Index.open(settings).chunks] == old_ids

    files = store.committed_files()
    files["gamma.txt"] = (doc.sha256, len(new))
    store.commit(files, written=["gamma.txt"])
    mid = Index.open(settings)  # old gamma chunks are still stored, but not committed
    assert {c.id for c in mid.chunks if c.file == "gamma.txt"} == {c.id for c in new}
    assert mid.hashes["gamma.txt"] == doc.sha256

    store.delete_superseded(["gamma.txt"], [])
    assert [c.id for c in Index.open(settings).chunks] == [c.id for c in mid.chunks]
    assert store.count() == len(mid.chunks)


def test_rebuild(make_settings: MakeSettings, small_corpus: Path) -> None:
    settings = make_settings(small_corpus)
    first = Index.build(settings)
    again = Index.build(settings, rebuild=True)
    assert again.report is not None and again.report.embedded == len(first.chunks)
    assert again.store.count() == len(first.chunks)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(docs_dir=str(tmp_path), chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RagError, match="chroma run --path"):
        Index.open(settings)


def test_server_lock_is_local_and_keyed_by_collection(tmp_path: Path) -> None:
    base = Settings(chroma_url="http://127.0.0.1:8123", local_cache_dir=str(tmp_path))
    a, b = lock_path(base), lock_path(base.replace(collection="other"))
    assert a != b and a.parent == b.parent == tmp_path / "locks"
    assert lock_path(Settings(persist_dir=str(tmp_path / "p"))) == tmp_path / "p" / ".write.lock"


def test_idf_read_off_bm25_equals_idf_table(seeds_index: Index) -> None:
    expected = idf_table([content_words(embed_text(c)) for c in seeds_index.chunks])
    assert set(seeds_index.idf) == set(expected)
    worst = max(abs(seeds_index.idf[t] - v) for t, v in expected.items())
    assert worst < 1e-9 and math.isfinite(worst)


def test_query_embeddings_are_cached() -> None:
    emb = get_embedder(Settings())
    emb.cache_clear()  # type: ignore[attr-defined]
    q = "Where was the Harbour Accord signed?"
    first = emb.embed([q, "x" * 2000])
    again = emb.embed([q])
    assert np.array_equal(first[0], again[0])
    assert q in emb._cache and "x" * 2000 not in emb._cache  # type: ignore[attr-defined]


def test_a_small_index_is_ranked_exactly_and_the_same_every_time(seeds_index: Index) -> None:
    """Chroma's HNSW search of the seeds returned a different top 40 from run to run for
    low-similarity queries; an index of up to _EXACT_MAX chunks is ranked exactly instead."""
    store = seeds_index.store
    got = store.collection.get(ids=store.pinned, include=["embeddings"])
    ids, vectors = list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)
    emb = seeds_index.embedder
    for q in ("how does the order rank historically", "Who is the author?", "weather in spring"):
        vec = emb.embed([q])[0]
        sims = vectors @ vec
        expected = [ids[i] for i in np.argsort(-sims, kind="stable")[:40]]
        first = store.query(vec, 40)
        assert [cid for cid, _ in first] == expected
        assert store.query(vec, 40) == first
        assert all(abs(s - float(sims[ids.index(cid)])) < 1e-5 for cid, s in first)
