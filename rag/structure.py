"""Structure of a cleaned text: its title, its headings, its sections and their authors.

A single article gets one section; a collection (a journal issue) gets one section per
essay, found from its title block ("Title\\nAuthor Name") and end-of-article marks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .types import Section

if TYPE_CHECKING:  # cleaning imports this module; its line records only annotate here
    from .cleaning import Cleaned, Line

SENTENCE_END = re.compile(r"(?:[.?!:…][\"”’)\]]*|[\"”)])$")
BYLINE = re.compile(r"(?i:by)\s+([A-Z][^\s,]*(?:[\s,]+(?:and\s+|&\s+)?[A-Z][^\s,]*){0,5})")
_BIO = re.compile(r"((?:\S+\s+){1,4}?\S+)\s+(?:is|was)\s+(?:a|an|the)\s")
_CREDIT = re.compile(r"([^:]+?):\s+(.+)")
_AUTHOR_LINE = re.compile(r"(?i:authors?|written by)\s*:\s*(.+)")  # "Author: RCSP associate expert Jane Doe"
_CREDIT_WINDOW = 10  # a closing credit line sits among the last lines, after the body
_AUTHOR_SPLIT = re.compile(r"\s*,\s*(?:(?:and|&)\s+)?|\s+(?:and|&)\s+")
_WRAPPED_LIST = re.compile(r"(?:,|\band|&)$")
_INITIAL = re.compile(r"[^\W\d_]\.")
_PARTICLES = frozenset("al bin da de del der di du el la le van von".split())


@dataclass(frozen=True)
class Essay:
    """One essay of a collection, found from its title block."""

    title: str
    author: str
    title_block: int  # first block of the title
    author_block: int
    author_lines: int
    has_bio: bool


def _norm(text: str) -> str:
    return " ".join(text.split())


def _loose_title(text: str) -> bool:
    return 0 < len(text) <= 150 and len(text.split()) <= 20 and text[-1] not in ".,;:"


def _strict_title(text: str) -> bool:
    """Title-like: short, no full stop, starts with a capital, most longer words capitalised."""
    if not _loose_title(text) or not (text[0].isupper() or text[0].isdigit() or text[0] in "\"“‘'"):
        return False
    longer = [w for w in text.split() if len(w) >= 4 and w[0].isalpha()]
    return 3 * sum(w[0].isupper() for w in longer) >= 2 * len(longer)


def _is_person(name: str, lowercase_words: frozenset[str]) -> bool:
    tokens = name.split()
    if not 2 <= len(tokens) <= 5 or not tokens[-1][0].isupper():
        return False
    words = []
    for t in tokens:
        if t in _PARTICLES or _INITIAL.fullmatch(t):
            continue
        core = t.replace("-", "").replace("’", "").replace("'", "")
        if not (core.isalpha() and t[0].isupper() and any(c.islower() for c in core)):
            return False
        words.append(t.lower())
    # "Five Cornerstone Areas" is a heading: its words also occur in lower case in the text
    return 1 <= len(words) <= 3 and not all(w in lowercase_words for w in words)


def _is_author_list(text: str, lowercase_words: frozenset[str]) -> bool:
    if _WRAPPED_LIST.search(text):
        return False
    names = [n for n in _AUTHOR_SPLIT.split(text) if n]
    return 1 <= len(names) <= 6 and all(_is_person(n, lowercase_words) for n in names)


def _is_bio(text: str, author: str) -> bool:
    first = _AUTHOR_SPLIT.split(author)[0]
    return "views expressed in this" in text.lower() or bool(re.match(rf"{re.escape(first)}\s+(?:is|was)\s", text))


def heading_breaks(lines: list[Line], short: float) -> set[int]:
    """Lines that start a paragraph because they (or they and the next) form a heading.

    A heading here is a short title-like line, ending with a capitalised word, after a
    finished sentence and without blank lines around it ("...of Moscow.\nBulgaria-Azerbaijan
    Defense Partnership\nFirst, there is...").
    """
    breaks: set[int] = set()
    for j in range(1, min(5, len(lines))):  # "Title\nby Jane Doe\nThe text..."
        if BYLINE.fullmatch(lines[j].text):
            breaks.update((j, j + 1))
    if len(lines) > 1 and _strict_title(lines[0].text) and lines[1].text[0].isupper():
        breaks.add(1)
    for j in range(1, len(lines)):
        line = lines[j]
        t = line.text
        if line.blank_before or len(t) > short or not SENTENCE_END.search(lines[j - 1].text):
            continue
        if not (_strict_title(t) and (t.split()[-1][0].isupper() or t[-1].isdigit())):
            continue
        end = j
        if j + 1 < len(lines) and not lines[j + 1].blank_before:
            nxt = lines[j + 1].text
            last = j + 2 == len(lines) or lines[j + 2].blank_before
            if last and len(t) + len(nxt) <= 80 and _strict_title(f"{t} {nxt}"):
                end = j + 1  # a two-line heading: "New Strategic\nOpportunities"
            elif not nxt[0].isupper():
                continue
        breaks.update((j, end + 1))
    return breaks


def find_essays(blocks: list[list[Line]], lowercase_words: frozenset[str]) -> list[Essay]:
    """Title blocks: 1-3 title-like lines ending with (or followed by) a line of author names."""
    essays: list[Essay] = []
    for bi, block in enumerate(blocks):
        n = len(block)
        for k in (2, 1):  # the author list may wrap onto a second line
            if k > n or (k == 2 and not _WRAPPED_LIST.search(block[n - 2].text)):
                continue
            author = _norm(" ".join(line.text for line in block[n - k :]))
            if not _is_author_list(author, lowercase_words):
                continue
            first, title_lines = (bi, block[: n - k]) if n > k else (bi - 1, blocks[bi - 1] if bi else [])
            title = _norm(" ".join(line.text for line in title_lines))
            if 1 <= len(title_lines) <= 3 and _strict_title(title):
                bio = first > 0 and _is_bio(_norm(" ".join(line.text for line in blocks[first - 1])), author)
                essays.append(Essay(title, author, first, bi, k, bio))
            break
    return essays


def detect_structure(cleaned: Cleaned, stem: str, heading: str | None) -> tuple[str, tuple[Section, ...]]:
    """Document title and sections: one per essay of a collection, else one for the whole text."""
    clean, blocks, essays = cleaned.text, cleaned.blocks, cleaned.essays
    texts = [_norm(clean[b[0].clean_start : b[-1].clean_end]) for b in blocks]
    ends = [bi for bi, b in enumerate(blocks[:-1]) if b[-1].ends_article]

    lines = cleaned.lines
    first = lines[0].text.lstrip("#").strip() if lines else ""
    second = lines[1] if len(lines) > 1 else None
    alone = second is None or second.blank_before or second.text[0].isupper() or bool(BYLINE.fullmatch(second.text))
    top = heading or (first if alone and _loose_title(first) else None)
    if not ends and len(essays) <= 1:
        if essays:
            return essays[0].title, (Section(essays[0].title, essays[0].author, 0, len(clean)),)
        credit = _credit(lines, cleaned.lowercase_words)
        title = top or (credit[1] if credit else None) or _early_title(lines) or stem
        author = _byline(lines, texts, credit[0] if credit else None, cleaned.lowercase_words)
        return title, (Section(title, author, 0, len(clean)),)

    # The running header names the publication ("BAKU DIALOGUES") and the issue ("Vol. 6 | No. 2 ...").
    title = top or stem
    worded = [h for h in cleaned.headers if any(c.isalpha() for c in h)]
    names = [h for h in worded if " " in h and not any(c.isdigit() for c in h)]
    issues = [h for h in worded if any(c.isdigit() for c in h)]
    if names:
        name = names[0].title() if names[0].isupper() else names[0]
        title = f"{name}, {issues[0]}" if issues else name
    bounds = [0, *(bi + 1 for bi in ends), len(blocks)]
    found: list[tuple[int, str, str | None]] = []
    for s, (b0, b1) in enumerate(zip(bounds, bounds[1:])):
        inside = [e for e in essays if b0 <= e.title_block and e.author_block < b1]
        lead = texts[b0] if len(blocks[b0]) <= 3 and _strict_title(texts[b0]) else None
        start = blocks[b0][0].clean_start if b0 else 0
        for j, e in enumerate(inside):
            if j:  # several essays without end marks: the essay starts at its bio or title block
                start = blocks[e.title_block - 1 if e.has_bio else e.title_block][0].clean_start
            name = e.title
            if not j and ends and lead and not e.has_bio and e.title_block != b0:
                name = f"{lead}: {e.title}"  # the opening heading is the title, the block its subtitle
            found.append((start, name, e.author))
        if not inside:
            edge = "Front matter" if s == 0 else "Back matter" if b1 == len(blocks) else "Untitled"
            found.append((start, lead or edge, None))
    found.sort(key=lambda f: f[0])
    sections = [
        Section(name, author, start, found[k + 1][0] if k + 1 < len(found) else len(clean))
        for k, (start, name, author) in enumerate(found)
    ]
    return title, tuple(s for s in sections if s.end > s.start)


def _early_title(lines: list[Line]) -> str | None:
    """A title printed after a lead paragraph (a web page's teaser, then "Azerbaijan Steps up
    Hybrid Warfare in Overseas French Territories"): one of the 2nd-4th lines that is
    title-like, of three words or more (not a heading such as "Introduction"), follows a
    finished sentence and stands alone (a capitalised or blank-separated line after it). None
    when there is none."""
    for j in range(1, min(4, len(lines))):
        t = lines[j].text
        nxt = lines[j + 1] if j + 1 < len(lines) else None
        if (_strict_title(t) and len(t.split()) >= 3 and SENTENCE_END.search(lines[j - 1].text)
                and (nxt is None or nxt.blank_before or nxt.text[:1].isupper())):
            return _norm(t)
    return None


def _credit(lines: list[Line], lowercase_words: frozenset[str]) -> tuple[str, str] | None:
    """Author and title from a closing credit line ("Jane Doe: The Title of the Piece").

    Only the last lines count, and only a line that starts a paragraph: in the body the
    same shape is a heading ("Tapping Slovakia: Diversion of Arms to Ukraine").
    """
    for k in range(len(lines) - 1, max(-1, len(lines) - 1 - _CREDIT_WINDOW), -1):
        m = _CREDIT.fullmatch(lines[k].text)
        if not m or len(m.group(1).split()) > 4 or not _strict_title(m.group(2)):
            continue
        if k and not lines[k].blank_before and not SENTENCE_END.search(lines[k - 1].text):
            continue  # the line goes on a paragraph
        if _is_person(m.group(1), lowercase_words):
            return m.group(1), m.group(2)
    return None


def _author_line(lines: list[Line], lowercase_words: frozenset[str]) -> str | None:
    """The person an "Author: ..." line names, among the first or last lines: the name at its
    end ("Author: RCSP associate expert Narek Minasyan" -> "Narek Minasyan")."""
    for line in [*lines[:5], *lines[-_CREDIT_WINDOW:]]:
        if m := _AUTHOR_LINE.fullmatch(line.text.strip()):
            tokens = m.group(1).split()
            for n in (3, 2):  # the longest trailing run that reads as a person's name
                if len(tokens) >= n and _is_person(" ".join(tokens[-n:]), lowercase_words):
                    return " ".join(tokens[-n:])
    return None


def _byline(lines: list[Line], texts: list[str], credited: str | None,
            lowercase_words: frozenset[str] = frozenset()) -> str | None:
    """Author from an "Author: ..." line, else a "by ..." line near the top, else a closing
    credit line, else a closing bio ("X Y is a ..."). A "by" line may name an organisation
    ("by RCSP") while an "Author:" line at the end names the person: "Narek Minasyan (RCSP)"."""
    by = next((m.group(1).strip() for line in lines[:5] if (m := BYLINE.fullmatch(line.text))), None)
    if named := _author_line(lines, lowercase_words):
        return f"{named} ({by})" if by and by != named else named  # "Narek Minasyan (RCSP)"
    if by:
        return by
    if credited:
        return credited
    for t in reversed(texts[-5:]):
        if (m := _BIO.match(t)) and _is_author_list(m.group(1), frozenset()):
            return m.group(1)
    return None
