"""How the rankings of a question and of its parts are combined, and questions that name the
authors whose views they compare, on the real seeds index."""

from __future__ import annotations

import pytest

import rag.question as question_module
import rag.retrieval as retrieval
from rag import Index
from rag.retrieval import _pin, _summed
from rag.text import named_authors


def test_summed_fusion_prefers_a_chunk_several_lists_rank() -> None:
    whole = [(1, 0.05), (2, 0.04), (3, 0.03)]
    part_a = [(4, 0.05), (3, 0.045)]
    part_b = [(5, 0.05)]
    order = [i for i, _ in _summed([whole, part_a, part_b])]
    assert order[0] == 3  # third for the question, second for a part: ahead of every list's first
    assert set(order) == {1, 2, 3, 4, 5}
    assert [i for i, _ in _summed([whole])] == [1, 2, 3]


def test_pin_moves_picks_behind_the_best_unless_already_in_the_top_k() -> None:
    ranked = [(i, 1.0 / (i + 1)) for i in range(10)]
    assert [i for i, _ in _pin(ranked, [(7, 0.1), (2, 0.3)], k=5)][:5] == [0, 7, 1, 2, 3]
    assert _pin(ranked, [(1, 0.5)], k=5) == ranked


def test_pin_at_a_position() -> None:
    ranked = [(i, 1.0 / (i + 1)) for i in range(10)]
    assert [i for i, _ in _pin(ranked, [(8, 0.1)], k=5, at=4)][:6] == [0, 1, 2, 3, 8, 4]


def test_the_whole_questions_best_bm25_chunk_is_kept_in_the_top_k(
    seeds_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Summed over a question and its parts, ranks can bury the one chunk that holds the
    question's exact words; here the summed ranking is made to put it last."""
    question = "What did Elnur Mammadov tweet about landmines, and what should be done on the Lachin road?"
    best = seeds_index.retriever.lexical(question, 1)[0][0]
    summed = retrieval._summed
    monkeypatch.setattr(retrieval, "_summed", lambda lists: sorted(summed(lists), key=lambda x: x[0] == best))
    chunk_id = seeds_index.retriever.chunks[best].id

    def retrieved() -> bool:
        return any(chunk_id in p.chunk_id.split(",") for p in seeds_index.retrieve(question, k=5))

    assert retrieved()
    monkeypatch.setattr(retrieval, "LEXICAL_PIN", None)
    assert not retrieved()


def test_named_authors_are_found_by_surname_in_question_order() -> None:
    authors = ["Maxime Gauin", "Gulshan Pashayeva", "Narek Minasyan (RCSP)",
               "Tamilla Mammadova, Aynur Rahimli, and Parviz Sunatulloev"]
    assert named_authors("How do Pashayeva and Gauin differ?", authors) == ["Gulshan Pashayeva", "Maxime Gauin"]
    assert named_authors("What does the RCSP paper by Minasyan say?", authors) == ["Narek Minasyan (RCSP)"]
    assert named_authors("What do Rahimli and co-authors propose?", authors) == [
        "Tamilla Mammadova, Aynur Rahimli, and Parviz Sunatulloev"]
    assert named_authors("What did the Gauinist movement want?", authors) == []  # a word, not a prefix


@pytest.mark.parametrize(
    "question",
    [
        "What do Minasyan and Gauin say about France?",
        "What role did the Kremlin play in the peace process, according to Pashayeva and Gauin?",
    ],
)
def test_each_named_author_has_a_passage_in_the_top_k(
    seeds_index: Index, question: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def authors(k: int = 5) -> set[str]:
        return {p.author for p in seeds_index.retrieve(question, k=k) if p.author}

    named = set(named_authors(question, {c.author for c in seeds_index.chunks if c.author}))
    assert len(named) == 2
    assert named <= authors()
    monkeypatch.setattr(retrieval, "NAMED_AUTHORS", 0)
    assert not named <= authors()  # one author's essay fills the top 5 by score alone


def test_each_named_author_is_quoted(seeds_index: Index) -> None:
    answer = seeds_index.ask("What do Lenk and Rahimov say about drones?")
    assert not answer.refused
    cited = {c.author for c in answer.citations}
    assert {"Arthur Lenk", "Rahim Rahimov"} <= cited
    assert all("drone" in c.quote.lower() or "Bayraktar" in c.quote for c in answer.citations)


def test_a_passage_over_abutting_chunks_keeps_the_line_break_between_them() -> None:
    """000 ends an essay with its title line, then the publisher's blurb; the two fell in
    consecutive chunks with no overlap, and a space between them made one "sentence" of the
    title and the blurb's first sentence, which an answer then quoted."""
    from pathlib import Path

    from rag.chunking import chunk_document
    from rag.documents import read_document
    from rag.text import sentence_spans

    seeds = Path(__file__).resolve().parent.parent / "seeds"
    doc = read_document(seeds / "000_c138998a30d41faa.txt", seeds)
    chunks = chunk_document(doc, 120, 20)
    i = next(i for i, c in enumerate(chunks) if c.text.endswith("Ukraine’s War Effort"))
    assert chunks[i + 1].clean_start > chunks[i].clean_end  # they abut: only whitespace between
    p = retrieval._passage(chunks[i : i + 2], 1.0)
    assert len(p.text) == chunks[i + 1].clean_end - chunks[i].clean_start  # offsets into the clean text hold
    sentences = [p.text[s:e] for s, e in sentence_spans(p.text)]
    assert any(s.endswith("Ukraine’s War Effort") for s in sentences)
    assert any(s.startswith("Kafkassam Editör") for s in sentences)


def test_a_named_authors_best_chunk_is_ranked_for_the_parts_that_name_no_author(
    seeds_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"Does X? Compare Lenk's view with Abrahamyan's.": within each author's chunks the first
    part is the topic; the part naming them, less the names ("Compare 's view with 's"), is noise."""
    ret = seeds_index.retriever
    asked: list[str] = []
    real = ret._fuse

    def recording(query: str, *args: object, **kw: object) -> object:
        asked.append(query)
        return real(query, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ret, "_fuse", recording)
    q = "Does Azerbaijan belong with the West or work against it? Compare Arthur Lenk's view with Eduard Abrahamyan's."
    named = ret._named_authors(q)
    assert {a for _, a in named} == {"Arthur Lenk", "Eduard Abrahamyan"}
    bests = ret._author_bests(q, named, 40)
    # each author's best two chunks, in turn
    assert [ret.chunks[i].author for i, _ in bests] == ["Arthur Lenk", "Eduard Abrahamyan"] * retrieval.AUTHOR_CHUNKS
    assert set(asked) == {"Does Azerbaijan belong with the West or work against it"}


def test_an_instruction_to_compare_sources_is_searched_as_the_topic_per_source(
    seeds_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"Compare A's account with B's" holds no topic: searched alone, its ranking is noise in the
    sum; searched as the other part's topic plus each source, it finds each source's view."""
    question = ("What is Azerbaijan's approach to the Armenian population of Karabakh? "
                "Contrast Pashayeva's account with the RCSP analysis.")
    raw = (seeds_index.docs_root / "003_d8b061254c31fc03.txt").read_text(encoding="utf-8")
    view = raw.index("Azerbaijan is ready to reintegrate")

    def found() -> bool:
        return any(p.file.startswith("003") and p.start <= view < p.end for p in seeds_index.retrieve(question, k=5))

    assert found()
    monkeypatch.setattr(question_module, "SOURCE_SIDES", False)
    assert not found()
