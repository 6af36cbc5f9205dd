"""A question may name a piece by a phrase rather than its author ("the ISA report", "the essay on
the smart village"): each piece it names gets its best chunks in the top k (real seeds index)."""

from __future__ import annotations

import pytest

import rag.retrieval
from rag import Index

ISA = "000_c138998a30d41faa.txt"


def test_pieces_named_by_a_phrase(seeds_index: Index) -> None:
    r = seeds_index.retriever
    named = r._named_sources("What is the Baku Initiative Group? Combine the ISA report and Shahbazov's view.")
    assert [a for _, a in named] == ["Eduard Abrahamyan", "Fuad Shahbazov"]  # "ISA" is in 000's text only
    assert [a for _, a in r._named_sources("In the essay on the smart village, what does the Rahimov piece say?")] == [
        "Nazrin Baghirova", "Rahim Rahimov"]  # a word of one title ("smart") that few other chunks use
    # a title word most pieces use is no name of one ("time": "Time for an EU Foreign Policy Update?")
    assert r._named_sources("What had become of the peacekeepers by the time of the analysis?") == []


def test_a_piece_named_by_a_phrase_is_retrieved(seeds_index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    question = ("Pashayeva says Azerbaijan stands ready to reintegrate Karabakh's Armenians; what does the ISA "
                "report say took place in September 2023?")
    assert ISA in {p.file for p in seeds_index.retrieve(question, 5)}
    monkeypatch.setattr(rag.retrieval, "NAMED_PIECES", False)  # her essay alone fills the top 5
    assert ISA not in {p.file for p in seeds_index.retrieve(question, 5)}
