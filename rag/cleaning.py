"""Cleaning: repair PDF-extraction damage in raw text and keep a map back to it.

The cleaned text repairs words hyphenated across lines, hard wraps, running headers and
page numbers, letter-spaced words and odd spaces, and keeps `offsets`, which maps every
cleaned character to the raw character it came from, so citations can always be
checked against the original text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .structure import SENTENCE_END, Essay, find_essays, heading_breaks
from .text import STOPWORDS


_NEWLINE = re.compile(r"\r\n|\r|\n")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_STRIP = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + _INVISIBLE + "\u00ad"
_NEEDS_WORK = re.compile(rf"[^\S ]| {{2,}}|[\u00ad{_INVISIBLE}]")
_WS_OR_INVISIBLE = re.compile(rf"[\s\u00ad{_INVISIBLE}]+")
_SPACE = re.compile(r"\s")
_PAGE_NO = re.compile(r"(?i:page\s+)?\d{1,4}(?:\s+(?:(?i:of)\s+)?\d{1,4})?")
_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,3}[.)])\s|\|")
_MD_HEADING = re.compile(r"#{1,6}\s")
_LETTERS = re.compile(r"[^\W\d_]+")
_BREAK_PAIR = re.compile(r"[^\W\d_]+-[ \t]*\r?\n\s*[^\W\d_]+")
_WORD_BEFORE_HYPHEN = re.compile(r"([^\W\d_]+)-$")
_COMPOUND = re.compile(r"[^\W\d_]+-[^\W\d_]+")
_END_MARK = re.compile(r"(?:[.?!…][\"”’)\]]*|[\"”)])\s+([A-Z]{2,4})$")
_ONLY_LETTERS = re.compile(r"[^a-z]+")
_MIN_LINES_FOR_HEADERS = 40
PULL_QUOTE_LETTERS = 40  # a pull quote repeats at least this many letters of the text
_MAX_WRAP_WIDTH = 150
# a block ending in a word that cannot end a sentence ("... voiced by Putin on") goes on in the
# next block, unless that one opens like a sentence of its own ("The", "It", "In" ...)
OPEN_ENDED = True
_OPEN_END = re.compile(r"\s(?:the|a|an|of|on|to|in|by|for|with|from|at|and|or|as|that|than|between|into|its|their|his|her)$",
                       re.IGNORECASE)


@dataclass
class Line:
    """One kept raw line: where it is in the raw text, and how it joins the next line."""

    row: int  # index among all raw lines
    start: int  # raw span of the line's text, surrounding whitespace stripped
    end: int
    eol: int  # raw offset of the line terminator (len(raw) for the last line)
    eol2: int  # raw offset of the next line's terminator (a blank line's newline), else eol
    blank_before: bool  # a blank or dropped line separates it from the previous kept line
    text: str
    spaced: bool = False  # letter-spaced ("u nw i l l i n g n e s s"): drop its spaces
    joins: list[tuple[int, int]] = field(default_factory=list)  # raw spans of letter-spaced words within it
    soft_hyphen: bool = False  # ends with a soft hyphen: the word goes on on the next line
    ends_article: bool = False  # closes with an end-of-article mark ("... his word. BD")
    force: str = ""  # separator required after this line by the structure (title blocks, marks)
    trim: int = 0  # chars dropped from the end (a joined hyphen)
    sep: str = ""  # separator emitted after this line
    clean_start: int = 0
    clean_end: int = 0


@dataclass
class Cleaned:
    """The cleaned text, its offsets, and the lines and blocks structure detection works on."""

    text: str
    offsets: npt.NDArray[np.int64]
    lines: list[Line]
    blocks: list[list[Line]]  # runs of lines between blank lines
    essays: list[Essay]
    lowercase_words: frozenset[str]  # words the text uses in lower case ("areas", not "Areas")
    headers: list[str] = field(default_factory=list)  # running headers dropped, most frequent first


def clean_text(raw: str) -> tuple[str, npt.NDArray[np.int64]]:
    """Cleaned text and offsets (int64, len(clean)+1): offsets[i] is the raw index of clean[i]."""
    cleaned = clean(raw)
    return cleaned.text, cleaned.offsets


def _header_key(text: str) -> str:
    s = " ".join(text.split())
    half = len(s) // 2
    if half and s[:half] == s[-half:] and (len(s) % 2 == 0 or s[half] == " "):
        s = s[:half]  # two-page spreads repeat the running head: "BAKU DIALOGUES BAKU DIALOGUES"
    return s


def _running_lines(texts: list[str]) -> tuple[set[int], list[str]]:
    """Rows holding running headers/footers (short lines repeated across the file) or page numbers."""
    if sum(1 for t in texts if t) < _MIN_LINES_FOR_HEADERS:
        return set(), []
    shown = [_header_key(t) for t in texts]
    keys = [re.sub(r"\d+", "#", s) for s in shown]
    counts = Counter(k for k in keys if k)
    candidate = [
        bool(k)
        and (
            bool(_PAGE_NO.fullmatch(shown[i]))
            or (counts[k] >= 3 and len(k) <= 80 and k[-1] not in ".,;:-" and any(c.isalnum() for c in k))
        )
        for i, k in enumerate(keys)
    ]

    def apart(i: int) -> bool:  # body lines sit between body lines; headers next to a gap or a header
        if i == 0 or i == len(texts) - 1:
            return True
        return not texts[i - 1] or not texts[i + 1] or candidate[i - 1] or candidate[i + 1]

    rows = [i for i, c in enumerate(candidate) if c and apart(i)]
    apart_counts = Counter(keys[i] for i in rows)
    headers = [i for i in rows if apart_counts[keys[i]] >= 3 and not _PAGE_NO.fullmatch(shown[i])]
    pages = [i for i in rows if _PAGE_NO.fullmatch(shown[i])]
    named = Counter(shown[i] for i in headers)
    return set(headers) | set(pages), [s for s, _ in named.most_common()]


def _pull_quotes(texts: list[str], dropped: set[int]) -> set[int]:
    """Rows of pull quotes set into the middle of a sentence: rows that open a block (after a
    blank line) with a capital, after a line that ends no sentence, repeat text found elsewhere
    in the file, close a sentence, and are followed by the interrupted sentence going on in
    lower case ("... militants in possession | In terms of security, the benefits ... at a
    map. | of explosives, guns ...")."""
    kept = [r for r, t in enumerate(texts) if t and r not in dropped]
    letters = [_ONLY_LETTERS.sub("", texts[r].lower()) for r in kept]
    whole = "".join(letters)

    def repeated(s: str) -> bool:
        first = whole.find(s)
        return first >= 0 and whole.find(s, first + 1) >= 0

    out: set[int] = set()
    i = 1
    while i < len(kept):
        opens = kept[i] - kept[i - 1] > 1  # a blank (or dropped) line before it
        if not opens or not texts[kept[i]][:1].isupper() or SENTENCE_END.search(texts[kept[i - 1]]):
            i += 1
            continue
        j, run = i, ""
        while j < len(kept) and repeated(run + letters[j]):
            run += letters[j]
            j += 1
        closes = j > i and SENTENCE_END.search(texts[kept[j - 1]])
        if len(run) >= PULL_QUOTE_LETTERS and closes and j < len(kept) and texts[kept[j]][:1].islower():
            out.update(kept[i:j])
            i = j
        else:
            i += 1
    return out


def _letter_spaced(text: str) -> bool:
    tokens = text.split()
    if len(tokens) < 5 or max(map(len, tokens)) > 2:
        return False
    return sum(len(t) == 1 for t in tokens) >= 0.7 * len(tokens)


LETTER_RUNS = True  # a letter-spaced word inside a line ("the p a r l i am e n t a r y elections") is joined
_RUN = re.compile(r"(?<!\S)[^\W\d_]{1,5}(?: [^\W\d_]{1,5}){3,}(?!\S)")


def _letter_runs(text: str, at: int, vocab: set[str]) -> list[tuple[int, int]]:
    """Raw spans (text starts at raw offset `at`) of letter-spaced words inside a line: runs of 4+
    short tokens, half of them single letters, whose longest stretch that joins into a word the
    text uses elsewhere ("parliamentary", "Azerbaijan" from "A zerba i jan")."""
    out: list[tuple[int, int]] = []
    for m in _RUN.finditer(text):
        toks = [(t.start(), t.end()) for t in re.finditer(r"\S+", m.group())]
        words = [m.group()[a:b] for a, b in toks]
        if sum(len(w) == 1 for w in words) < 0.5 * len(words):
            continue
        best = None
        for i in range(len(words)):
            for j in range(len(words), i + 1, -1):
                if sum(len(w) == 1 for w in words[i:j]) >= 2 and "".join(words[i:j]).lower() in vocab:
                    if best is None or j - i > best[1] - best[0]:
                        best = (i, j)
                    break
        if best:
            i, j = best
            out.append((at + m.start() + toks[i][0], at + m.start() + toks[j - 1][1]))
    return out


def clean(raw: str) -> Cleaned:
    """Clean raw text, keeping the lines, blocks and essays found on the way."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _NEWLINE.finditer(raw):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(raw)))
    texts = [raw[a:b].strip(_STRIP) for a, b in spans]
    dropped, headers = _running_lines(texts)
    if len(dropped) == sum(1 for t in texts if t):
        dropped = set()  # nothing but "headers": they are the text
    dropped |= _pull_quotes(texts, dropped)

    lines: list[Line] = []
    gap = False
    for row, ((a, b), text) in enumerate(zip(spans, texts)):
        if not text or row in dropped:
            gap = True
            continue
        lead = len(raw[a:b]) - len(raw[a:b].lstrip(_STRIP))
        eol2 = spans[row + 1][1] if row + 1 < len(spans) else b
        line = Line(row, a + lead, a + lead + len(text), b, eol2, gap and bool(lines), text, _letter_spaced(text))
        line.soft_hyphen = raw[a:b].rstrip(_STRIP[:-1]).endswith("\u00ad")
        lines.append(line)
        gap = False

    # End-of-article marks: the same short capitalised token after the last sentence, 2+ times.
    marks = [(line, mark.group(1)) for line in lines[:-1] if (mark := _END_MARK.search(line.text))]
    seen = Counter(tok for _, tok in marks)
    for line, tok in marks:
        line.ends_article = seen[tok] >= 2
        line.force = "\n\n" if line.ends_article else ""
    for prev, nxt in zip(lines, lines[1:]):
        nxt.blank_before = nxt.blank_before or prev.ends_article

    # Vocabulary of the text itself, with line-break fragments ("stra-\ntegic") removed first.
    unbroken = _BREAK_PAIR.sub(" ", raw)
    found = set(_LETTERS.findall(unbroken))
    vocab = {w.lower() for w in found}
    compounds = {c.lower() for c in _COMPOUND.findall(unbroken)}

    # Title blocks stay paragraphs of their own: "Title\nAuthor Name\n\n" then the text.
    blocks = _blocks(lines)
    lowercase_words = frozenset(w for w in found if w.islower())
    essays = find_essays(blocks, lowercase_words)
    for e in essays:
        authors = blocks[e.author_block]
        authors[-1].force = "\n\n"
        if e.title_block == e.author_block:
            authors[-1 - e.author_lines].force = "\n"
    lengths = sorted(len(line.text) for line in lines)
    short = min(80.0, 0.6 * lengths[len(lengths) // 2]) if lengths else 0.0

    # Hard-wrapped text has short lines; otherwise every line is a paragraph of its own.
    wrapped = bool(lengths) and lengths[(9 * len(lengths)) // 10] <= _MAX_WRAP_WIDTH
    breaks = heading_breaks(lines, short) if wrapped else set(range(len(lines)))
    for i in range(len(lines) - 1):
        lines[i].sep, lines[i].trim = _separator(lines, i, vocab, compounds, breaks)
    if LETTER_RUNS:
        for line in lines:
            if not line.spaced:
                line.joins = _letter_runs(line.text, line.start, vocab)

    text, offsets = _assemble(raw, lines)
    return Cleaned(text, offsets, lines, blocks, essays, lowercase_words, headers)


def _first_word(text: str) -> str:
    m = _LETTERS.match(text)
    return m.group().lower() if m else ""


def _join_hyphen(p: str, s: str, vocab: set[str], compounds: set[str]) -> bool:
    """Whether "p-\\ns" is one word broken by hyphenation (else a real compound)."""
    if (p + s).lower() in vocab:
        return True
    if f"{p}-{s}".lower() in compounds:
        return False
    # "Vienna-\nbased": a name, then a word of its own; the joined form is unknown
    return not (p[:1].isupper() and len(s) >= 3 and s.lower() in vocab)


def _separator(
    lines: list[Line], i: int, vocab: set[str], compounds: set[str], breaks: set[int]
) -> tuple[str, int]:
    """What goes between line i and line i+1, and how many chars to trim off line i."""
    prev, nxt = lines[i], lines[i + 1]
    p, n = prev.text, nxt.text
    if prev.soft_hyphen and n[0].isalpha():
        return "", 0
    if prev.force:
        return prev.force, 0
    if p.endswith("-") and len(p) > 1 and p[-2].isalnum() and n[0].isalnum():
        left = _WORD_BEFORE_HYPHEN.search(p)
        right = _LETTERS.match(n)
        if left and right and n[0].islower():
            joined = (left.group(1) + right.group()).lower()
            # after another hyphen ("land-sea-\ntransit") only a word seen elsewhere is joined
            if p[left.start() - 1 : left.start()] == "-" and joined not in vocab:
                return "", 0
            if _join_hyphen(left.group(1), right.group(), vocab, compounds):
                return "", 1
        return "", 0  # "post-\nconflict", "mid-\nMarch", "1906-\n1909", "land-sea-\ntransit"
    if nxt.blank_before:
        if ((n[0].islower() or (OPEN_ENDED and _OPEN_END.search(p) and _first_word(n) not in STOPWORDS))
                and not (SENTENCE_END.search(p) or _MD_HEADING.match(p) or i + 1 in breaks)):
            return " ", 0  # a column or page break fell mid-sentence ("... voiced by Putin on" / "12 October")
        return "\n\n", 0
    if _MD_HEADING.match(p) or _MD_HEADING.match(n):
        return "\n\n", 0
    if _LIST_ITEM.match(n):
        return "\n", 0
    if i + 1 in breaks:
        return "\n\n", 0
    if p[-1] in "—–" and len(p) > 1 and not p[-2].isspace():
        return "", 0  # "420,000—\nof these": the dash was attached
    return " ", 0



def _assemble(raw: str, lines: list[Line]) -> tuple[str, npt.NDArray[np.int64]]:
    """Join the lines with their separators; runs of (clean_start, raw_start) build the offsets."""
    parts: list[str] = []
    run_clean: list[int] = []
    run_raw: list[int] = []
    size = 0

    def put(piece: str, raw_at: int) -> None:
        nonlocal size
        parts.append(piece)
        run_clean.append(size)
        run_raw.append(raw_at)
        size += len(piece)

    for k, line in enumerate(lines):
        line.clean_start = size
        a, b = line.start, line.end - line.trim
        segment = raw[a:b]
        if not line.spaced and not line.joins and not _NEEDS_WORK.search(segment):
            put(segment, a)
        else:
            at = a
            for m in _WS_OR_INVISIBLE.finditer(segment):
                if m.start() + a > at:
                    put(raw[at : a + m.start()], at)
                space = _SPACE.search(m.group())
                joined = any(js <= a + m.start() < je for js, je in line.joins)
                if space and not line.spaced and not joined:
                    put(" ", a + m.start() + space.start())
                at = a + m.end()
            if at < b:
                put(raw[at:b], at)
        line.clean_end = size
        if k + 1 < len(lines) and line.sep:
            # a separator maps to the newline(s) it replaces
            put(line.sep[0], line.eol)
            if len(line.sep) == 2:
                put(line.sep[1], line.eol2 if line.row + 1 < lines[k + 1].row else line.eol)
    text = "".join(parts)
    starts = np.array([*run_clean, size], dtype=np.int64)
    shift = np.repeat(np.array(run_raw, dtype=np.int64) - starts[:-1], starts[1:] - starts[:-1])
    offsets = np.empty(size + 1, dtype=np.int64)
    offsets[:size] = np.arange(size, dtype=np.int64) + shift
    offsets[size] = len(raw)
    return text, offsets


def _blocks(lines: list[Line]) -> list[list[Line]]:
    blocks: list[list[Line]] = []
    for line in lines:
        if line.blank_before or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    return blocks
