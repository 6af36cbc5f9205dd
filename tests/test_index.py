"""Index build/open/retrieve/ask with real parts: Chroma on tmp_path, the packaged MiniLM, real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag import (
    REFUSAL,
    Index,
    IndexMismatchError,
    IndexNotFoundError,
    QuestionError,
    Settings,
)
from rag.chunking import embed_text
from rag.citations import verify
from rag.embedding import MAX_WORDPIECES, MiniLMEmbedder

from conftest import SEEDS


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
    from rag import embedding, index

    emb = CountingEmbedder(embedding.get_embedder(Settings()))  # type: ignore[arg-type]
    monkeypatch.setattr(index, "get_embedder", lambda settings: emb)
    return emb


def test_open_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="rag index"):
        Index.open(Settings(docs_dir=str(SEEDS), persist_dir=str(tmp_path / "none")))


def test_incremental_reindex(small_corpus: Path, tmp_path: Path, counting: CountingEmbedder) -> None:
    settings = Settings(docs_dir=str(small_corpus), persist_dir=str(tmp_path / "idx"))
    first = Index.build(settings)
    assert first.report is not None and first.report.files == 3
    n_chunks = len(first.chunks)
    assert counting.calls >= n_chunks > 0

    counting.calls = 0
    again = Index.build(settings)
    assert counting.calls == 0, "an unchanged corpus must not be embedded again"
    assert again.report is not None and again.report.embedded == 0
    assert len(again.chunks) == n_chunks

    # change one file: only its chunks are embedded again
    gamma = small_corpus / "gamma.txt"
    gamma.write_text(gamma.read_text(encoding="utf-8") + "\nWax moths damage stored combs.\n", encoding="utf-8")
    counting.calls = 0
    changed = Index.build(settings)
    assert changed.report is not None and changed.report.changed_files == ["gamma.txt"]
    gamma_chunks = [c for c in changed.chunks if c.file == "gamma.txt"]
    assert counting.calls == len(gamma_chunks)
    assert any("Wax moths" in c.text for c in gamma_chunks)

    # delete one file: its chunks go
    (small_corpus / "beta.md").unlink()
    removed = Index.build(settings)
    assert removed.report is not None and removed.report.removed_files == ["beta.md"]
    assert {c.file for c in removed.chunks} == {"alpha.txt", "gamma.txt"}
    assert not removed.retrieve("Brenner Base Tunnel length", k=3, files=["beta.md"])


def test_update_reports_without_opening_and_matches_build(
    small_corpus: Path, tmp_path: Path, counting: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(docs_dir=str(small_corpus), persist_dir=str(tmp_path / "idx"))
    first = Index.update(settings)
    assert first.files == 3 and first.embedded == first.chunks > 0 and first.added_files

    opened: list[int] = []
    monkeypatch.setattr(Index, "__init__", lambda self, *a, **k: opened.append(1))  # update must not open
    again = Index.update(settings)
    assert opened == [] and counting.calls == first.chunks  # nothing embedded the second time
    assert again.embedded == 0 and again.chunks == first.chunks
    assert not (again.added_files or again.changed_files or again.removed_files)
    monkeypatch.undo()

    (small_corpus / "beta.md").unlink()
    removed = Index.update(settings)
    assert removed.removed_files == ["beta.md"]
    assert removed.chunks == len(Index.open(settings).chunks) < first.chunks


def test_bad_files_are_skipped_not_fatal(small_corpus: Path, tmp_path: Path) -> None:
    (small_corpus / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 100)
    (small_corpus / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (small_corpus / "empty.md").write_text("", encoding="utf-8")
    index = Index.build(Settings(docs_dir=str(small_corpus), persist_dir=str(tmp_path / "idx")))
    assert index.report is not None
    skipped = {s.file: s.reason for s in index.report.skipped}
    assert set(skipped) == {"binary.txt", "latin1.txt", "empty.md"}
    assert "UTF-8" in skipped["latin1.txt"]
    assert index.files == ["alpha.txt", "beta.md", "gamma.txt"]


def test_embedder_mismatch_is_refused(small_corpus: Path, tmp_path: Path) -> None:
    from rag.store import Store

    settings = Settings(docs_dir=str(small_corpus), persist_dir=str(tmp_path / "idx"))
    Index.build(settings)
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Store(settings, "some-other-model", 768)


def test_citations_resolve_to_original_spans(seeds_index: Index) -> None:
    answer = seeds_index.ask("How many people became mine victims after the tripartite statement?")
    assert not answer.refused and answer.citations
    for c in answer.citations:
        raw = (SEEDS / c.file).read_text(encoding="utf-8")
        assert verify(c, raw)
        assert raw[c.start : c.end] == c.quote
        assert raw.count("\n", 0, c.start) + 1 == c.line_start
        assert f"[{c.marker}]" in answer.text
    assert any("279" in c.quote for c in answer.citations)


def test_citation_across_hyphenated_line_break(seeds_index: Index) -> None:
    """003 is PDF-extracted: quotes keep the raw "-\\n" while passages read cleanly."""
    raw = (SEEDS / "003_d8b061254c31fc03.txt").read_text(encoding="utf-8")
    found = 0
    for q in (
        "What are the five cornerstone priority areas Azerbaijan identified?",
        "What did Bayramov say about landmines made in Armenia at the OSCE meeting?",
        "What is the smart village in Aghali?",
    ):
        for c in seeds_index.ask(q).citations:
            assert raw[c.start : c.end] == c.quote
            found += "-\n" in c.quote
    passages = seeds_index.retrieve("Five Cornerstone Areas strategic context", k=3)
    assert any("strategic context" in p.text for p in passages)
    assert found >= 1, "expected at least one citation spanning a hyphenated line break"


def test_passages_have_original_offsets_and_metadata(seeds_index: Index) -> None:
    passages = seeds_index.retrieve("Israel Azerbaijan strategic ties embassy", k=5)
    assert len(passages) == 5
    assert any(p.author == "Arthur Lenk" for p in passages)
    for p in passages:
        raw = (SEEDS / p.file).read_text(encoding="utf-8")
        assert 0 <= p.start < p.end <= len(raw)
        assert 1 <= p.line_start <= p.line_end
        # cleaned passage text comes from that raw span: its first word is there
        assert p.text.split()[0].rstrip("-") in raw[p.start : p.end]


def test_file_filter(seeds_index: Index) -> None:
    passages = seeds_index.retrieve("Russia and Azerbaijan alliance", k=4, files=["001_73f464f2a544a250.txt"])
    assert passages and {p.file for p in passages} == {"001_73f464f2a544a250.txt"}


def test_refuses_off_topic(seeds_index: Index) -> None:
    for q in ("What is the best recipe for lasagna?", "How do I change a bicycle tyre?"):
        a = seeds_index.ask(q)
        assert a.refused and a.text == REFUSAL and a.citations == []


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 5000])
def test_bad_questions(seeds_index: Index, question: str) -> None:
    with pytest.raises(QuestionError):
        seeds_index.ask(question)


def test_no_chunk_is_truncated_by_the_embedder(seeds_index: Index) -> None:
    emb = MiniLMEmbedder()
    lengths = [emb.count_wordpieces(embed_text(c)) for c in seeds_index.chunks]
    assert max(lengths) <= MAX_WORDPIECES


def test_stream_ends_with_the_answer(seeds_index: Index) -> None:
    from rag import Answer

    items = list(seeds_index.stream("Where did Aliyev sign the declaration with Putin?"))
    assert isinstance(items[-1], Answer)
    assert all(isinstance(x, str) for x in items[:-1]) and items[:-1]


def test_docs_dir_is_remembered(small_corpus: Path, tmp_path: Path) -> None:
    persist = tmp_path / "idx"
    Index.build(Settings(docs_dir=str(small_corpus), persist_dir=str(persist)))
    shutil.copytree(small_corpus, tmp_path / "elsewhere")
    # opened with default docs_dir: still cites the folder it indexed
    index = Index.open(Settings(persist_dir=str(persist)))
    a = index.ask("How long will the Brenner Base Tunnel be?")
    assert not a.refused and a.citations[0].file == "beta.md"


def test_an_index_made_by_an_older_pipeline_opens_with_a_warning_to_update_it(
    small_corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from rag.store import PIPELINE_VERSION

    settings = Settings(docs_dir=str(small_corpus), persist_dir=str(tmp_path / "idx"))
    Index.build(settings).store.set_meta(pipeline_version=PIPELINE_VERSION - 1)
    with caplog.at_level("WARNING", logger="rag.index"):
        index = Index.open(settings)
    assert f"older version of the cleaning and chunking (version {PIPELINE_VERSION - 1}" in caplog.text
    assert "run `rag index` to update it" in caplog.text
    assert index.chunks  # it still answers, from its old chunks
    caplog.clear()
    with caplog.at_level("WARNING", logger="rag.index"):
        Index.build(settings)  # re-chunks every file
        Index.open(settings)
    assert "older version" not in caplog.text


def test_a_footnote_number_is_no_count(seeds_index: Index) -> None:
    """000 gives no death toll for the New Caledonia riots; its only number near them is the
    footnote "17" that the PDF set before "Politico, through sources …". The question is refused,
    and no quote of 000 opens with a footnote number."""
    answer = seeds_index.ask("How many people were killed during the May riots in New Caledonia that France "
                             "linked to Azerbaijani interference?")
    assert answer.refused
    answer = seeds_index.ask("How long had Azerbaijani and Russian hybrid activities in New Caledonia been detected?")
    assert not answer.refused and "for weeks, even months" in answer.text  # a length of time without a number
    assert answer.citations and all(not c.quote[:1].isdigit() for c in answer.citations)

