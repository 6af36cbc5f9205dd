"""Who wrote a piece: the byline, credit line or bio that names its section's author is
retrieved and quoted, on the real seeds index; and the pieces that find it."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag.extractive
import rag.question
from rag import Index
from rag.evidence import Sentence
from rag.extractive import ExtractiveGenerator, _other_source, is_bio
from rag.question import asks_author
from rag.text import author_names, named_authors, sentence_spans, surnames
from rag.types import Passage

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.mark.parametrize(
    ("question", "file", "names"),
    [
        # the author is named in an "Author: ..." line at the end ("by RCSP" at the top)
        ("Who wrote the RCSP paper on Azerbaijan's anti-Western positioning?", "004_0d75783bdc352dae.txt",
         ["Narek Minasyan"]),
        # a title block in the middle of a PDF column, with three authors wrapped over two lines
        ("Who wrote the essay on Azerbaijan's migration challenge in Baku Dialogues?", "003_d8b061254c31fc03.txt",
         ["Mammadova", "Rahimli", "Sunatulloev"]),
        ("Who is the author of the Smart Village essay?", "003_d8b061254c31fc03.txt", ["Nazrin Baghirova"]),
        # only the closing bio names him
        ("Who wrote the article on the war in Ukraine as a test for Azerbaijan–Russia relations?",
         "001_73f464f2a544a250.txt", ["Fuad Shahbazov"]),
    ],
)
def test_who_wrote_a_piece_is_answered_from_its_byline(
    seeds_index: Index, question: str, file: str, names: list[str]
) -> None:
    answer = seeds_index.ask(question)
    assert not answer.refused, answer.text
    assert answer.citations and answer.citations[0].file == file
    raw = (SEEDS / file).read_text(encoding="utf-8")
    quote = answer.citations[0].quote
    assert raw[answer.citations[0].start : answer.citations[0].end] == quote
    assert all(n in quote for n in names), quote


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who wrote the RCSP analysis on the anti-Western turn?", True),
        ("Who are the authors of the Baku Dialogues essay on migration?", True),
        ("Whose essay discusses the gas hub?", True),
        ("Which paper was written by Narek Minasyan?", True),
        ("Who wrote the letter to President Macron?", False),  # about the content, not the piece
        ("Whose drones helped Azerbaijan win?", False),
        ("Who became Azerbaijan's envoy in Paris?", False),
        ("Name the author of the RCSP analysis.", True),
        # the authors as the subject: what they wrote is asked, not who they are
        ("Which model do the authors of the migration essay expect Azerbaijan to adopt?", False),
        ("According to the author of the RCSP analysis, what did Aliyev claim?", False),
    ],
)
def test_asks_author(question: str, expected: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    assert asks_author(question) is expected
    monkeypatch.setattr(rag.question, "AUTHORS_AS_SUBJECT", False)
    if "do the authors of" in question:
        assert asks_author(question)  # "authors of" alone had made it a question of who wrote it


def test_surnames() -> None:
    assert surnames("Tamilla Mammadova, Aynur Rahimli, and Parviz Sunatulloev") == [
        "Mammadova", "Rahimli", "Sunatulloev"]
    assert surnames("Narek Minasyan (RCSP)") == ["Minasyan"]
    assert surnames("Jane Doe & John Roe") == ["Doe", "Roe"]
    assert surnames(None) == []


def test_a_piece_is_named_by_its_authors_surname_or_bracketed_organisation() -> None:
    assert author_names("Narek Minasyan (RCSP)") == ["Minasyan", "RCSP"]
    authors = {"Narek Minasyan (RCSP)", "Gulshan Pashayeva", "Maxime Gauin"}
    question = "Contrast Pashayeva's account with the RCSP analysis."
    assert named_authors(question, authors) == ["Gulshan Pashayeva", "Narek Minasyan (RCSP)"]
    assert named_authors("What does the CSTO do?", authors) == []


def test_a_list_of_names_wrapped_after_and_is_one_sentence() -> None:
    text = "How to Get Prepared\nTamilla Mammadova, Aynur Rahimli, and \nParviz Sunatulloev\n\npresumably, more.\nNext line, and\nthen lower case."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["How to Get Prepared", "Tamilla Mammadova, Aynur Rahimli, and \nParviz Sunatulloev",
                     "presumably, more.", "Next line, and", "then lower case."]


def test_a_question_naming_one_author_is_answered_from_that_authors_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer comes from the named author's essay, though another essay's sentence matches
    the question better."""

    def passage(author: str, text: str) -> Passage:
        return Passage(file=f"{author}.txt", start=0, end=len(text), text=text, score=1.0, line_start=1,
                       line_end=1, section=f"Essay by {author}", author=author)

    a = "In 2000, Russia signed a similar allied document with Armenia."
    b = "The alliance declaration of 2022 is Russia's first such pact with Azerbaijan in the region."
    passages = [passage("Ann Roe", a), passage("Bo Doe", b)]
    sentences = [Sentence(1, 0, len(b), b, 0.9, 0.9), Sentence(0, 0, len(a), a, 0.7, 0.7)]
    question = "Which earlier allied pact of Russia in the region does Roe mention?"
    assert [s.passage for s in ExtractiveGenerator().select(question, sentences, passages)] == [0]
    monkeypatch.setattr(rag.extractive, "ONE_AUTHOR", False)
    assert ExtractiveGenerator().select(question, sentences, passages)[0].passage == 1
    # another source named besides the author: not held to the author's piece
    assert _other_source("What does Roe say, and what does the ISA analysis add?", "Ann Roe")
    assert not _other_source("According to Roe's essay, what was signed?", "Ann Roe")


def test_the_note_on_the_author_is_no_answer_but_to_a_question_about_a_person(monkeypatch: pytest.MonkeyPatch) -> None:
    bio = "He is a former research fellow at the Center for Strategic Studies and a former senior analyst."
    body = "The analysts differ on whether the declaration made Baku an ally of Moscow."
    assert is_bio("Fuad Shahbazov is a political analyst covering the South Caucasus.", "Fuad Shahbazov")
    assert is_bio(bio, "Fuad Shahbazov") and not is_bio(body, "Fuad Shahbazov") and not is_bio(bio, None)
    text = body + " " + bio
    passages = [Passage(file="a.txt", start=0, end=len(text), text=text, score=1.0, line_start=1, line_end=1,
                        section="Essay", author="Fuad Shahbazov")]
    sentences = [Sentence(0, len(body) + 1, len(text), bio, 0.9, 0.9), Sentence(0, 0, len(body), body, 0.6, 0.6)]
    question = "How do the analysts differ on the declaration?"
    assert [s.text for s in ExtractiveGenerator().select(question, sentences, passages)] == [body]
    assert bio in [s.text for s in ExtractiveGenerator().select("Who is the senior analyst?", sentences, passages)]
    monkeypatch.setattr(rag.extractive, "BIOS", False)
    assert ExtractiveGenerator().select(question, sentences, passages)[0].text == bio
