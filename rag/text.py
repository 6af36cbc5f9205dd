"""Text utilities shared by several stages: sentence spans, word tokens, token counts."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from pathlib import Path
from typing import Callable, Iterable

from .errors import ConfigError

_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "no", "vol", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "gen", "col", "lt",
    "u.s", "u.k", "u.n", "fig", "p", "pp", "jr", "sr", "inc", "co", "ltd", "al",
}
# A sentence ends at . ! ? (optionally followed by closing quotes/brackets and a footnote number,
# in digits or superscripts: "... personnel.²² A former diplomat ...")
_SUP = "¹²³⁴⁵⁶⁷⁸⁹⁰"
_END = re.compile(rf"[.!?…]+[\"'”’)\]]*(?:\d{{0,3}}|[{_SUP}]{{1,3}})(?=\s+|$)")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    this that these those it its into than then there their they them he she his her we our you
    your i me my what which who whom whose when where why how do does did done has have had not no
    so such can could would should will shall may might must about over under after before between
    also more most other some any each both all very just only own same too s t""".split()
)


# a line, except that a list of names wrapped after "and" or a comma goes on to the next line
# ("Tamilla Mammadova, Aynur Rahimli, and\nParviz Sunatulloev")
_LINES = re.compile(r"(?:[^\n]*(?:,|\band)[ \t]*\n(?=[ \t]*[A-Z][^\n.!?]{0,60}(?:\n|$)))*[^\n]+")


# a footnote number set apart from the sentence it closes, which the PDF put before the next one
# ("… with Azerbaijan.” 17 Politico, through …", "… a colonialist state.”1 8 Boasting of …"); not
# a date ("5 October 2023 …")
FOOTNOTE_LEADS = True
MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december"
          "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")  # a regex alternation, lower case
_FOOTNOTE_LEAD = re.compile(rf"\s+\d{{1,3}}(?=\s+[A-Z])(?!\s+(?i:{MONTHS})\b)")


# One state, several words: its name, its adjective and its capital (analyses write "Baku" and
# "Azerbaijani" for Azerbaijan, "Moscow" and "the Kremlin" for Russia), each a plain content word
# (lower case, as `content_words` stems it). Matching a question's words against a text, any word
# of a state counts for any other (`entity`). A general gazetteer of states and their capitals,
# not a list of the corpus's words.
_STATES = """
azerbaijan azerbaijani baku | armenia armenian yerevan | russia russian moscow kremlin |
georgia georgian tbilisi | türkiye turkey turkish ankara | iran iranian tehran | france french paris elysee élysée |
ukraine ukrainian kyiv kiev | bulgaria bulgarian sofia | slovakia slovak bratislava | czech czechia prague |
israel israeli jerusalem | germany german berlin | uk britain british london | italy italian rome |
greece greek athens | poland polish warsaw | hungary hungarian budapest | romania romanian bucharest |
serbia serbian belgrade | belarus belarusian minsk | moldova moldovan chisinau | china chinese beijing |
india indian delhi | pakistan pakistani islamabad | kazakhstan kazakh astana | uzbekistan uzbek tashkent |
turkmenistan turkmen ashgabat | kyrgyzstan kyrgyz bishkek | tajikistan tajik dushanbe | syria syrian damascus |
iraq iraqi baghdad | egypt egyptian cairo | japan japanese tokyo | canada canadian ottawa | qatar qatari doha |
america american washington | saudi riyadh | eu brussels
"""
ENTITY_WORDS = True


@functools.lru_cache(maxsize=1)
def _entities() -> dict[str, str]:
    return {_stem(w): _stem(group.split()[0]) for group in _STATES.split("|") for w in group.split()}


def entity(word: str) -> str:
    """The state a content word names ("baku", "azerbaijani" -> "azerbaijan"), else the word."""
    return _entities().get(word, word) if ENTITY_WORDS else word


def ends_sentence(text: str) -> bool:
    """Whether text ends where `sentence_spans` ends a sentence (a stop, closing quotes, a footnote)."""
    return any(m.end() == len(text) for m in _END.finditer(text.rstrip()))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) spans of text[start:end], trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for para in _LINES.finditer(text[start:end]):
        p0, p1 = start + para.start(), start + para.end()
        pos = p0
        for m in _END.finditer(text, p0, p1):
            word = re.search(r"(\S+)$", text[pos : m.start() + 1])
            token = word.group(1).rstrip(".").lower() if word else ""
            if token in _ABBREV or (len(token) == 1 and token.isalpha()):
                continue
            nxt = text[m.end() : m.end() + 3].lstrip()
            if nxt and nxt[0].islower():
                continue
            spans.append((pos, m.end()))
            pos = m.end()
            if FOOTNOTE_LEADS and (lead := _FOOTNOTE_LEAD.match(text, pos, p1)):
                pos = lead.end()  # "… with Azerbaijan.” 17 Politico, …": the 17 belongs to neither
        if pos < p1:
            spans.append((pos, p1))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


# the list position an ordinal word names; 0 = the last item ("finally")
ORDINALS = {"first": 1, "firstly": 1, "second": 2, "secondly": 2, "third": 3, "thirdly": 3, "fourth": 4,
            "fifth": 5, "sixth": 6, "final": 0, "finally": 0, "last": 0, "lastly": 0}
_ORDINAL = re.compile(r"(?:^|(?<=[.!?:;”\"]\s)|(?<=\n))\s*(?:(?:the|a)\s+)?(" + "|".join(ORDINALS) + r")\b",
                      re.IGNORECASE)


# a PDF footnote number glued to a sentence's end: "... of Russia.”2", "... in March-April 2024.8"
# (a letter or a year before the stop: "rose to 3.5" keeps its decimal)
_FOOTNOTE_END = re.compile(r"(?:(?<=[^\W\d_][.!?])|(?<=[.!?][”’\"')\]])|(?<=[”’\"')\]][.!?])|(?<=\b(?:1[89]|20)\d\d[.!?]))\d{1,3}$"
                           rf"|(?<=[.!?”’\"')\]])[{_SUP}]{{1,3}}$")


def strip_footnote(sentence: str) -> str:
    """The sentence without a footnote number glued to its end."""
    return _FOOTNOTE_END.sub("", sentence)


def list_positions(text: str, count: int) -> list[int]:
    """The list positions named at the start of the text's sentences, in order ("First, ...",
    "The third ...", "Finally, ..." = the last of `count` items)."""
    return [ORDINALS[m.group(1).lower()] or count for m in _ORDINAL.finditer(text)]


def list_position(sentence: str, count: int) -> int | None:
    """The list position a sentence opens with ("Second, ..." -> 2), else None."""
    m = _ORDINAL.match(sentence)
    return (ORDINALS[m.group(1).lower()] or count) if m else None


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Word tokens without stopwords, lightly stemmed (plural/possessive endings)."""
    return [_stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def _stem(w: str) -> str:
    w = w.replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suf in ("ies", "es", "s"):
        if w.endswith(suf) and len(w) > len(suf) + 3:
            return w[: -len(suf)] + ("y" if suf == "ies" else "")
    return w


@functools.lru_cache(maxsize=1)
def _tiktoken() -> Callable[[str], list[int]]:
    # tiktoken downloads its BPE file by default; llama-index-core ships it: point there
    # (found without importing llama_index, which takes seconds)
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("llama-index-core is not installed (it ships tiktoken's BPE file); run `pip install -e .`")
    cache = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    import tiktoken

    enc = tiktoken.get_encoding("cl100k_base")
    return lambda s: enc.encode(s, disallowed_special=())


def count_tokens(text: str) -> int:
    """Tokens in cl100k_base, counted offline."""
    return len(_tiktoken()(text))


def surnames(author: str | None) -> list[str]:
    """The last word of each name of an author field ("A. Doe, B. Roe and C. Poe" -> Doe, Roe, Poe;
    "Narek Minasyan (RCSP)" -> Minasyan)."""
    if not author:
        return []
    author = re.sub(r"\s*\([^)]*\)", "", author)  # "Narek Minasyan (RCSP)": the organisation is no name
    return [n.split()[-1] for n in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*", author) if n.split()]


def author_names(author: str | None) -> list[str]:
    """The words a question may name an author's piece by: the surnames, and an organisation
    the author field gives in brackets ("Narek Minasyan (RCSP)" -> Minasyan, RCSP: "the RCSP
    analysis")."""
    orgs = re.findall(r"\(([^)]+)\)", author or "")
    return surnames(author) + [o.strip() for o in orgs if o.strip()]


def named_authors(question: str, authors: Iterable[str]) -> list[str]:
    """The authors whose surname (or bracketed organisation, see `author_names`) the question
    names as a word ("How do Pashayeva and Gauin differ?"), in the order it names them."""
    return [a for _, a in named_author_positions(question, authors)]


def named_author_positions(question: str, authors: Iterable[str]) -> list[tuple[int, str]]:
    """`named_authors`, each with where the question first names it."""
    found = []
    for a in set(authors):
        at = [m.start() for n in author_names(a) for m in re.finditer(rf"\b{re.escape(n)}\b", question)]
        if at:
            found.append((min(at), a))
    return sorted(found)


def with_parts(words: Iterable[str]) -> list[str]:
    """The words, and the parts of each hyphenated one ("shadow-conflict": shadow, conflict)."""
    out: list[str] = []
    for w in words:
        out.append(w)
        if "-" in w:
            out.extend(part for part in w.split("-") if part)
    return list(dict.fromkeys(out))
