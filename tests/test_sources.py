"""A phrase naming where to look ("According to the figures cited in the essay on …") does not
dilute how well a sentence matches the question (real index, real embedder)."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag.evidence
from rag.question import without_sources

from corpus import index_of

AGHALI = """Aghali: a smart village

The village of Aghali was rebuilt as a smart village after 2020, with solar panels and a school.
According to the latest figures provided by the district authorities, about 66 families (326
residents) have now come back home. The school can take 360 pupils.
"""


def test_the_question_without_its_source_phrases() -> None:
    assert without_sources("According to the figures cited in the Aghali essay, how many families "
                            "have resettled there?") == "how many families have resettled there?"
    assert without_sources("Per Maxime Gauin, what was the high point?") == "what was the high point?"
    assert without_sources("What does the ISA analysis say?") == "What does the ISA analysis say?"  # too little left


def test_a_long_source_frame_does_not_refuse_a_typed_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = index_of(tmp_path, {"aghali.txt": AGHALI})
    question = ("According to the most recent local figures cited in the Baku Dialogues essay on the Aghali "
                "smart village, how many families and people have resettled there?")
    answer = index.ask(question)
    assert not answer.refused and "66 families" in answer.text
    monkeypatch.setattr(rag.evidence, "SOURCE_FREE_MATCH", False)  # the frame's words dilute the cosine
    assert index.ask(question).refused
