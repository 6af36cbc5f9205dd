"""Coverage re-ranking: a question about two things gets a passage about each, on a real index
where one of them fills most of the document and shares most of the question's words."""

from __future__ import annotations

import pytest

import rag.retrieval as retrieval
from rag import Index

from corpus import index_of

QUESTION = "What does the harbour authority report say about the dredging budget and the pay of the lighthouse keeper?"
KEEPER = "The pay of the lighthouse keeper is 2,400 crowns a month, unchanged since the storm."


def _report() -> str:
    topics = ["the north basin", "the ferry quay", "the fishing pier", "the container berth", "the old locks",
              "the marina", "the canal mouth", "the dry dock", "the coal wharf", "the grain silo", "the oil jetty",
              "the naval yard", "the east mole", "the west mole", "the yacht club", "the timber pond"]
    paras = [
        f"The harbour authority report says the dredging budget for {t}, by the lighthouse, rose again this year. "
        f"Dredging {t} is the harbour authority's largest cost, the lock keeper says, and the report asks for more."
        for t in topics
    ]
    staff = (
        "Staff matters are handled by the port office, which keeps the rosters, the pension records, the "
        "uniform allowances and the training logs for every crew, from the tug pilots to the night watch. "
        "The office also runs the canteen and books the annual medical checks for the divers. " + KEEPER +
        " Overtime is paid at one and a half times the usual rate, and holidays follow the city calendar."
    )
    paras.insert(9, staff)
    return "\n\n".join(paras) + "\n"


@pytest.fixture(scope="module")
def harbour(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return index_of(tmp_path_factory.mktemp("harbour"), {"harbour.txt": _report()})


def _has_keeper(index: Index, weight: float, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(retrieval, "COVERAGE", weight)
    monkeypatch.setattr(retrieval, "EXTRA_CHUNKS", 0)  # one chunk per passage: slots are what is tested
    monkeypatch.setattr(retrieval, "LEXICAL_PIN", None)  # which here would pin the keeper by itself
    return any(KEEPER in " ".join(p.text.split()) for p in index.retrieve(QUESTION, k=2))


def test_the_second_thing_asked_about_reaches_the_top_k(harbour: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _has_keeper(harbour, retrieval.COVERAGE, monkeypatch)
    assert not _has_keeper(harbour, 0.0, monkeypatch)  # by fused score alone, dredging fills the top 2
