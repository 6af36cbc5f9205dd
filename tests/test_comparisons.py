"""Comparative questions: each side gets its own sub-question and its own sentence (real index)."""

from __future__ import annotations

import pytest

import rag.extractive
from rag import Index
from rag.evidence import Sentence
from rag.extractive import ExtractiveGenerator
from rag.question import analyse, compared, subqueries
from rag.types import Passage

from corpus import index_of

HARBOUR = """The Harbour Dispute of 1931

The harbour dispute of 1931 is often described as a quarrel about the harbour of Velmar and the
tariffs that started it, seen through a Velmar-centric lens by most historians of the period.
The northern account is that the arrival of the southern fleet in the bay set off the quarrel
and brought both sides to the brink of war. But the southern account is that the fleet sailed
only in answer to the punitive customs duties imposed by the north in 1929. Trade through the
harbour fell by a third in the following year, and the bay was closed to shipping for a month.

Fishing villages along the coast suffered most. Many of their families moved inland, and the
old market of Velmar never recovered its former size.
"""


@pytest.fixture(scope="module")
def harbour(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return index_of(tmp_path_factory.mktemp("compare"), {"harbour.txt": HARBOUR})


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("How do Western and Russian accounts differ on what set off the crisis?",
         ["How do Western accounts differ on what set off the crisis", "How do Russian accounts differ on what set off the crisis"]),
        ("How did Emmanuel Macron and Ilham Aliyev clash over Karabakh?",
         ["How did Emmanuel Macron clash over Karabakh", "How did Ilham Aliyev clash over Karabakh"]),
        ("How did the minister's remarks differ from the position of the president?",
         ["How did the minister's remarks", "How did the position of the president"]),
        ("Why did Baku and Paris fall out?", []),
    ],
)
def test_the_sides_of_a_comparison(question: str, sides: list[str]) -> None:
    assert compared(question) == sides
    assert subqueries(question) == sides


def test_the_sides_of_a_differ_from_question_are_searched_and_answered() -> None:
    # searched as sub-queries since the question's and its parts' rankings are summed (with the
    # round-robin they had cost a passage), and each side is answered by its own sentence
    question = "How did the minister's remarks differ from the position of the president?"
    assert subqueries(question) == ["How did the minister's remarks", "How did the position of the president"]
    assert analyse(question).sides == (frozenset({"minister", "remark"}), frozenset({"position", "president"}))


def test_each_side_of_a_comparison_is_quoted(harbour: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    question = "How do northern and southern accounts differ on what started the harbour dispute?"
    answer = harbour.ask(question)
    assert "northern account is" in answer.text and "southern account is" in answer.text, answer.text
    raw = (harbour.docs_root / "harbour.txt").read_text(encoding="utf-8")
    assert all(raw[c.start:c.end] == c.quote for c in answer.citations)
    monkeypatch.setattr(rag.extractive, "SIDES", False)  # off: both parts take the best sentence, one side
    assert "southern account is" not in harbour.ask(question).text


def test_a_views_answer_takes_two_authors_of_one_journal_as_two_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """A yes/no question is answered by the best sentence of each of two sources; two essays of
    one journal issue are two sources, not one file."""

    def passage(author: str, text: str) -> Passage:
        return Passage(file="journal.txt", start=0, end=len(text), text=text, score=1.0, line_start=1,
                       line_end=1, section=f"Essay by {author}", author=author)

    a = "Russia has been a dependable protector of Armenia for decades."
    b = "Russia failed to protect Armenia when it was needed most."
    passages = [passage("Ann Roe", a + " " + a.replace("decades", "years")), passage("Bo Doe", b)]
    sentences = [Sentence(0, 0, len(a), a, 0.9, 0.9), Sentence(0, len(a) + 1, 2 * len(a), a, 0.85, 0.85),
                 Sentence(1, 0, len(b), b, 0.8, 0.8)]
    question = "Is Russia a dependable protector of Armenia?"
    chosen = ExtractiveGenerator().select(question, sentences, passages)
    assert {s.passage for s in chosen} == {0, 1}
    monkeypatch.setattr(rag.extractive, "VIEWS_BY_AUTHOR", False)  # by file alone: one source, one sentence
    assert {s.passage for s in ExtractiveGenerator().select(question, sentences, passages)} == {0}


def test_a_name_of_several_words_is_held_by_its_last_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer names "Vardanyan": no sentence is added only because it also says "Ruben"."""
    answer = "Vardanyan renounced his Russian citizenship and took Armenian citizenship in 2021."
    other = "Travel was interrupted in fall 2022 after the arrival of Ruben Vardanyan in Karabakh."
    passages = [Passage(file="a.txt", start=0, end=len(text), text=text, score=1.0, line_start=1, line_end=1)
                for text in (answer, other)]
    sentences = [Sentence(0, 0, len(answer), answer, 0.9, 0.9), Sentence(1, 0, len(other), other, 0.85, 0.85)]
    question = "In what year did Ruben Vardanyan acquire Armenian citizenship?"
    assert [s.text for s in ExtractiveGenerator().select(question, sentences, passages)] == [answer]
    monkeypatch.setattr(rag.extractive, "NAME_HEADS", False)  # "ruben" missing: the other sentence is added
    assert len(ExtractiveGenerator().select(question, sentences, passages)) == 2
