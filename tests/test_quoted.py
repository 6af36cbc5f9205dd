"""A phrase the question quotes counts when the sentence holds it as it stands (real index)."""

from __future__ import annotations

import pytest

import rag.evidence
from rag import Index
from rag.evidence import phrase_overlap
from rag.question import quoted_phrases

from corpus import index_of

TIES = """Azerbaijan's new partners

In July of this year, Azerbaijan signed a strategic partnership declaration with China, elevating
bilateral relations to a new level and opening a new chapter of strategic cooperation. In April, it
signed a declaration with Kyrgyzstan to establish a "Deep Strategic Partnership." Azerbaijan also
keeps allied relations with Turkey and Pakistan.
"""


@pytest.fixture(scope="module")
def ties(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return index_of(tmp_path_factory.mktemp("quoted"), {"ties.txt": TIES})


def test_the_sentence_holding_the_quoted_phrase_answers(ties: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    question = "With which country did Azerbaijan sign a declaration on a 'Deep Strategic Partnership'?"
    answer = ties.ask(question)
    assert not answer.refused and "Kyrgyzstan" in answer.text and "China" not in answer.text
    monkeypatch.setattr(rag.evidence, "PHRASE_WEIGHT", 0.0)  # its words alone: the China sentence has more of them
    assert "China" in ties.ask(question).text


def test_quoted_phrases_and_their_overlap() -> None:
    assert quoted_phrases("Why is the world 'bigger than five', and what is Baku's “smart village”?") == [
        "bigger than five", "smart village"]
    assert quoted_phrases("What did Aliyev's adviser say?") == []  # an apostrophe is no quote
    idf = {"deep": 2.0, "strategic": 1.0, "partnership": 1.0, "kyrgyzstan": 3.0}
    terms = ["deep", "strategic", "partnership"]
    held = phrase_overlap(terms, ["Deep Strategic Partnership"], 'a "Deep Strate- gic Partnership."', idf)
    scattered = phrase_overlap(terms, ["Deep Strategic Partnership"], "a deep and strategic partnership", idf)
    assert held == 1.0 and scattered == 0.5  # the words are there, the phrase is not
