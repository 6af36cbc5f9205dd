"""rag.documents on the real seeds and on small files: reading, cleaning, offsets, sections."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest

from rag.documents import SUPPORTED_SUFFIXES, Skipped, clean_text, iter_files, load_folder, read_document
from rag.errors import DocumentError
from rag.types import Document

SEEDS = Path(__file__).parent.parent / "seeds"
DATA = Path(__file__).parent / "data" / "documents"
JOURNAL = "003_d8b061254c31fc03.txt"


@pytest.fixture(scope="module")
def seeds() -> dict[str, Document]:
    docs, skipped = load_folder(SEEDS)
    assert skipped == []
    return {d.file: d for d in docs}


@pytest.fixture(scope="module")
def journal(seeds: dict[str, Document]) -> Document:
    return seeds[JOURNAL]


def assert_offsets_consistent(doc: Document) -> None:
    """Every clean char maps to the raw char it came from, in order."""
    offsets = np.asarray(doc.offsets)
    assert offsets.dtype == np.int64
    assert len(offsets) == len(doc.clean) + 1
    assert offsets[-1] == len(doc.raw)
    assert np.all(np.diff(offsets[:-1]) >= 0), "offsets must not go backwards"
    assert offsets.min() >= 0 and offsets[:-1].max(initial=-1) < len(doc.raw)
    for i, ch in enumerate(doc.clean):
        src = doc.raw[int(offsets[i])]
        if ch.isspace():
            assert src.isspace(), (doc.file, i, ch, src)
        else:
            assert ch == src, (doc.file, i, ch, src)


# ---- seeds ----------------------------------------------------------------------------


def test_load_folder_reads_every_seed_quickly() -> None:
    t0 = time.perf_counter()
    docs, skipped = load_folder(SEEDS)
    elapsed = time.perf_counter() - t0
    assert [d.file for d in docs] == sorted(p.name for p in SEEDS.iterdir() if p.suffix == ".txt")
    assert skipped == []
    assert elapsed < 2.0, f"load_folder(seeds) took {elapsed:.2f}s"


def test_every_seed_has_consistent_offsets(seeds: dict[str, Document]) -> None:
    for doc in seeds.values():
        assert_offsets_consistent(doc)


def test_random_clean_spans_map_back_to_raw(seeds: dict[str, Document]) -> None:
    rng = random.Random(20240521)
    for doc in seeds.values():
        for _ in range(300):
            start = rng.randrange(len(doc.clean))
            end = min(len(doc.clean), start + rng.randrange(1, 400))
            a, b = doc.raw_span(start, end)
            assert 0 <= a < b <= len(doc.raw)
            offs = np.asarray(doc.offsets[start:end])
            assert offs.min() >= a and offs.max() < b
            letters = [i for i in range(start, end) if doc.clean[i].isalpha()]
            assert "".join(doc.clean[i] for i in letters) == "".join(doc.raw[int(doc.offsets[i])] for i in letters)


def test_sha256_is_of_the_file_bytes(seeds: dict[str, Document]) -> None:
    import hashlib

    for doc in seeds.values():
        assert doc.sha256 == hashlib.sha256((SEEDS / doc.file).read_bytes()).hexdigest()
        assert doc.raw == (SEEDS / doc.file).read_bytes().decode("utf-8")


def test_hyphenation_across_lines_is_joined_and_maps_back(journal: Document) -> None:
    raw_at = journal.raw.index("stra-\ntegic")
    clean_at = int(np.searchsorted(np.asarray(journal.offsets), raw_at))
    assert journal.offsets[clean_at] == raw_at
    assert journal.clean[clean_at : clean_at + 9] == "strategic"
    a, b = journal.raw_span(clean_at, clean_at + 9)
    assert journal.raw[a:b] == "stra-\ntegic"
    # across a blank line too
    assert "signif-\n\nicant" in journal.raw
    assert "mine clearance: significant work continues" in journal.clean


def test_a_pull_quote_set_mid_sentence_is_dropped_and_its_body_copy_kept(journal: Document) -> None:
    # 003 repeats "In terms of security, ... at a map." as a boxed quote inside another sentence
    assert "militants in possession of explosives" in " ".join(journal.clean.split())
    assert " ".join(journal.clean.split()).count("In terms of security, the benefits of a trusted ally") == 1
    body = "bodyline one goes on and on\n"
    raw = ("Intro sentence here.\n" + body * 3 + "A quoted line that repeats text\nfrom the body of this file.\n"
           + "More body text follows here.\n" * 3 + "and the sentence that was cut\n\n"
           + "A quoted line that repeats text\nfrom the body of this file.\n\ngoes on here.\n")
    cleaned, _ = clean_text(raw)
    assert "cut goes on here." in " ".join(cleaned.split())
    assert cleaned.count("A quoted line") == 1


def test_a_blank_line_after_a_word_no_sentence_ends_with_is_no_paragraph_break(journal: Document) -> None:
    """The PDF put a blank line inside "... voiced by Putin on / 12 October 2022 during ...";
    after "... heightened period of" the next block opens a sentence of its own ("It is ...")."""
    assert "The Russian-Turkish gas hub idea was voiced by Putin on 12 October 2022 during his keynote" in journal.clean
    i = journal.clean.index("voiced by Putin on 12 October")
    s, e = journal.raw_span(i, i + len("voiced by Putin on 12 October"))
    assert " ".join(journal.raw[s:e].split()) == "voiced by Putin on 12 October"
    assert "during this heightened period of\n\nIt is clearly in the EU’s interest" in journal.clean


def test_a_letter_spaced_word_inside_a_line_is_joined(journal: Document) -> None:
    """003's justified columns spread some words letter by letter inside a line ("the 2023
    Turkish presidential and p a r l i am e n t a r y elections"): joined when the text uses the
    word elsewhere, with offsets back to the spaced raw letters; short words stay apart."""
    assert "presidential and parliamentary elections" in journal.clean
    assert "the Eastern Partnership (EaP)" in journal.clean
    i = journal.clean.index("parliamentary elections")
    s, e = journal.raw_span(i, i + len("parliamentary"))
    assert journal.raw[s:e] == "p a r l i am e n t a r y"
    cleaned, _ = clean_text("The parliament met. Then the p a r l i a m e n t voted, and a way as to go on.\n")
    assert "Then the parliament voted, and a way as to go on." in cleaned
    cleaned, _ = clean_text("It is a n e w x y z idea.\n")  # no word the text uses elsewhere
    assert "a n e w x y z" in cleaned


def test_real_compounds_keep_their_hyphen(journal: Document) -> None:
    assert "short-\nterm EU" in journal.raw and "Vienna-\nbased" in journal.raw
    assert "short-term EU" in journal.clean  # "short-term" occurs elsewhere in the text
    assert "Vienna-based International Centre" in journal.clean  # a name, then a known word


def test_running_headers_and_page_numbers_are_dropped(journal: Document) -> None:
    assert journal.raw.count("BAKU DIALOGUES") >= 4
    assert "BAKU DIALOGUES" not in journal.clean
    assert "Vol. 6 | No. 2" not in journal.clean
    assert "bakudialogues.ada.edu.az" not in journal.clean
    for spread in ("\n8 9\n", "\n44 45\n", "\n114 115\n"):
        assert spread in journal.raw
        assert spread.strip() not in journal.clean


def test_hard_wraps_become_paragraphs(journal: Document) -> None:
    assert "More than two years have passed since the Second Karabakh War ended and the 10 November 2020" in (
        journal.clean
    )
    assert "\n\nFive Cornerstone Areas\n\nWithin the foregoing strategic context" in journal.clean
    assert "\n\n\n" not in journal.clean and "  " not in journal.clean


def test_letter_spaced_words_are_repaired(journal: Document) -> None:
    assert "u nw i l l i n g n e s s" in journal.raw
    assert "Yerevan’s unwillingness to provide" in journal.clean


def test_journal_title_comes_from_its_running_header(journal: Document) -> None:
    assert journal.title.startswith("Baku Dialogues")


EXPECTED_ESSAYS = [
    ("Azerbaijan and the New Regional Geopolitical Configuration", "Gulshan Pashayeva"),
    ("The Enhanced Visibility of Strategic Ties Between Israel and Azerbaijan", "Arthur Lenk"),
    ("The France-Azerbaijan Relationship: Realities and Misunderstandings", "Maxime Gauin"),
    ("Time for an EU Foreign Policy Update?", None),
    ("A Pivotal Putin and Erdogan Arrangement", "Rahim Rahimov"),
    ("The Smart Village Concept in the Great Return to Karabakh", "Nazrin Baghirova"),
    (
        "Azerbaijan’s Impending Migration Challenge: How to Get Prepared and What to Expect",
        "Tamilla Mammadova, Aynur Rahimli, and Parviz Sunatulloev",
    ),
]


def test_journal_sections_are_the_essays(journal: Document) -> None:
    found = [(s.title, s.author) for s in journal.sections]
    assert found[: len(EXPECTED_ESSAYS)] == EXPECTED_ESSAYS
    assert found[len(EXPECTED_ESSAYS) :] == [("Back matter", None)]


def test_journal_sections_cover_the_text_in_order(journal: Document) -> None:
    secs = journal.sections
    assert secs[0].start == 0 and secs[-1].end == len(journal.clean)
    for a, b in zip(secs, secs[1:]):
        assert a.end == b.start and a.start < a.end


def test_essay_sections_start_at_the_essay_text(journal: Document) -> None:
    by_author = {s.author: s for s in journal.sections}
    lenk = by_author["Arthur Lenk"]
    text = journal.clean[lenk.start : lenk.end]
    assert text.startswith("The Iceberg Melted\n\nThe strategic depth of the relationship")
    assert "Arthur Lenk is a former Ambassador of Israel" in text
    assert text.rstrip().endswith("BD")
    gulshan = by_author["Gulshan Pashayeva"]
    assert journal.clean[gulshan.start :].startswith("Defining Strategic Direction")
    assert "The views expressed in this essay are her own." in journal.clean[gulshan.start : gulshan.end]
    assert journal.section_at(journal.clean.index("Regional Tectonics")) == gulshan
    assert journal.section_at(journal.clean.index("Russian-Turkish relations have gone")) == by_author["Rahim Rahimov"]


def test_simple_documents_have_one_section_with_title_and_author(seeds: dict[str, Document]) -> None:
    doc = seeds["004_0d75783bdc352dae.txt"]
    assert doc.title == "Azerbaijan’s Anti-Western Positioning"
    assert [(s.title, s.author, s.start, s.end) for s in doc.sections] == [
        (doc.title, "Narek Minasyan (RCSP)", 0, len(doc.clean))  # "Author: RCSP associate expert Narek Minasyan", "by RCSP"
    ]
    doc = seeds["001_73f464f2a544a250.txt"]
    assert doc.title == "The war in Ukraine is a test for relations between Azerbaijan and Russia"
    assert doc.sections[0].author == "Fuad Shahbazov"  # from the closing bio
    doc = seeds["002_502a978e92ca49eb.txt"]
    # its first line is a lead paragraph; the title follows it
    assert doc.title == "Azerbaijan Steps up Hybrid Warfare in Overseas French Territories"
    assert len(doc.sections) == 1


def test_closing_credit_line_gives_title_and_author(seeds: dict[str, Document]) -> None:
    doc = seeds["000_c138998a30d41faa.txt"]  # no title on top; "Author: Title" a few lines from the end
    title = "From Central Europe to the Indo-Pacific: Azerbaijan Undermines Ukraine’s War Effort"
    assert doc.title == title
    assert [(s.title, s.author, s.start, s.end) for s in doc.sections] == [
        (title, "Eduard Abrahamyan", 0, len(doc.clean))
    ]


def _article(tail: list[str]) -> bytes:
    body = [f"Paragraph {i} of the report describes the ports and the ferries.\n" for i in range(12)]
    # the credit shape in the body is a heading, not a credit line
    head = ["the report opens mid-sentence, without a title line.\n", "Tapping Slovakia: Diversion of Arms to Ukraine\n"]
    return "\n".join([*head, *body, *tail]).encode()


def test_credit_line_counts_only_near_the_end(tmp_path: Path) -> None:
    path = _write(tmp_path, "credited.txt", _article(["Jane Doe: Ferries Across the Caspian", "Publisher notes."]))
    doc = read_document(path, tmp_path)
    assert doc.title == "Ferries Across the Caspian" and doc.sections[0].author == "Jane Doe"
    path = _write(tmp_path, "uncredited.txt", _article([]))
    doc = read_document(path, tmp_path)
    # no credit: the heading-like second line, after the opening sentence, is the title; no author
    assert doc.title == "Tapping Slovakia: Diversion of Arms to Ukraine" and doc.sections[0].author is None


def test_a_title_after_a_lead_paragraph_but_not_a_heading_further_down(tmp_path: Path) -> None:
    lead = "Baku and Paris traded accusations again this week, and neither side has backed down."
    body = "The dispute began over the New Caledonia protests. It has since spread to other territories."
    doc = read_document(_write(tmp_path, "teaser.txt", f"{lead}\nAzerbaijan Steps up Hybrid Warfare\n{body}\n".encode()),
                        tmp_path)
    assert doc.title == "Azerbaijan Steps up Hybrid Warfare"
    late = "\n".join([lead, body, body, body, "Azerbaijan Steps up Hybrid Warfare", body]) + "\n"
    doc = read_document(_write(tmp_path, "late.txt", late.encode()), tmp_path)
    assert doc.title == "late"  # a heading on the fifth line is a section heading, not the title
    joined = f"{lead}\nAzerbaijan Steps up Hybrid Warfare\nin the territories, says the report.\n"
    doc = read_document(_write(tmp_path, "joined.txt", joined.encode()), tmp_path)
    assert doc.title == "joined"  # a line the next one continues in lower case is no title
    doc = read_document(_write(tmp_path, "intro.txt", f"{lead}\nIntroduction\n{body}\n".encode()), tmp_path)
    assert doc.title == "intro"  # a one-word heading is no title


def test_unwrapped_lines_are_paragraphs(seeds: dict[str, Document]) -> None:
    doc = seeds["002_502a978e92ca49eb.txt"]  # one paragraph per line, no blank lines between
    assert "\n\nAzerbaijan Steps up Hybrid Warfare in Overseas French Territories\n\nGrowing worried" in doc.clean
    doc = seeds["000_c138998a30d41faa.txt"]  # hard-wrapped at ~115 chars, headings on their own lines
    assert "to the benefit of Moscow.\n\nBulgaria-Azerbaijan Defense Partnership\n\nFirst, there is" in doc.clean


# ---- clean_text on small strings ------------------------------------------------------


def test_clean_text_normalises_spaces_and_soft_hyphens() -> None:
    raw = "Baku\u00a0and\u202fYerevan\u2009met  in\tMay; “signif\u00adicant” talks\u200b."
    clean, offsets = clean_text(raw)
    assert clean == "Baku and Yerevan met in May; “significant” talks."
    assert offsets.dtype == np.int64 and len(offsets) == len(clean) + 1 and offsets[-1] == len(raw)
    assert [raw[int(o)] for o in offsets[: len(clean)] if not raw[int(o)].isspace()] == [
        c for c in clean if not c.isspace()
    ]


def test_clean_text_maps_a_joined_newline_to_the_newline() -> None:
    clean, offsets = clean_text("one\ntwo")
    assert clean == "one two"
    assert offsets[3] == 3


def test_clean_text_hyphen_rules() -> None:
    clean, _ = clean_text("a stra-\ntegic aim")
    assert clean == "a strategic aim"
    clean, _ = clean_text("the post-conflict era and the post-\nconflict era")
    assert clean == "the post-conflict era and the post-conflict era"
    clean, _ = clean_text("the Armenian-\nAzerbaijani talks of 1906-\n1909")
    assert clean == "the Armenian-Azerbaijani talks of 1906-1909"


def test_clean_text_joins_paragraphs_split_mid_sentence() -> None:
    clean, _ = clean_text("the war \n\nended in 2020.\n\nThe talks began.\n\nthen more")
    assert clean == "the war ended in 2020.\n\nThe talks began.\n\nthen more"


def test_clean_text_keeps_quotes_and_other_characters() -> None:
    raw = "“Quoted” ‘text’ — with dashes – and é, ß, 中文."
    assert clean_text(raw)[0] == raw


def test_generic_running_header_detection() -> None:
    body = [f"Sentence number {i} of the report." for i in range(60)]
    lines: list[str] = []
    for page, chunk in enumerate(range(0, 60, 15), start=1):
        lines += ["ACME QUARTERLY REVIEW", "", *body[chunk : chunk + 15], "", str(page), ""]
    raw = "\n".join(lines)
    clean, offsets = clean_text(raw)
    assert "ACME" not in clean
    assert "Sentence number 59 of the report." in clean
    assert "\n3\n" in raw and "\n\n3\n\n" not in clean


def test_empty_text_cleans_to_empty() -> None:
    clean, offsets = clean_text("")
    assert clean == "" and offsets.tolist() == [0]


# ---- files ----------------------------------------------------------------------------


def test_markdown_html_and_pdf_files_load() -> None:
    docs, skipped = load_folder(DATA)
    assert skipped == []
    by_name = {d.file: d for d in docs}
    assert sorted(by_name) == ["briefing.html", "corridors.pdf", "notes.md"]

    md = by_name["notes.md"]
    assert md.title == "Field Notes on the Middle Corridor"
    assert md.sections[0].author == "Jane Example"
    assert "Caspian Sea. Its ports at Aktau and Alat were expanded in 2023" in md.clean
    assert "\n- Will tariffs be harmonised?\n- Can ferry capacity" in md.clean

    html = by_name["briefing.html"]
    assert html.title == "Caspian Shipping Briefing"
    assert "grew by a third in 2023 & is expected to keep growing." in html.clean
    assert "console.log" not in html.raw and "font-family" not in html.raw
    assert "<p>" not in html.raw

    pdf = by_name["corridors.pdf"]
    assert pdf.title == "Regional Corridors" and pdf.sections[0].author == "Jane Example"
    assert "links the Caspian ports" in pdf.clean and "because shippers avoided" in pdf.clean
    for doc in docs:
        assert_offsets_consistent(doc)


def _write(root: Path, name: str, data: bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture()
def messy(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    _write(root, "good.txt", "A good document.\nIt has two lines.\n".encode())
    _write(root, "sub/also good.md", b"# Notes\n\nMore text here.\n")
    _write(root, "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _write(root, "controls.txt", bytes([1, 2, 3, 4, 5, 6, 7, 8]) * 200)
    _write(root, "latin1.txt", "Caf\u00e9 au lait".encode("latin-1"))
    _write(root, "empty.txt", b"")
    _write(root, "blank.md", b"  \n\t\n\xc2\xa0\n")
    _write(root, ".hidden.txt", b"secret")
    _write(root, ".git/config.txt", b"secret")
    _write(root, "image.png", b"\x89PNG")
    outside = _write(tmp_path, "outside.txt", b"Text that lives outside the folder.")
    (root / "link.txt").symlink_to(outside)
    (root / "inner-link.txt").symlink_to(root / "good.txt")
    return root


def test_iter_files_is_sorted_recursive_and_skips_hidden_and_escaping_links(messy: Path) -> None:
    names = [p.relative_to(messy).as_posix() for p in iter_files(messy)]
    assert names == [
        "binary.txt", "blank.md", "controls.txt", "empty.txt", "good.txt", "inner-link.txt", "latin1.txt",
        "sub/also good.md",
    ]
    assert all(p.suffix in SUPPORTED_SUFFIXES for p in iter_files(messy))


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("binary.txt", ["binary.txt", "skipped", "binary", "NUL byte at byte offset 8"]),
        ("controls.txt", ["controls.txt", "skipped", "binary", "control bytes"]),
        ("latin1.txt", ["latin1.txt", "skipped", "UTF-8", "0xe9", "byte offset 3", "re-save"]),
        ("empty.txt", ["empty.txt", "skipped", "empty"]),
        ("blank.md", ["blank.md", "skipped", "whitespace-only"]),
        ("link.txt", ["link.txt", "skipped", "symlink", "outside"]),
    ],
)
def test_read_document_rejects_bad_files_with_actionable_messages(messy: Path, name: str, words: list[str]) -> None:
    with pytest.raises(DocumentError) as info:
        read_document(messy / name, messy)
    for word in words:
        assert word in str(info.value)


def test_read_document_rejects_files_over_max_bytes(messy: Path) -> None:
    with pytest.raises(DocumentError, match=r"good.txt: skipped: expected at most 10 bytes, found 35 bytes"):
        read_document(messy / "good.txt", messy, max_bytes=10)


def test_load_folder_skips_bad_files_and_keeps_the_good(messy: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="rag.documents"):
        docs, skipped = load_folder(messy)
    assert [d.file for d in docs] == ["good.txt", "inner-link.txt", "sub/also good.md"]
    assert docs[0].clean == "A good document. It has two lines."
    assert [s.file for s in skipped] == [
        "binary.txt", "blank.md", "controls.txt", "empty.txt", "latin1.txt", "link.txt"
    ]
    assert all(isinstance(s, Skipped) and s.file in s.reason and "skipped" in s.reason for s in skipped)
    warned = " ".join(r.getMessage() for r in caplog.records)
    for s in skipped:
        assert s.file in warned


def test_load_folder_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="expected a folder of documents"):
        load_folder(tmp_path / "missing")
    _write(tmp_path, "file.txt", b"text")
    with pytest.raises(DocumentError, match="found a file"):
        load_folder(tmp_path / "file.txt")


def test_damaged_pdf_is_skipped_not_raised(tmp_path: Path) -> None:
    _write(tmp_path, "broken.pdf", b"%PDF-1.4\nthis is not really a pdf")
    _write(tmp_path, "fine.txt", b"Fine.")
    docs, skipped = load_folder(tmp_path)
    assert [d.file for d in docs] == ["fine.txt"]
    assert [s.file for s in skipped] == ["broken.pdf"] and "PDF" in skipped[0].reason
