"""A "how many" question is answered only by a count of the thing it asks about (real index)."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag.evidence
from rag import Index

from corpus import index_of

TRADE = """Israel and Azerbaijan

Israeli companies sold 40 attack drones to Azerbaijan in 2022, and Israeli firms built 12 new
water plants in the country in the same year. Israeli tourism to Baku also grew in 2022, helped by
direct flights from Tel Aviv, and the two governments opened a trade and tourism office.

Cooperation in agriculture followed: 300 Azerbaijani farmers were trained by Israeli experts.
"""


@pytest.fixture(scope="module")
def trade(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return index_of(tmp_path_factory.mktemp("counted"), {"israel.txt": TRADE})


def test_a_count_of_something_else_is_no_answer(trade: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    question = "How many Israeli tourists visited Azerbaijan in 2022?"
    assert trade.ask(question).refused  # the documents count drones, plants and farmers, not tourists
    monkeypatch.setattr(rag.evidence, "COUNTED_SHARE", 0.0)  # switched off: a number about drones answers
    assert not trade.ask(question).refused


def test_a_count_of_the_thing_asked_about_answers(trade: Index) -> None:
    answer = trade.ask("How many drones did Israeli companies sell to Azerbaijan in 2022?")
    assert not answer.refused and "40" in answer.text
    raw = (trade.docs_root / "israel.txt").read_text(encoding="utf-8")
    assert answer.citations and all(raw[c.start:c.end] == c.quote for c in answer.citations)
