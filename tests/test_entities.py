"""A state is named by its name, its adjective and its capital: "Baku" in a question matches
"Azerbaijan" and "Azerbaijani" in a sentence (real index, real embedder)."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag.text
from rag.evidence import lexical_overlap
from rag.text import entity

from corpus import index_of

EMBASSIES = """Embassies

Azerbaijan opened a mission in Sofia in 2005, after years of talks. Baku's embassy in Tbilisi opened
in 1993, the first abroad. Armenia has had an embassy in Sofia since 1994.
"""


def test_a_capital_asks_for_its_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embassies = index_of(tmp_path, {"embassies.txt": EMBASSIES})
    question = "When did Baku open its embassy in Sofia?"
    answer = embassies.ask(question)
    assert not answer.refused and "2005" in answer.text.split("[1]")[0]
    monkeypatch.setattr(rag.text, "ENTITY_WORDS", False)  # "Baku" then only in the sentence on Tbilisi
    assert "1993" in embassies.ask(question).text.split("[1]")[0]


def test_entity_words_and_their_weight(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [entity(w) for w in ("baku", "azerbaijani", "kremlin", "pari", "turkish", "tbilisi", "arms")] == [
        "azerbaijan", "azerbaijan", "russia", "france", "türkiye", "georgia", "arms"]
    idf = {"baku": 3.0, "azerbaijan": 0.5, "invest": 2.0, "bulgarian": 2.0, "bulgaria": 1.8}
    # the state's common word counts, at its own (lower) weight: (0.5 + 2) / (3 + 2)
    assert lexical_overlap(["baku", "invest"], "Azerbaijan sought to invest", idf) == pytest.approx(0.5)
    # the adjective for the name: at most the question word's own weight
    assert lexical_overlap(["bulgarian"], "exports from Bulgaria", idf) == pytest.approx(0.9)
    assert lexical_overlap(["bulgaria"], "a Bulgarian firm", idf) == pytest.approx(1.0)
    monkeypatch.setattr(rag.text, "ENTITY_WORDS", False)
    assert lexical_overlap(["baku", "invest"], "Azerbaijan sought to invest", idf) == pytest.approx(0.4)
