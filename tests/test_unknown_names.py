"""A question naming something no document names is refused, and says which name (real index)."""

from __future__ import annotations

import importlib

import pytest

from rag import Index
from rag.evidence import fold, unknown_names

from corpus import index_of

DEALS = """Israel and Azerbaijan

Israeli companies signed defense contracts with Azerbaijan worth close to $5 billion, and
Israeli firms built 12 new water plants in the country. Prime Minister Nikol Pashinyan of Armenia
criticised the sales. Erdoğan welcomed the deals, and the Azerbaijan Investment Company funded
several joint ventures in Baku.
"""


@pytest.fixture(scope="module")
def deals(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return index_of(tmp_path_factory.mktemp("unknown"), {"deals.txt": DEALS})


def test_a_name_no_document_uses_is_refused_with_a_notice(deals: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    question = "How much money has the Azerbaijan Investment Company committed to startups through OurCrowd?"
    answer = deals.ask(question)
    assert answer.refused
    assert answer.notice == "The documents never mention OurCrowd."
    monkeypatch.setattr(importlib.import_module("rag.index"), "UNKNOWN_NAMES", False)  # switched off: the $5 billion of contracts "answers"
    assert not deals.ask(question).refused


def test_known_names_in_other_spellings_are_answered(deals: Index) -> None:
    for question in ("How much were the Israeli defense contracts with Azerbaijan worth?",
                     "What did Erdogan say about the Israeli deals with Azerbaijan?",  # the documents: Erdoğan
                     "Who criticised the sales, Pashinian of Armenia?"):  # a spelling one letter off
        answer = deals.ask(question)
        assert not answer.refused, question
        raw = (deals.docs_root / "deals.txt").read_text(encoding="utf-8")
        assert answer.citations and all(raw[c.start:c.end] == c.quote for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        ("What did OurCrowd commit to Israeli startups?", ["OurCrowd"]),
        ("Which Spanish project is one of the largest gas hubs?", []),  # a demonym: the documents say "Iberian"
        ("What did PACE decide about Azerbaijan?", []),  # an acronym the documents may spell out
        ("How many Armenian-made landmines were found?", []),  # each part of the compound is known
        ("What happened in Baku in 2019?", []),  # a number bounds the question; it is not a name
    ],
)
def test_unknown_names(question: str, unknown: list[str]) -> None:
    vocabulary = frozenset(fold(w) for w in "israeli startup armenian made landmine baku azerbaijan".split())
    assert unknown_names(question, vocabulary) == unknown
