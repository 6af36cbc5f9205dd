"""Markers -> verified citations: parsing tricky marker strings, narrowing to sentences of the
real seed files, verification against the original text, unsupported and dropped counts."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytest

from rag.chunking import chunk_document, embed_text
from rag.citations import Claim, Resolved, marker_numbers, MARKER, parse_claims, resolve, verify
from rag.config import Settings
from rag.documents import read_document
from rag.embedding import Embedder, get_embedder
from rag.evidence import idf_table
from rag.text import content_words
from rag.types import Chunk, Document, Passage

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ISA = "000_c138998a30d41faa.txt"  # ISA on Azerbaijan undermining Ukraine's war effort
WAR = "001_73f464f2a544a250.txt"  # Fuad Shahbazov on the Azerbaijan-Russia declaration
JOURNAL = "003_d8b061254c31fc03.txt"  # Baku Dialogues: hyphenated, line-broken PDF text


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A [1]. B [2][3].", [("A.", (1,)), ("B.", (2, 3))]),
        ("A [1, 2]. B [2; 4].", [("A.", (1, 2)), ("B.", (2, 4))]),
        ("A [1][1] and [1].", [("A and.", (1, 1, 1))]),
        ("A. [1] B.[2]", [("A.", (1,)), ("B.", (2,))]),  # markers after the full stop
        ('He said "no." [3] Then left.', [('He said "no."', (3,)), ("Then left.", ())]),
        ("A [2-4]. B [1–2].", [("A.", (2, 3, 4)), ("B.", (1, 2))]),
        ("A [Source 2]. B [source 1, source 3]. C (Source 4).", [("A.", (2,)), ("B.", (1, 3)), ("C.", (4,))]),
        ("A [^2]. B 【1】.", [("A.", (2,)), ("B.", (1,))]),
        ("A [ 1 , 2 ].", [("A.", (1, 2))]),
        ("Out of range [0] and [99].", [("Out of range and.", (0, 99))]),
        ("A.\n[1][2]", [("A.", (1, 2))]),  # a line of markers belongs to the sentence above
        ("A [1].\n\nSources: [1], [2]", [("A.", (1,))]),  # a sources list cites no sentence
        ("Q? [1] Yes!", [("Q?", (1,)), ("Yes!", ())]),
        ("U.S. troops left [1]. Dr. Smith stayed [2].", [("U.S. troops left.", (1,)), ("Dr. Smith stayed.", (2,))]),
        ("Brackets [sic] and [Aliyev's] stay.", [("Brackets [sic] and [Aliyev's] stay.", ())]),
        ("No markers at all", [("No markers at all", ())]),
        ("", []),
        ("[1]", [("", (1,))]),  # markers and nothing else: resolve counts them as dropped
        ('He said "free them. " [2]', [('He said "free them."', (2,))]),  # a stray space before the quote
    ],
)
def test_parse_claims(text: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    assert [(c.text, c.markers) for c in parse_claims(text)] == expected


def test_parse_claims_keeps_line_breaks_of_lists_and_paragraphs() -> None:
    claims = parse_claims("Intro [1].\n- first [2]\n- second [3]\n\nLast [1].")

    assert [c.sep for c in claims] == ["", "\n", "\n", "\n\n"]
    assert [c.text for c in claims] == ["Intro.", "- first", "- second", "Last."]


def test_marker_numbers_expand_short_ranges_only() -> None:
    def nums(s: str) -> tuple[int, ...]:
        m = MARKER.search(s)
        assert m is not None
        return marker_numbers(m)

    assert nums("[3-5]") == (3, 4, 5)
    assert nums("[5-3]") == (5, 3)  # not a range: both numbers, each checked later
    assert nums("[1-2000]") == (1, 2000)
    assert nums("[1 and 2]") == (1, 2)
    assert MARKER.search("[no digits]") is None and MARKER.search("(1)") is None


# --- resolving against the real seed files -----------------------------------------------


def _passage(c: Chunk) -> Passage:
    return Passage(file=c.file, start=c.start, end=c.end, text=c.text, score=1.0, line_start=c.line_start,
                   line_end=c.line_end, section=c.section, author=c.author, title=c.title, chunk_id=c.id,
                   clean_start=c.clean_start)


@pytest.fixture(scope="module")
def docs() -> dict[str, Document]:
    return {f: read_document(SEEDS / f, SEEDS, 10**8) for f in (ISA, WAR, JOURNAL)}


@pytest.fixture(scope="module")
def chunks(docs: dict[str, Document]) -> dict[str, list[Chunk]]:
    return {f: chunk_document(d, 200, 40) for f, d in docs.items()}


@pytest.fixture(scope="module")
def idf(chunks: dict[str, list[Chunk]]) -> dict[str, float]:
    return idf_table([content_words(embed_text(c)) for cs in chunks.values() for c in cs])


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder(Settings())


def containing(chunks: dict[str, list[Chunk]], file: str, phrase: str) -> Passage:
    for c in chunks[file]:
        if phrase in c.text:
            return _passage(c)
    raise AssertionError(f"no chunk of {file} contains {phrase!r}")


@pytest.fixture(scope="module")
def passages(chunks: dict[str, list[Chunk]]) -> list[Passage]:
    return [
        containing(chunks, ISA, "in Moscow on February 22, 2022"),  # [1]
        containing(chunks, WAR, "previous agreements signed between the two countries in 1997 and 2008"),  # [2]
        containing(chunks, JOURNAL, "279 people became mine victims"),  # [3]
        containing(chunks, WAR, "guarantee of Azerbaijan’s neutrality"),  # [4]
    ]


def run(text: str, passages: Sequence[Passage], docs: dict[str, Document], embedder: Embedder,
        idf: dict[str, float]) -> Resolved:
    return resolve(text, passages, docs, embedder, idf)


def assert_verified(res: Resolved, docs: dict[str, Document]) -> None:
    for c in res.citations:
        raw = docs[c.file].raw
        assert verify(c, raw) and raw[c.start : c.end] == c.quote
        assert c.line_start == raw.count("\n", 0, c.start) + 1


def test_a_sentence_is_cited_by_the_exact_span_of_its_source_sentence(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    res = run("The two leaders signed the declaration in Moscow on February 22, 2022 [1].",
              passages, docs, embedder, idf)

    assert res.text == "The two leaders signed the declaration in Moscow on February 22, 2022 [1]."
    (c,) = res.citations
    assert c.file == ISA and c.marker == 1
    quote = " ".join(c.quote.split())  # the raw file breaks lines inside the sentence
    assert quote.startswith("This special relationship was underscored")
    assert quote.endswith("two days prior to Russia’s invasion of Ukraine.1")  # the footnote number stays
    assert "Allied Interaction" not in quote  # narrowed to one sentence, not the passage
    assert res.unsupported == [] and res.dropped == 0
    assert_verified(res, docs)


def test_a_paraphrase_is_narrowed_to_its_best_supporting_sentence(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    res = run("Shahbazov sees the deal as a guarantee that Azerbaijan stays neutral rather than backing "
              "Moscow [4].", passages, docs, embedder, idf)

    (c,) = res.citations
    assert c.file == WAR and "guarantee of Azerbaijan’s neutrality" in c.quote
    assert c.quote.count(".") <= 2 and len(c.quote) < 250
    assert res.unsupported == []
    assert_verified(res, docs)


def test_a_span_of_line_broken_hyphenated_pdf_text_still_verifies(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    res = run("Between the tripartite statement and the end of 2022, 279 people became mine victims [3].",
              passages, docs, embedder, idf)

    (c,) = res.citations
    assert "279 people became mine victims" in " ".join(c.quote.split())
    assert "\n" in c.quote  # the original file's line breaks, not the cleaned text
    assert c.line_end > c.line_start
    assert_verified(res, docs)


def test_markers_that_point_nowhere_are_removed_and_counted(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    res = run("They met in Moscow on February 22, 2022 [1][7]. Nothing here [0]. [12]",
              passages, docs, embedder, idf)

    assert res.dropped == 3
    assert res.text == "They met in Moscow on February 22, 2022 [1]. Nothing here."
    assert "Nothing here." in res.unsupported
    assert len(res.citations) == 1


def test_a_passage_whose_file_changed_cannot_be_cited(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    without_isa = {f: d for f, d in docs.items() if f != ISA}

    res = run("The declaration was signed in Moscow on February 22, 2022 [1].", passages, without_isa,
              embedder, idf)

    assert res.citations == [] and res.dropped == 1
    assert res.unsupported == ["The declaration was signed in Moscow on February 22, 2022."]


def test_sentences_the_cited_source_does_not_support_are_flagged(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    text = (
        "Aliyev and Putin signed the declaration in Moscow on February 22, 2022 [1]. "
        "The declaration was signed in Paris in 1999 [1]. "  # a wrong place and a wrong year
        "The smart village has a kindergarten for sixty children [2]. "  # cites the wrong source
        "Baku is a lovely city."  # no marker at all
    )
    res = run(text, passages, docs, embedder, idf)

    assert res.unsupported == [
        "The declaration was signed in Paris in 1999.",
        "The smart village has a kindergarten for sixty children.",
        "Baku is a lovely city.",
    ]
    assert res.text.endswith("Baku is a lovely city.")  # flagged, not removed
    assert_verified(res, docs)


def test_a_number_missing_from_the_cited_sentence_makes_it_unsupported(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    good = run("It builds on agreements signed in 1997 and 2008 [2].", passages, docs, embedder, idf)
    bad = run("It builds on agreements signed in 1997 and 2009 [2].", passages, docs, embedder, idf)

    assert good.unsupported == []
    assert bad.unsupported == ["It builds on agreements signed in 1997 and 2009."]


def test_citations_are_renumbered_in_order_and_shared_between_sentences(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    text = (
        "Earlier agreements were signed in 1997 and 2008 [2]. "
        "The leaders signed in Moscow on February 22, 2022 [1][2]. "
        "Agreements from 1997 and 2008 came first [2]."
    )
    res = run(text, passages, docs, embedder, idf)

    assert [c.marker for c in res.citations] == list(range(1, len(res.citations) + 1))
    assert res.citations[0].file == WAR and "1997 and 2008" in res.citations[0].quote
    first, second, third = res.text.split(". ")
    assert first.endswith("[1]") and third.endswith("[1].")  # the same span, the same number
    assert "[2]" in second
    assert_verified(res, docs)


def test_a_claim_joining_two_sentences_of_a_passage_cites_both(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    p = passages[1]
    assert "allied cooperation" in p.text and "1997 and 2008" in p.text
    res = run("The declaration upgraded relations to allied cooperation, building on the agreements of "
              "1997 and 2008 [1].", [p], docs, embedder, idf)

    quotes = " ".join(c.quote for c in res.citations)
    assert "allied cooperation" in quotes and "1997 and 2008" in quotes
    assert res.unsupported == []
    assert_verified(res, docs)


def test_a_copied_sentence_with_the_wrong_marker_is_cited_to_the_passage_that_has_it(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    text = "279 people became mine victims, including 45 fatalities [1]."  # the fact is in [3]

    res = run(text, passages, docs, embedder, idf)
    strict = resolve(text, passages, docs, embedder, idf, repair=False)

    assert res.remapped == 1 and res.inferred == 0 and res.unsupported == []
    (c,) = res.citations
    assert c.file == JOURNAL and "279 people became mine victims" in " ".join(c.quote.split())
    assert_verified(res, docs)
    assert strict.unsupported == ["279 people became mine victims, including 45 fatalities."]
    assert strict.citations and strict.citations[0].file == ISA  # what [1] named, flagged


def test_a_copied_sentence_without_a_marker_gets_the_citation_that_supports_it(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    res = run("Baku got Russian cooperation in return. The declaration is more a guarantee of "
              "Azerbaijan's neutrality than its support.", passages, docs, embedder, idf)

    assert res.inferred == 1 and res.remapped == 0
    assert res.unsupported == ["Baku got Russian cooperation in return."]  # too loose to cite
    (c,) = res.citations
    assert c.file == WAR and "guarantee of Azerbaijan’s neutrality" in c.quote
    assert res.text.endswith("than its support [1].")
    assert resolve("The declaration is more a guarantee of Azerbaijan's neutrality than its support.",
                   passages, docs, embedder, idf, repair=False).citations == []


def test_repair_does_not_cite_a_sentence_whose_numbers_differ(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    res = run("It builds on two previous agreements signed in 1997 and 2009.", passages, docs, embedder, idf)

    assert res.citations == [] and res.inferred == 0
    assert res.unsupported == ["It builds on two previous agreements signed in 1997 and 2009."]


def test_no_text_no_citations(
    passages: list[Passage], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    assert run("", passages, docs, embedder, idf) == Resolved(text="")
    only_markers = run("[1][2]", passages, docs, embedder, idf)
    assert only_markers.text == "" and only_markers.citations == [] and only_markers.dropped == 2


def test_claim_defaults() -> None:
    assert Claim("x", (1,)).sep == " "


def test_a_marker_after_a_footnote_number_belongs_to_its_sentence() -> None:
    """PDF text keeps footnote numbers after the full stop or closing quote ("... of Russia.”2");
    the extractive answer puts its marker after them."""
    claims = parse_claims("As put, “Baku is a reliable ally of Russia.”2 [2] In this light, it is neutral [5]. "
                          "It rose 3.5 [1]")
    assert [(c.text, c.markers) for c in claims] == [
        ("As put, “Baku is a reliable ally of Russia.”2", (2,)),
        ("In this light, it is neutral.", (5,)),
        ("It rose 3.5", (1,)),  # a decimal point is no full stop
    ]


def test_a_footnote_after_a_year_is_no_decimal() -> None:
    claims = parse_claims("Fico cut aid to Kyiv in March-April 2024.8 [2] In May, he visited Baku [3].")
    assert [(c.text, c.markers) for c in claims] == [
        ("Fico cut aid to Kyiv in March-April 2024.8", (2,)),
        ("In May, he visited Baku.", (3,)),
    ]


def test_a_superscript_footnote_ends_its_sentence() -> None:
    from rag.text import sentence_spans

    text = "Putin vowed to retaliate by targeting French personnel.²² A former diplomat spoke to ISA."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Putin vowed to retaliate by targeting French personnel.²²", "A former diplomat spoke to ISA."]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("I regret the deal they made with Azerbaijan.” 17 Politico, through sources, revealed it.",
         ["I regret the deal they made with Azerbaijan.”", "Politico, through sources, revealed it."]),
        ("… as a colonialist state.”1 8 Boasting of Azerbaijan’s role, Mammadov spoke.",
         ["… as a colonialist state.”1", "Boasting of Azerbaijan’s role, Mammadov spoke."]),
        ("The talks ended in 2022. 5 October 2023 was the day of Granada.",  # a date, not a footnote
         ["The talks ended in 2022.", "5 October 2023 was the day of Granada."]),
        ("There were many victims. 17 people were killed.",  # a count: no capital follows
         ["There were many victims.", "17 people were killed."]),
    ],
)
def test_a_footnote_number_set_apart_belongs_to_neither_sentence(text: str, sentences: list[str]) -> None:
    """000's PDF puts some footnote numbers after a space ("… Azerbaijan.” 17 Politico …"):
    read as the next sentence's first word, "17" answered "How many people were killed …?"."""
    from rag.text import sentence_spans

    assert [text[s:e] for s, e in sentence_spans(text)] == sentences


@pytest.mark.parametrize(
    ("sentence", "shown"),
    [
        ("… a reliable ally of Russia.”2", "… a reliable ally of Russia.”"),
        ("It cut aid to Kyiv in March-April 2024.8", "It cut aid to Kyiv in March-April 2024."),
        ("Over an existing contract with Ukraine.12", "Over an existing contract with Ukraine."),
        ("The rate rose to 3.5", "The rate rose to 3.5"),  # a decimal, not a footnote
        ("It happened in 2020.", "It happened in 2020."),
        ("Putin vowed to retaliate by targeting French personnel.²²", "Putin vowed to retaliate by targeting French personnel."),
    ],
)
def test_the_extractive_answer_drops_glued_footnote_numbers(sentence: str, shown: str) -> None:
    from rag.text import strip_footnote

    assert strip_footnote(sentence) == shown


def test_a_quoted_sentence_the_pdf_breaks_off_stays_its_own_claim(
    chunks: dict[str, list[Chunk]], docs: dict[str, Document], embedder: Embedder, idf: dict[str, float]
) -> None:
    """In 003 a bio box cuts a sentence ("... which was signed" / box / "by President Ilham
    Aliyev into law"). Quoted with the box's first sentence after it, the two had been read as
    one claim and cited to the fragment alone, so the answer said "Arthur Lenk is a former
    Ambassador" under a quote that does not hold it. The fragment now ends in "…"."""
    from rag.evidence import Sentence
    from rag.extractive import ExtractiveGenerator
    from rag.text import sentence_spans

    p = containing(chunks, JOURNAL, "which was signed\n\nArthur Lenk is a former Ambassador")
    spans = {p.text[s:e]: (s, e) for s, e in sentence_spans(p.text)}
    fragment = next(t for t in spans if t.endswith("which was signed"))
    bio = "Arthur Lenk is a former Ambassador of Israel to Azerbaijan and then to South Africa."
    sents = [Sentence(0, *spans[t], t, 0.9, 0.9, parts=(0.9, 0.1), part_answers=(True, True)) for t in (fragment,)]
    sents.append(Sentence(0, *spans[bio], bio, 0.8, 0.8, parts=(0.1, 0.9), part_answers=(True, True)))
    q = "What did Azerbaijan's parliament approve funding for, and who is a former Ambassador of Israel?"
    text = "".join(ExtractiveGenerator().stream(q, [p], sents))
    assert "which was signed… [1] Arthur Lenk" in text
    assert [c.markers for c in parse_claims(text)] == [(1,), (1,)]
    res = run(text, [p], docs, embedder, idf)
    assert_verified(res, docs)
    quotes = [" ".join(c.quote.split()) for c in res.citations]
    assert len(quotes) == 2 and quotes[1] == bio and quotes[0].endswith("which was signed")
    assert res.text.endswith(f"which was signed [1]… {bio[:-1]} [2].")
    assert [(c.text, c.markers) for c in parse_claims(res.text)][1:] == [(bio, (2,))]  # the shown text parses back


def test_a_footnote_after_a_closing_bracket_is_dropped_too() -> None:
    from rag.text import strip_footnote

    assert strip_footnote("(i.e., operating transit infrastructure).6") == "(i.e., operating transit infrastructure)."
