"""Files -> Document: read .txt/.md/.pdf/.html, clean the text, find the sections.

The cleaned text repairs PDF-extraction damage (words hyphenated across lines, hard
wraps, running headers and page numbers, letter-spaced words, odd spaces) and keeps
`offsets`, which maps every cleaned character to the raw character it came from, so
citations can always be checked against the original text.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .errors import DocumentError
from .types import Document, Section

__all__ = ["SUPPORTED_SUFFIXES", "Skipped", "clean_text", "iter_files", "load_folder", "read_document"]

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".html", ".htm")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_SNIFF_BYTES = 8192
_CONTROL_BYTES = bytes([*range(0x00, 0x08), 0x0E, *range(0x10, 0x1B), *range(0x1C, 0x20), 0x7F])
_MAX_CONTROL_RATIO = 0.10


@dataclass(frozen=True)
class Skipped:
    """A file load_folder could not read, and why."""

    file: str
    reason: str


# ---- files ------------------------------------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """Supported files under root, and symlinks among them that resolve outside root."""
    real_root = root.resolve()
    files: list[Path] = []
    outside: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in dirnames:
            if (base / d).is_symlink():  # os.walk does not follow them; say so once
                logger.warning("not following symlinked folder %s", base / d)
        for name in filenames:
            path = base / name
            if name.startswith(".") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if path.is_symlink() and not _inside(path.resolve(), real_root):
                outside.append(path)
            else:
                files.append(path)
    key = lambda p: p.relative_to(root).as_posix()  # noqa: E731
    return sorted(files, key=key), sorted(outside, key=key)


def iter_files(root: Path) -> list[Path]:
    """Supported files under root, recursively and sorted; hidden ones and escaping symlinks left out."""
    return _walk(root)[0]


def load_folder(root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[Document], list[Skipped]]:
    """Read every supported file under root; a file that cannot be read is logged and skipped."""
    if not root.is_dir():
        found = "a file" if root.exists() else "nothing"
        raise DocumentError(
            f"expected a folder of documents at {root}, found {found}; "
            f"pass a directory holding {', '.join(SUPPORTED_SUFFIXES)} files"
        )
    t0 = time.perf_counter()
    files, outside = _walk(root)
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in sorted(files + outside, key=lambda p: p.relative_to(root).as_posix()):
        try:
            docs.append(read_document(path, root, max_bytes))
        except DocumentError as exc:
            logger.warning("%s", exc)
            skipped.append(Skipped(path.relative_to(root).as_posix(), str(exc)))
    logger.info(
        "read %d documents from %s in %.2fs (%d skipped)", len(docs), root, time.perf_counter() - t0, len(skipped)
    )
    return docs, skipped


def read_document(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read one file under root into a Document; DocumentError says why a file cannot be used."""
    try:
        rel = path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        raise DocumentError(
            f"{path}: skipped: expected a file inside the indexed folder {root}; move it there or index its folder"
        ) from None
    if path.is_symlink() and not _inside(path.resolve(), root.resolve()):
        raise DocumentError(
            f"{rel}: skipped: it is a symlink to {path.resolve()}, outside the indexed folder {root}; "
            "copy the file into the folder or index its real location"
        )
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{rel}: skipped: expected one of {', '.join(SUPPORTED_SUFFIXES)}, found {suffix or 'no suffix'}; "
            "convert it to text or PDF"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(
                f"{rel}: skipped: expected at most {max_bytes} bytes, found {size} bytes; "
                "split the file or raise the size limit (max_bytes)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{rel}: skipped: cannot read it ({exc}); check that it exists and is readable") from exc
    heading: str | None = None
    if suffix == ".pdf":
        raw = _pdf_text(data, rel)
    else:
        _check_not_binary(data, rel)
        raw = _decode(data, rel)
        if suffix in (".html", ".htm"):
            raw, heading = _html_text(raw)
    cleaned = _clean(raw)
    if not cleaned.text:
        raise DocumentError(
            f"{rel}: skipped: expected some text, found an empty or whitespace-only "
            f"{'PDF text layer (a scan? run OCR first)' if suffix == '.pdf' else 'file'}; add text or remove it"
        )
    title, sections = _structure(cleaned, Path(rel).stem, heading)
    return Document(
        file=rel,
        raw=raw,
        clean=cleaned.text,
        offsets=cleaned.offsets,
        title=title,
        sections=sections,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _check_not_binary(data: bytes, rel: str) -> None:
    head = data[:_SNIFF_BYTES]
    nul = head.find(b"\x00")
    if nul >= 0:
        raise DocumentError(
            f"{rel}: skipped: expected a text file, found binary data (a NUL byte at byte offset {nul}); "
            "remove it from the folder or export it as .txt/.pdf"
        )
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if head and controls / len(head) > _MAX_CONTROL_RATIO:
        raise DocumentError(
            f"{rel}: skipped: expected a text file, found binary data ({controls} control bytes in the first "
            f"{len(head)}); remove it from the folder or export it as .txt/.pdf"
        )


def _decode(data: bytes, rel: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{rel}: skipped: expected UTF-8 text, found byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
            "that is not valid UTF-8; re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None


def _pdf_text(data: bytes, rel: str) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:  # pypdf raises many types on damaged or encrypted files
        raise DocumentError(
            f"{rel}: skipped: expected a readable PDF, found {type(exc).__name__}: {exc}; "
            "repair or decrypt it, or export its text to .txt"
        ) from exc


_HTML_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table td th tr ul".split()
)
_HTML_SKIP = frozenset({"script", "style", "noscript", "template", "head"})


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _HTML_SKIP:
            self._skip += 1
        elif tag in _HTML_BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _HTML_SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _HTML_BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.parts.append(data)


def _html_text(markup: str) -> tuple[str, str | None]:
    """Text of an HTML page (block elements become line breaks) and its <title>."""
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    title = " ".join("".join(parser.title).split())
    return "".join(parser.parts), title or None


# ---- cleaning ---------------------------------------------------------------------

_NEWLINE = re.compile(r"\r\n|\r|\n")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_STRIP = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + _INVISIBLE + "\u00ad"
_NEEDS_WORK = re.compile(rf"[^\S ]| {{2,}}|[\u00ad{_INVISIBLE}]")
_WS_OR_INVISIBLE = re.compile(rf"[\s\u00ad{_INVISIBLE}]+")
_SPACE = re.compile(r"\s")
_PAGE_NO = re.compile(r"(?i:page\s+)?\d{1,4}(?:\s+(?:(?i:of)\s+)?\d{1,4})?")
_SENTENCE_END = re.compile(r"(?:[.?!:…][\"”’)\]]*|[\"”)])$")
_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,3}[.)])\s|\|")
_MD_HEADING = re.compile(r"#{1,6}\s")
_LETTERS = re.compile(r"[^\W\d_]+")
_BREAK_PAIR = re.compile(r"[^\W\d_]+-[ \t]*\r?\n\s*[^\W\d_]+")
_WORD_BEFORE_HYPHEN = re.compile(r"([^\W\d_]+)-$")
_COMPOUND = re.compile(r"[^\W\d_]+-[^\W\d_]+")
_BYLINE = re.compile(r"(?i:by)\s+([A-Z][^\s,]*(?:[\s,]+(?:and\s+|&\s+)?[A-Z][^\s,]*){0,5})")
_END_MARK = re.compile(r"(?:[.?!…][\"”’)\]]*|[\"”)])\s+([A-Z]{2,4})$")
_MIN_LINES_FOR_HEADERS = 40
_MAX_WRAP_WIDTH = 150


@dataclass
class _Line:
    row: int  # index among all raw lines
    start: int  # raw span of the line's text, surrounding whitespace stripped
    end: int
    eol: int  # raw offset of the line terminator (len(raw) for the last line)
    eol2: int  # raw offset of the next line's terminator (a blank line's newline), else eol
    blank_before: bool  # a blank or dropped line separates it from the previous kept line
    text: str
    spaced: bool = False  # letter-spaced ("u nw i l l i n g n e s s"): drop its spaces
    soft_hyphen: bool = False  # ends with a soft hyphen: the word goes on on the next line
    ends_article: bool = False  # closes with an end-of-article mark ("... his word. BD")
    force: str = ""  # separator required after this line by the structure (title blocks, marks)
    trim: int = 0  # chars dropped from the end (a joined hyphen)
    sep: str = ""  # separator emitted after this line
    clean_start: int = 0
    clean_end: int = 0


@dataclass
class _Cleaned:
    text: str
    offsets: npt.NDArray[np.int64]
    lines: list[_Line]
    blocks: list[list[_Line]]  # runs of lines between blank lines
    essays: list[_Essay]
    headers: list[str] = field(default_factory=list)  # running headers dropped, most frequent first


def clean_text(raw: str) -> tuple[str, npt.NDArray[np.int64]]:
    """Cleaned text and offsets (int64, len(clean)+1): offsets[i] is the raw index of clean[i]."""
    cleaned = _clean(raw)
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


def _letter_spaced(text: str) -> bool:
    tokens = text.split()
    if len(tokens) < 5 or max(map(len, tokens)) > 2:
        return False
    return sum(len(t) == 1 for t in tokens) >= 0.7 * len(tokens)


def _clean(raw: str) -> _Cleaned:
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

    lines: list[_Line] = []
    gap = False
    for row, ((a, b), text) in enumerate(zip(spans, texts)):
        if not text or row in dropped:
            gap = True
            continue
        lead = len(raw[a:b]) - len(raw[a:b].lstrip(_STRIP))
        eol2 = spans[row + 1][1] if row + 1 < len(spans) else b
        line = _Line(row, a + lead, a + lead + len(text), b, eol2, gap and bool(lines), text, _letter_spaced(text))
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
    essays = _find_essays(blocks, frozenset(w for w in found if w.islower()))
    for e in essays:
        authors = blocks[e.author_block]
        authors[-1].force = "\n\n"
        if e.title_block == e.author_block:
            authors[-1 - e.author_lines].force = "\n"
    lengths = sorted(len(line.text) for line in lines)
    short = min(80.0, 0.6 * lengths[len(lengths) // 2]) if lengths else 0.0

    # Hard-wrapped text has short lines; otherwise every line is a paragraph of its own.
    wrapped = bool(lengths) and lengths[(9 * len(lengths)) // 10] <= _MAX_WRAP_WIDTH
    breaks = _heading_breaks(lines, short) if wrapped else set(range(len(lines)))
    for i in range(len(lines) - 1):
        lines[i].sep, lines[i].trim = _separator(lines, i, vocab, compounds, breaks)

    text, offsets = _assemble(raw, lines)
    return _Cleaned(text, offsets, lines, blocks, essays, headers)


def _join_hyphen(p: str, s: str, vocab: set[str], compounds: set[str]) -> bool:
    """Whether "p-\\ns" is one word broken by hyphenation (else a real compound)."""
    if (p + s).lower() in vocab:
        return True
    if f"{p}-{s}".lower() in compounds:
        return False
    # "Vienna-\nbased": a name, then a word of its own; the joined form is unknown
    return not (p[:1].isupper() and len(s) >= 3 and s.lower() in vocab)


def _separator(
    lines: list[_Line], i: int, vocab: set[str], compounds: set[str], breaks: set[int]
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
        if n[0].islower() and not (_SENTENCE_END.search(p) or _MD_HEADING.match(p) or i + 1 in breaks):
            return " ", 0  # a column or page break fell mid-sentence
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


def _heading_breaks(lines: list[_Line], short: float) -> set[int]:
    """Lines that start a paragraph because they (or they and the next) form a heading.

    A heading here is a short title-like line, ending with a capitalised word, after a
    finished sentence and without blank lines around it ("...of Moscow.\nBulgaria-Azerbaijan
    Defense Partnership\nFirst, there is...").
    """
    breaks: set[int] = set()
    for j in range(1, min(5, len(lines))):  # "Title\nby Jane Doe\nThe text..."
        if _BYLINE.fullmatch(lines[j].text):
            breaks.update((j, j + 1))
    if len(lines) > 1 and _strict_title(lines[0].text) and lines[1].text[0].isupper():
        breaks.add(1)
    for j in range(1, len(lines)):
        line = lines[j]
        t = line.text
        if line.blank_before or len(t) > short or not _SENTENCE_END.search(lines[j - 1].text):
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


def _assemble(raw: str, lines: list[_Line]) -> tuple[str, npt.NDArray[np.int64]]:
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
        if not line.spaced and not _NEEDS_WORK.search(segment):
            put(segment, a)
        else:
            at = a
            for m in _WS_OR_INVISIBLE.finditer(segment):
                if m.start() + a > at:
                    put(raw[at : a + m.start()], at)
                space = _SPACE.search(m.group())
                if space and not line.spaced:
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


# ---- structure --------------------------------------------------------------------

_BIO = re.compile(r"((?:\S+\s+){1,4}?\S+)\s+(?:is|was)\s+(?:a|an|the)\s")
_AUTHOR_SPLIT = re.compile(r"\s*,\s*(?:(?:and|&)\s+)?|\s+(?:and|&)\s+")
_WRAPPED_LIST = re.compile(r"(?:,|\band|&)$")
_INITIAL = re.compile(r"[^\W\d_]\.")
_PARTICLES = frozenset("al bin da de del der di du el la le van von".split())


@dataclass(frozen=True)
class _Essay:
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


def _blocks(lines: list[_Line]) -> list[list[_Line]]:
    blocks: list[list[_Line]] = []
    for line in lines:
        if line.blank_before or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    return blocks


def _find_essays(blocks: list[list[_Line]], lowercase_words: frozenset[str]) -> list[_Essay]:
    """Title blocks: 1-3 title-like lines ending with (or followed by) a line of author names."""
    essays: list[_Essay] = []
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
                essays.append(_Essay(title, author, first, bi, k, bio))
            break
    return essays


def _structure(cleaned: _Cleaned, stem: str, heading: str | None) -> tuple[str, tuple[Section, ...]]:
    """Document title and sections: one per essay of a collection, else one for the whole text."""
    clean, blocks, essays = cleaned.text, cleaned.blocks, cleaned.essays
    texts = [_norm(clean[b[0].clean_start : b[-1].clean_end]) for b in blocks]
    ends = [bi for bi, b in enumerate(blocks[:-1]) if b[-1].ends_article]

    lines = cleaned.lines
    first = lines[0].text.lstrip("#").strip() if lines else ""
    second = lines[1] if len(lines) > 1 else None
    alone = second is None or second.blank_before or second.text[0].isupper() or bool(_BYLINE.fullmatch(second.text))
    title = heading or (first if alone and _loose_title(first) else stem)
    if not ends and len(essays) <= 1:
        if essays:
            return essays[0].title, (Section(essays[0].title, essays[0].author, 0, len(clean)),)
        return title, (Section(title, _byline(lines, texts), 0, len(clean)),)

    # The running header names the publication ("BAKU DIALOGUES") and the issue ("Vol. 6 | No. 2 ...").
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


def _byline(lines: list[_Line], texts: list[str]) -> str | None:
    """Author from a "by ..." line near the top, else from a closing bio ("X Y is a ...")."""
    for line in lines[:5]:
        if m := _BYLINE.fullmatch(line.text):
            return m.group(1).strip()
    for t in reversed(texts[-5:]):
        if (m := _BIO.match(t)) and _is_author_list(m.group(1), frozenset()):
            return m.group(1)
    return None
