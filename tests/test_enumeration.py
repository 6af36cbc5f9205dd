"""Lists the sources enumerate ("First, ... Second, ... The third ..."): every item reaches the
top k and the extractive answer quotes each item, on a real index of a document whose items
lie far apart and share few words with the question."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag.retrieval as retrieval
from rag import Index
from rag.text import list_position, list_positions

from corpus import index_of

QUESTION = "What are the three ways the audit says the water utility has been losing revenue?"
ITEMS = (
    "First, meters in older districts under-record consumption by a fifth or more.",
    "Second, hundreds of commercial customers were billed at the domestic tariff for years.",
    "The third development is the informal tapping of trunk mains outside the city limits.",
)

# paragraphs between the items: about the utility and its revenue, so that they outrank the
# items, which share few words with the question
_TOPICS = [
    "pump maintenance and pressure readings", "the new headquarters by the river", "staff training on chlorine",
    "rainfall in the catchment", "the dam inspection", "fish ladders on the weir", "open days at the plant",
    "the tram depot warehouse", "the council's oversight committee",
]


_TEMPLATES = [
    "The water utility has also reported on {t}. Its revenue statements mention {t} in a footnote, "
    "and the audit says the water utility has been open about it.",
    "According to the audit, {t} did not affect how the water utility books its revenue, although "
    "the utility's managers discussed {t} at length.",
    "The audit says the water utility's revenue office kept records on {t} for the regulator.",
]


def _filler(n: int) -> list[str]:
    return [tpl.format(t=t) for tpl in _TEMPLATES[:2] for t in (_TOPICS[n:] + _TOPICS[:n])[:7]]


def _report() -> str:
    intro = (
        "The audit office examined the water utility's accounts for the past five years. "
        "Its report finds that the water utility has been losing revenue in three ways."
    )
    paras = [intro]
    for n, item in enumerate(ITEMS):
        paras.append(item + " " + "The auditors documented the matter in an annex with photographs.")
        paras.extend(_filler(n))
    return "\n\n".join(paras) + "\n"


@pytest.fixture(scope="module")
def enum_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    other = "The city council debated the budget for parks and libraries. Revenue from parking fees rose.\n"
    return index_of(tmp_path_factory.mktemp("enum"), {"audit.txt": _report(), "other.txt": other})


def _covered(index: Index, enabled: bool, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    monkeypatch.setattr(retrieval, "ENUMERATION", enabled)
    passages = index.retrieve(QUESTION, k=3)
    text = "\n".join(" ".join(p.text.split()) for p in passages)
    return [item in text for item in ITEMS]


def test_every_item_of_an_enumeration_is_retrieved(enum_index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(_covered(enum_index, True, monkeypatch))
    # without following the list, the items that share no words with the question are missed
    assert not all(_covered(enum_index, False, monkeypatch))


def test_the_extractive_answer_quotes_each_item(enum_index: Index) -> None:
    answer = enum_index.ask(QUESTION, k=3)
    assert not answer.refused
    quoted = " ".join(" ".join(c.quote.split()) for c in answer.citations)
    assert all(item in quoted for item in ITEMS), answer.text
    raw = (Path(enum_index.settings.docs_dir) / "audit.txt").read_text(encoding="utf-8")
    for c in answer.citations:
        assert raw[c.start : c.end] == c.quote


def test_a_question_without_a_count_is_ranked_as_before(enum_index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    q = "How has the water utility been losing revenue?"
    monkeypatch.setattr(retrieval, "ENUMERATION", True)
    on = [p.chunk_id for p in enum_index.retrieve(q, k=3)]
    monkeypatch.setattr(retrieval, "ENUMERATION", False)
    assert [p.chunk_id for p in enum_index.retrieve(q, k=3)] == on


@pytest.mark.parametrize(
    ("sentence", "position"),
    [
        ("First, there is the redirection of munitions.", 1),
        ("Secondly the deliveries were delayed.", 2),
        ("The third development is a joint campaign.", 3),
        ("Finally, the talks stalled.", 4),
        ("The second cause was the Abraham Accords.", 2),
        ("At first the talks went well.", None),
        ("A report on the first event.", None),
    ],
)
def test_list_position(sentence: str, position: int | None) -> None:
    assert list_position(sentence, 4) == position


def test_list_positions_in_a_passage() -> None:
    text = "Heading\n\nFirst, one thing. It matters. Second, another; third, a last one. Lastly, done."
    assert list_positions(text, 5) == [1, 2, 3, 5]


def test_a_question_for_one_item_of_a_list_gets_that_item(enum_index: Index) -> None:
    answer = enum_index.ask("Of the three ways the audit says the water utility has been losing revenue, "
                            "which is the second?", k=3)
    assert not answer.refused
    assert ITEMS[1] in " ".join(" ".join(c.quote.split()) for c in answer.citations), answer.text


@pytest.mark.parametrize(
    ("question", "size", "positions"),
    [
        ("Among the five priority areas she lists, which came third and which came fifth?", 5, (3, 5)),
        ("Of the two causes Lenk names, what was the second?", 2, (2,)),
        ("Of the three ways, which came last?", 3, (3,)),
        ("Of the two causes, which was the third?", 2, (None,)),  # no such item
        ("Who should take the first step to mend ties?", 0, ()),  # no list named
    ],
)
def test_list_positions_asked_for(question: str, size: int, positions: tuple[int | None, ...]) -> None:
    from rag.question import analyse

    qa = analyse(question)
    assert (qa.list_size, qa.positions) == (size, positions)
