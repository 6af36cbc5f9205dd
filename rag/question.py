"""question -> what kind of answer it expects: answer type, parts and enumerated count.

Classic open-domain QA answer typing (Moldovan et al.'s LASSO, Ephyra): a "how many" question
is answered by a sentence holding a number, a "when" question by one holding a date. The
evidence stage uses the type to rank sentences that can answer above ones that only share
words, and to refuse when no retrieved sentence holds an answer of the expected type.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from .text import MONTHS, ORDINALS, STOPWORDS, content_words, strip_footnote, words

Expects = Literal["number", "measure", "share", "money", "day", "date", "time", "person", "name"]

# "what did the company offer" asks for an action, "what is the name of" for a name
_AUX = r"(?!(?:did|does|do|has|have|had|can|could|will|would)\b)"
# "on what (exact) date / which day": a day of a month; "what year / month": any date
_WHICH_EXACT = r"\b(?:what|which)\s+(?:(?:exact|precise|specific|actual)\s+)?"
_DAY_Q = re.compile(_WHICH_EXACT + r"(?:date|day)\b", re.IGNORECASE)
_DATE_Q = re.compile(_WHICH_EXACT + r"(?:year|month)\b", re.IGNORECASE)
_TIME_Q = re.compile(r"^\s*(?:and\s+)?(?:since\s+)?when\b", re.IGNORECASE)  # a date, a time, "every two hours"
_MONEY_Q = re.compile(
    r"\b(?:how much (?:money|funding|financing|financial (?:aid|support|assistance)|aid|investment"
    r"|did \w+(?: \w+){0,3} (?:spend|pay|invest|cost))|(?:monetary|dollar|euro|total)?"
    r"\s*(?:value|cost|price|budget|worth)\b(?! of (?:the )?(?:relationship|ties|partnership))|how much .{0,40}"
    r"\b(?:spen[dt]|paid|pay|cost|invest(?:ed)?|worth)\b)",
    re.IGNORECASE,
)
# "what share / proportion of X": a percentage or a fraction, not any number
_SHARE_Q = re.compile(rf"\bwhat\s+(?:{_AUX}\w+\s+){{0,3}}(?:share|portion|proportion|percentage|percent|fraction)\b",
                      re.IGNORECASE)
# units of measure, singular or plural ("100 hectares", "31.5 billion cubic meters", "63 bcm")
_UNITS = (r"hectares?|ha|acres?|kilometers?|kilometres?|km|meters?|metres?|miles?|tons?|tonnes?|kilograms?|kg|grams?"
          r"|liters?|litres?|barrels?|bcm|mm|cm|megawatts?|mw|gigawatts?|gw|kilowatts?|kwh|degrees?")
_MAGNITUDE = r"thousands?|millions?|billions?"
# "What is its capacity in billion cubic meters?": a number in that unit (`has_answer`)
_MEASURE_Q = re.compile(rf"\bin\s+(?:(?:{_MAGNITUDE})\s+(?:of\s+)?)?(?:(?:cubic|square)\s+)?(?:{_UNITS})\b", re.IGNORECASE)
_NUMBER_Q = re.compile(
    r"\bhow (?:many|much|long|far|large|big|high|old)\b"
    rf"|\bwhat\s+(?:{_AUX}\w+\s+){{0,3}}(?:number|amount|volume|quantity"
    r"|totals?|figures?|rate|size|length|sum|estimate|count)\b",
    re.IGNORECASE,
)
_PERSON_NOUNS = (
    r"ministers?|presidents?|prime ministers?|officials?|diplomat|ambassador|envoy|authors?|journalists?|leaders?"
    r"|person|people|members?(?![\s-]+(?:states?|countries|country))|analysts?|scholars?|mp|politicians?|spokes(?:person|man|woman)|chief|head"
    r"|secretary|commander|general|governor|mayor|activists?"
    r"|commissioners?|senators?|lawmakers?|legislators?|chair(?:man|woman|person)|advis[eo]rs?|deputy|deputies"
    r"|representatives?|editors?|founders?|researchers?|prosecutors?|judges?|officers?"
)
_PERSON_Q = re.compile(
    rf"^\s*(?:and\s+|in\s+|by\s+)?(?:who|whom|whose)\b|^\s*according to whom\b"
    rf"|\bname of (?:the )?(?:\w+\s+){{0,4}}(?:{_PERSON_NOUNS})\b"
    rf"|\b(?:which|what)\s+(?:{_AUX}\w+\s+){{0,3}}(?:{_PERSON_NOUNS})\b",
    re.IGNORECASE,
)
_NAME_NOUNS = (
    r"company|companies|firm|corporation|party|parties|app|country|countries|city|cities|region|town|village"
    r"|organi[sz]ation|institution|agency|ministry|state|states|port|university|newspaper|outlet|bank"
)
_NAME_Q = re.compile(
    rf"\b(?:which|what)\s+(?:{_AUX}\w+[\s-]+){{0,4}}(?:{_NAME_NOUNS})\b|\bwhat (?:is|was|were|are) the names? of\b",
    re.IGNORECASE,
)
_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_ENUM = re.compile(r"(?<!among the )(?<!of the )(?<!from the )\b(two|three|four|five|six)\s+(?:\w+\s+){0,2}?(?:[a-z]+s)\b",
                   re.IGNORECASE)
# yes/no and "how is X seen" questions: the documents may disagree, so each source has its say
_VIEWS_Q = re.compile(
    r"^\s*(?:is|are|was|were|does|do|did|has|have|had|can|could|should|will|would)\b"
    r"|\bhow (?:is|are|was|were|do|does)\b.{0,80}\b(?:portrayed|seen|viewed|described|characteri[sz]ed|"
    r"framed|perceived|judged|assessed)\b",
    re.IGNORECASE,
)


# "..., and in which city ...", "When and at what event did X": a part may open with a preposition
_PREP = r"(?:at|in|on|from|by|for|with|to|under|through|of|since|until)"
_SPLIT = re.compile(
    r",?\s+(?:and|but)\s+(?:(?:roughly|approximately|about|around|exactly|precisely|also|then|finally|specifically)\s+)?"
    rf"(?=(?:{_PREP}\s+(?=(?:what|which|whom|whose|how|when|where)\b))?"
    r"(?:what|which|how|when|where|who|whom|whose|why|does|did|do|is|are|was|were|has|have)\b)"
    r"|;\s+|\?\s+",
    re.IGNORECASE,
)
# "Why can't X, what system has been installed, and ...": a clause list; only after a clause
# that is itself a question (not "According to X, what ...")
_CLAUSE = re.compile(r",\s+(?=(?:what|which|how|when|where|who|whom|whose|why)\b)", re.IGNORECASE)
_ASKS = re.compile(r"^(?:what|which|how|when|where|who|whom|whose|why|does|did|do|is|are|was|were|has|have|can|could)\b",
                   re.IGNORECASE)
_WH_WORD = rf"(?:{_PREP}\s+)?(?:what|which|how|when|where|who|whom|whose|why)\b"
_WH = re.compile(rf"{_WH_WORD}\s*(.*)", re.IGNORECASE | re.DOTALL)
# what a bare wh-word borrows from "at what event did X": "did X", not "event did X"
_WH_AUX = re.compile(rf"{_WH_WORD}(?:\s+[\w’'-]+){{0,3}}?\s+"
                     r"((?:did|does|do|is|are|was|were|has|have|had|can|could|will|would)\b.*)", re.IGNORECASE | re.DOTALL)
_LEAD = re.compile(r"^(according to [^,]+,|in [^,]{3,60},)\s*", re.IGNORECASE)


def subqueries(question: str) -> list[str]:
    """The parts of a multi-part question ("X, and what Y?") or of a comparison (see `compared`),
    each keeping a leading "According to Z," frame; [] for a single question."""
    return list(_parts(question)[0])


@functools.lru_cache(maxsize=1024)
def _parts(question: str) -> tuple[tuple[str, ...], bool]:
    """The parts of `subqueries`, and whether they are the sides of a comparison."""
    parts = [p.strip(" ,;?") for p in _SPLIT.split(question) if p and p.strip(" ,;?")]
    parts = [c for p in parts for c in _clauses(p)]
    for i, part in enumerate(parts):
        # a bare wh-word borrows the rest of its neighbour: "When and where did X?" and
        # "When did X, and where?" both ask "When did X" and "where did X"
        if not content_words(part) and len(parts) > 1:
            other = parts[i + 1] if i + 1 < len(parts) else parts[i - 1]
            bare = _LEAD.sub("", other)
            rest = _WH_AUX.match(bare) or _WH.match(bare)
            parts[i] = f"{part} {rest.group(1) if rest else other}"
    parts = [p for p in parts if content_words(p)]
    sides = len(parts) < 2
    if sides:
        parts = compared(question)
    if len(parts) < 2:
        return (), False
    lead = _LEAD.match(question)
    prefix = lead.group(1) + " " if lead else ""
    return tuple(p if p.lower().startswith(prefix.lower()) else prefix + p for p in parts), sides


_VERBS = r"(?:differ|disagree|clash|diverge|compare|contrast)\w*"
SOURCE_SIDES = True  # a part that only asks to compare sources is searched per source (`retrieval_queries`)
# a part that only asks to compare sources: "Compare A with B", "How do A and B differ"
_INSTRUCTION = re.compile(
    rf"^\s*(?:(?:compare|contrast)\s+(?P<a>[^:;]+?)\s+(?:with|and|to|against)\s+(?P<b>[^:;]+?)"
    rf"|how\s+(?:do|does|did)\s+(?P<c>[^:;]+?)\s+and\s+(?P<d>[^:;]+?)\s+{_VERBS}"
    rf"|how\s+(?:do|does|did)\s+(?:the\s+)?(?:analyses|accounts|documents|sources|essays|pieces|articles)\s+{_VERBS})"
    r"\s*[.?]?\s*$",
    re.IGNORECASE,
)


_QUOTED = re.compile(r"[“\"‘]([^”\"’]{3,80})[”\"’]|(?<!\w)'([^']{3,80})'(?!\w)")


def quoted_phrases(question: str) -> list[str]:
    """The phrases a question quotes ("a 'Deep Strategic Partnership'", “bigger than five”):
    words the answer's source uses together, as they stand."""
    return [m.group(1) or m.group(2) for m in _QUOTED.finditer(question)]


def retrieval_queries(question: str) -> list[str]:
    """The sub-queries to search for (see `subqueries`), with a part that only asks to compare
    sources ("Has Azerbaijan helped Ukraine? Compare Shahbazov's account with Abrahamyan's.")
    replaced by one query per source, each the other parts' topic plus that source ("Has
    Azerbaijan helped Ukraine Shahbazov's account", ...): the instruction alone holds no topic,
    so its own ranking is noise in the sum. A source-free instruction ("How do the analyses
    differ?") is left out."""
    parts = subqueries(question)
    found = [(p, _INSTRUCTION.match(p)) for p in parts]
    topical = [p for p, m in found if not m]
    if not SOURCE_SIDES or not topical or len(topical) == len(parts):
        return parts
    topic = " ".join(topical)
    out = list(topical)
    for _, m in found:
        if m:
            out.extend(f"{topic} {side}" for side in (m["a"] or m["c"], m["b"] or m["d"]) if side)
    return out if len(out) > 1 else []


def _clauses(part: str) -> list[str]:
    """A part split at ", what/which/how ..." when what comes before is a question of its own."""
    pieces = _CLAUSE.split(part)
    return pieces if _ASKS.match(pieces[0]) else [part]


# "How do Western and Russian accounts differ on Z?", "How did A and B clash over Z?"
_BOTH = re.compile(rf"^(.*?\b(?:do|does|did|have|has|had)\s+)(.+?)\s+and\s+(.+?)\s+({_VERBS}\b.*)$",
                   re.IGNORECASE | re.DOTALL)
# "How did A's remarks differ from the position of B?", "How did A compare with B?"
_FROM = re.compile(rf"^(.*?\b(?:do|does|did|have|has|had|is|are|was|were)\s+)(.+?)\s+{_VERBS}\s+"
                   r"(?:from|with|to)\s+(.+)$", re.IGNORECASE | re.DOTALL)


def compared(question: str) -> list[str]:
    """The two sides of a comparative question, one sub-question each ("How do Western and Russian
    accounts differ on Z" -> "How do Western accounts differ on Z", "How do Russian accounts differ
    on Z"; "How did A differ from B" -> "How did A", "How did B"); [] for other questions."""
    q = question.strip().rstrip("?").strip()
    if m := _BOTH.match(q):
        pre, a, b, rest = m.groups()
        if len(re.sub(r"^the\s+", "", a, flags=re.IGNORECASE).split()) == 1 and len(b.split()) > 1:
            a = f"{a} {' '.join(b.split()[1:])}"  # "Western and Russian accounts": a shared head noun
        return [f"{pre}{a} {rest}", f"{pre}{b} {rest}"]
    if m := _FROM.match(q):
        pre, a, b = m.groups()
        return [f"{pre}{a}", f"{pre}{b}"]
    return []


_AUTHOR_Q = re.compile(
    r"\bwho\s+(?:wrote|writes|authored|penned)\b|\bauthors?\s+of\b|\bwritten\s+by\b|\bwhose\b|\bby whom\b"
    r"|\bwho\s+(?:is|are|was|were)\s+(?:the\s+)?(?:author|writer)s?\b",
    re.IGNORECASE,
)
PIECE_WORDS = ("essay", "article", "analysis", "paper", "piece", "report", "commentary", "study", "op-ed", "column")
_PIECE_WORDS = "|".join(PIECE_WORDS)
_PIECE = re.compile(rf"\b(?:{_PIECE_WORDS})s?\b", re.IGNORECASE)


# "the authors of X" as the subject of what is asked ("What do the authors of the essay expect?",
# "According to the author of …"): a question about the piece's content, not its author
_AUTHORS_SAY = re.compile(r"\b(?:do|does|did|would|will|can|could|should|might|may|according\s+to)\s+(?:the\s+)?$",
                          re.IGNORECASE)
AUTHORS_AS_SUBJECT = True


def asks_author(question: str) -> bool:
    """Whether the question asks who wrote one of the documents or essays ("Who wrote the RCSP
    analysis ...?", "Whose essay ...?"); not "Who wrote the letter to ...?", which is about its content,
    nor "What do the authors of the essay expect …?", which is about what they wrote."""
    if not _PIECE.search(question):
        return False
    for m in _AUTHOR_Q.finditer(question):
        if not (AUTHORS_AS_SUBJECT and m.group(0).lower().startswith("author") and _AUTHORS_SAY.search(question[:m.start()])):
            return True
    return False


_PIECES = rf"(?:{_PIECE_WORDS}|account)s?"  # "the Russian account" names a source too
# where a question names its source, not what it asks about: "according to the ISA analysis",
# "per Maxime Gauin", "as presented by Rahimov", "in the Aghali smart-village essay"
_SOURCE = re.compile(
    r"\b(?:according to|as (?:presented|described|reported|argued|noted|put|told) (?:by|in))\s+[^,?.;]+"
    r"|\bper\s+(?:the\s+)?(?-i:[A-Z])[^,?.;]*"  # "per Maxime Gauin", not "per year" or "per cent"
    r"|\bper\s+the\s+(?:latest|most\s+recent|newest|last|first|official|local|available)\b[^,?.;]*"  # "per the latest figures …"
    rf"|\b(?:in|from|by|of)\s+(?:the\s+|his\s+|her\s+|their\s+)?[^,?.;]{{0,60}}?\b{_PIECES}\b"
    rf"|\bthe\s+[^,?.;]{{0,60}}?\b{_PIECES}\b",
    re.IGNORECASE,
)


def source_phrases(question: str) -> list[str]:
    """The phrases of a question that name where to look rather than what to find ("according to
    the ISA analysis", "in the migration essay", "per Gauin"): a sentence holding their names adds
    no fact to an answer."""
    return [m.group(0) for m in _SOURCE.finditer(question)]


def without_sources(text: str) -> str:
    """The text less its phrases naming where to look ("According to the figures cited in the
    Aghali essay, how many families …?" -> "how many families …?"); the text as it was when fewer
    than two content words would be left."""
    out = text
    for phrase in source_phrases(text):
        out = out.replace(phrase, " ")
    out = re.sub(r"^[\s,;:]+|\s+(?=[,?.;])", "", " ".join(out.split()))
    return out if len(content_words(out)) >= 2 else text


# ordinal and superlative qualifiers: "the first ambassador", "a final peace treaty", "Azerbaijan's
# largest order" ask for one particular thing (not "put its orders first"); "most" and "least" are
# left out ("most of the journalists")
_QUALIFIER = re.compile(
    r"\b(?:the|its|his|her|our|their|a|an|[\w-]+[’']s)\s+(first|final|last|largest|biggest|highest|lowest|smallest"
    r"|oldest|newest|latest|earliest)\b",
    re.IGNORECASE,
)


SOURCE_QUALIFIERS = True  # a qualifier of the source ("the latest figures", "its final report") asks nothing of the answer
_OF_SOURCE = re.compile(rf"(?:\s+[\w-]+){{0,2}}?\s+(?:figures|data|statistics|estimates|numbers|count|census|survey|{_PIECES})\b",
                        re.IGNORECASE)
QUALIFIED_HEAD = True  # a qualifier counts next to the word it qualifies ("first ambassador", not "first lady")
HEAD_WINDOW = 4  # words after the qualifier in which that word (or one of its stem) must come


# qualifiers that say the same: "the biggest order" is "the largest order"
_SAME_QUALIFIER = ({"largest", "biggest"}, {"latest", "newest"}, {"final", "last"})


def _same(qualifier: str) -> set[str]:
    return next((g for g in _SAME_QUALIFIER if qualifier in g), {qualifier})


def qualifier_phrases(qualifier: str, sentence: str) -> list[str]:
    """Each place the sentence uses the qualifier (or one saying the same), as the qualifier and
    the HEAD_WINDOW - 1 words after it ("first foreign trip after"): what it qualifies there, for a
    check by meaning."""
    toks = re.findall(r"[\w’'-]+", sentence)
    same = _same(qualifier)
    return [" ".join(toks[i : i + HEAD_WINDOW]) for i, t in enumerate(toks) if same & set(t.lower().split("-"))]


def qualifies(qualifier: str, head: str | None, sentence: str) -> bool:
    """Whether the sentence holds the qualifier (or one saying the same: "largest" for "biggest"),
    followed within HEAD_WINDOW words by the word it qualifies in the question (same first five
    letters: "ambassador" and "ambassadors"): "the first ambassador" is not answered by a
    sentence about "the first lady"."""
    toks = re.findall(r"[\w’'-]+", sentence.lower())
    stem = head[:5] if head else None
    same = _same(qualifier)
    for i, t in enumerate(toks):
        pieces = t.split("-")  # "first-ever", "single-largest"
        if (at := next((n for n, piece in enumerate(pieces) if piece in same), None)) is not None:
            after = pieces[at + 1 :] + toks[i + 1 : i + 1 + HEAD_WINDOW]
            if stem is None or any(piece.startswith(stem) for w in after for piece in w.split("-")):
                return True
    return False


# "Among the five priority areas ..., which came third?": a list and the item of it asked for
_LIST_SIZE = re.compile(r"\b(two|three|four|five|six)\s+(?:\w+\s+){0,2}?[a-z]+s\b", re.IGNORECASE)
_POSITION = re.compile(r"\b(first|second|third|fourth|fifth|sixth|last|final)\b(?!\s+(?:step|time|place|sight)\b)",
                       re.IGNORECASE)


def _position(part: str, size: int) -> int | None:
    """The list item a (part of a) question asks for ("which came third" -> 3, "the last" -> size)."""
    m = _POSITION.search(part)
    n = (ORDINALS[m.group(1).lower()] or size) if m else None
    return n if n is not None and n <= size else None


def list_asked(question: str) -> int:
    """The size of the list whose items the question asks for: its enumerated count ("the three
    ways"), or the list it names when it asks for one item of it ("of the five areas, which came
    third?"); 1 when none."""
    count = enumerated(question)
    qa = analyse(question)
    return qa.list_size if count == 1 and any(p is not None for p in qa.positions) else count


_HOW_MANY = re.compile(r"\bhow many\s+(.*)", re.IGNORECASE | re.DOTALL)
_PHRASE_END = frozenset(
    "did do does were was are is have has had will would could can should may might in of from by on at for "
    "to that which who whom whose and or with since during per than".split()
)
# counted things that any count-bearing sentence may be about in other words ("279 victims")
_GENERIC_COUNTED = frozenset(
    "people persons individuals times years months weeks days hours minutes ones units items things cases".split()
)
_COUNT_FILLER = frozenset("more other further additional new such".split())


def counted(question: str) -> tuple[str, ...]:
    """The content words of the thing a "how many" question counts ("How many Israeli tourists
    visited ..." -> israeli, tourist; "how many hectares of ..." -> hectare), up to its plural
    head noun. Empty when there is none or it is a generic count ("how many people")."""
    if not (m := _HOW_MANY.search(question)):
        return ()
    phrase: list[str] = []
    for w in words(m.group(1))[:5]:
        if w in _PHRASE_END:
            break
        if w in _COUNT_FILLER:
            continue
        phrase.append(w)
        if w.endswith("s") or w in _GENERIC_COUNTED:  # the plural head noun ends the phrase
            break
    if not phrase or all(w in _GENERIC_COUNTED for w in phrase if w not in STOPWORDS):
        return ()
    return tuple(dict.fromkeys(t for w in phrase if w not in _GENERIC_COUNTED for t in content_words(w)))


def enumerated(question: str) -> int:
    """How many items the question asks for ("the three ways ..." -> 3), else 1."""
    m = _ENUM.search(question)
    return _COUNT_WORDS[m.group(1).lower()] if m else 1


# first match wins: "what date" before "when", a share before money ("what share of the cost" asks
# for a percentage), money before a plain number
_TYPE_QUESTIONS: tuple[tuple[Expects, re.Pattern[str]], ...] = (
    ("day", _DAY_Q), ("date", _DATE_Q), ("time", _TIME_Q), ("share", _SHARE_Q), ("money", _MONEY_Q), ("measure", _MEASURE_Q),
    ("number", _NUMBER_Q), ("person", _PERSON_Q), ("name", _NAME_Q),
)


@dataclass(frozen=True)
class Analysis:
    """What a question asks for."""

    text: str
    expects: Expects | None  # the answer type of a single question, when its wording says it
    parts: tuple[str, ...]  # sub-questions of a multi-part question (empty for a single one)
    part_types: tuple[Expects | None, ...]  # the answer type of each part
    count: int  # how many items it asks for ("the three ways ..." -> 3), else 1
    views: bool  # a yes/no or "how is X portrayed" question: answered by what each source says
    words: frozenset[str]  # lower-cased words of the question: a candidate answer is not one of them
    qualifiers: tuple[str, ...] = ()  # "first", "final", "largest": what the answer must also be
    qualified_heads: tuple[str | None, ...] = ()  # per qualifier, the word it qualifies ("first ambassador")
    list_size: int = 0  # the size of a list the question names ("among the five priority areas" -> 5)
    positions: tuple[int | None, ...] = ()  # per part (or for the whole question): the list item it asks for
    sides: tuple[frozenset[str], ...] = ()  # a comparison's parts: the words only each side has
    counted: tuple[str, ...] = ()  # "how many Israeli tourists": what a counting answer must be about
    part_counted: tuple[tuple[str, ...], ...] = ()  # the same for each part
    lists: bool = False  # "Which companies …?": a single question asking for several names
    part_lists: tuple[bool, ...] = ()  # the same for each part

    @property
    def qualifier_pairs(self) -> list[tuple[str, str | None]]:
        """Each qualifier with the word it qualifies (None when unknown)."""
        heads = self.qualified_heads or (None,) * len(self.qualifiers)
        return list(zip(self.qualifiers, heads))


@functools.lru_cache(maxsize=1024)
def analyse(question: str) -> Analysis:
    """The answer type, parts and enumerated count of a question (cached: retrieval, the gate and
    the extractive answer all ask, and an Analysis is immutable)."""
    parts, comparison = _parts(question)
    part_types = tuple(expected_type(p) for p in parts)
    count = enumerated(question)
    size = _COUNT_WORDS[m.group(1).lower()] if (m := _LIST_SIZE.search(question)) else 0
    quals: dict[str, str | None] = {}
    for m in _QUALIFIER.finditer(question):
        if SOURCE_QUALIFIERS and _OF_SOURCE.match(question, m.end()):  # "per the latest local figures": of the source
            continue
        head = content_words(question[m.end():])
        quals.setdefault(m.group(1).lower(), head[0] if head and QUALIFIED_HEAD else None)
    return Analysis(
        text=question,
        expects=None if parts else expected_type(question),
        parts=parts,
        part_types=part_types,
        count=max(count, len(parts) or 1),
        views=not parts and bool(_VIEWS_Q.search(question)),
        words=frozenset(words(question)),
        qualifiers=tuple(quals),
        qualified_heads=tuple(quals.values()),
        list_size=size,
        positions=tuple(_position(p, size) for p in (parts or (question,))) if size else (),
        sides=_sides(parts) if comparison else (),
        counted=() if parts else counted(question),
        part_counted=tuple(counted(p) for p in parts),
        lists=not parts and expected_type(question) == "name" and asks_names(question),
        part_lists=tuple(kind == "name" and asks_names(p) for kind, p in zip(part_types, parts)),
    )


def _sides(parts: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """The content words of each side of a comparison that the other side lacks."""
    words = [set(content_words(p)) for p in parts]
    return tuple(frozenset(w - set().union(*(o for k, o in enumerate(words) if k != j))) for j, w in enumerate(words))


def expected_type(question: str) -> Expects | None:
    """The answer type a (single) question asks for, or None when its wording does not say. A
    leading frame ("According to Gauin, when did …", "In his essay, who …") is read past: the
    patterns that anchor the question word at the start would miss it."""
    question = _LEAD.sub("", question.strip())
    return next((kind for kind, pattern in _TYPE_QUESTIONS if pattern.search(question)), None)


# "Nord Stream 1 and 2", "Article 9": a number that is part of a name counts nothing (but "Some
# 2,000 troops", "About 300": a sentence's opening quantifier is no name)
_NAMED_NUMBER = re.compile(r"\b(?!(?:Some|About|Around|Nearly|Almost|Over|Under|Only|Roughly|Approximately|Just|More"
                           r"|Fewer|Less|Up|At|In|By|On|Of|For|With|From|Since|After|Before|All|Each|Another|Its|Their"
                           r"|The|Those|These)\b)[A-Z][\w-]*\s+\d{1,3}(?:\s*(?:,|and|&)\s*\d{1,3})*\b(?!\s*(?:%|percent|per cent))")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)s?\b")  # a number that is a year, not a count
_DATE_YEAR = re.compile(r"\b(1[0-9]\d\d|20\d\d)s?\b")  # a year answering "when" (the Porte lost Crimea in 1783)
DURATIONS = True  # a number of years, months, days ... is no answer to "how many <not a time unit>"
_DURATION = re.compile(r"[\s-]*(?:(?:full|more|long)\s+)?(?:years?|months?|weeks?|days?|hours?|minutes?|decades?"
                       r"|centur(?:y|ies))\b", re.IGNORECASE)
MEASURES = True  # a number of a unit of measure ("100 hectares", "1,660 cubic meters") is no answer to "how many"
# what follows a number: its magnitude and unit ("… 1,660 cubic meters", "… 31.5 billion cubic meters")
_MEASURE = re.compile(rf"[\s-]*(?:({_MAGNITUDE})\s+)?(?:(?:cubic|square|sq)\s+)?({_UNITS})\b", re.IGNORECASE)
_MAGNITUDES = frozenset("thousand thousands million millions billion billions".split())


def _in_units(sentence: str, at: int, asked: frozenset[str]) -> bool:
    """Whether the number ending at `at` is in a unit the question names, with its magnitude
    ("31.5 billion cubic meters"; "bcm" is billion cubic meters)."""
    if (m := _MEASURE.match(sentence, at)) is None:
        return False
    magnitude, unit = (m.group(1) or "").lower().rstrip("s"), m.group(2).lower()
    wanted = {w.rstrip("s") for w in asked & _MAGNITUDES}
    if unit == "bcm":
        return bool(asked & {"bcm", "meters", "metres"}) and wanted <= {"billion"}
    return bool({unit, unit + "s", unit.rstrip("s")} & asked) and wanted <= {magnitude}


_TIME_WORDS = frozenset("long old time period year years month months week weeks day days hour hours minute minutes "
                        "decade decades century centuries".split())
VAGUE_DURATIONS = True  # a length of time without a number ("for weeks", "several years") answers "how long"
_VAGUE_DURATION = re.compile(r"\b(?:for|several|many|few|some|over|past|nearly|almost)\s+(?:\w+\s+)?"
                             r"(?:days|weeks|months|years|decades|centuries)\b", re.IGNORECASE)
_NUM = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?:\s*(?:%|percent|per cent))?")
_NUM_WORDS = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty"
    r"|hundreds?|thousands?|millions?|billions?|dozens?|half|third|quarter|majority)\b",
    re.IGNORECASE,
)
_CURRENCY = re.compile(
    r"[$€£₼]\s*\d|\d[\d.,]*\s*(?:million|billion|thousand|bn|m)?\s*(?:dollars?|euros?|usd|eur|azn|manats?|pounds?"
    r"|rubles?|roubles?)\b",
    re.IGNORECASE,
)
# a day of a month: "16 May", "May 16", "May 16th", "16.05.2024" (not "May 2024")
_DAY = re.compile(rf"\b(?:{MONTHS})\b\.?\s*\d{{1,2}}(?:st|nd|rd|th)?\b(?!\d)"
                  rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b"
                  r"|\b\d{1,2}[./]\d{1,2}[./](?:\d{2}|\d{4})\b", re.IGNORECASE)
_MONTH_DATE = re.compile(rf"\b(?:{MONTHS})\b\.?\s*\d|\d{{1,2}}\s+(?:{MONTHS})\b", re.IGNORECASE)
_TIME = re.compile(
    rf"\b\d{{1,2}}[:.]\d{{2}}\b|\b\d{{1,2}}\s*(?:a\.?m|p\.?m)\b|\bo[’']clock\b|\b(?:noon|midnight|dawn|dusk)\b"
    r"|\b(?:every|each)\s+(?:\w+\s+)?(?:hours?|days?|weeks?|months?|years?|morning|evening|night|spring|summer"
    r"|autumn|winter|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|\b(?:daily|weekly|monthly|annually"
    r"|yearly|hourly|nightly)\b|\b(?:spring|summer|autumn|winter|weekends?|century|decade)\b|\b(?:monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday)s?\b|\b(?:at|after|before|during|since|until|till|by|from)\s+"
    r"(?:the\s+)?(?:(?:early|late|mid|first|last|next|end of)\s+)?(?:\d|[A-Z]|one|two|three|four|five|six|seven"
    r"|eight|nine|ten|eleven|twelve)\w*",
    re.IGNORECASE,
)
_SHARE = re.compile(
    r"\d[\d.,]*\s*(?:%|percent\b|per cent\b)|\b(?:half|thirds?|quarters?|fifths?|tenths?|majority|minority)\b"
    r"|\bone in (?:\d+|\w+)\b|\b\d+\s+(?:out\s+)?of\s+(?:every\s+)?\d+\b|\b\d+/\d+\b",
    re.IGNORECASE,
)
_CALENDAR = re.compile(rf"(?:{MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday)", re.IGNORECASE)
_CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w’'-]*[a-z][\w’'-]*|[A-Z]{2,})\b")


def has_answer(kind: Expects | None, asked: frozenset[str], sentence: str) -> bool:
    """Whether the sentence holds an answer of type `kind` that is not among the question's
    words `asked` (a year the question names is not an answer to "when"). True for no type."""
    if kind is None:
        return True
    sentence = strip_footnote(sentence)  # a PDF footnote number glued to the full stop
    if kind == "day":
        return any(not _inside_question(m.group(0), asked) for m in _DAY.finditer(sentence))
    if kind in ("date", "time"):
        years = {y for y in _DATE_YEAR.findall(sentence) if y not in asked}
        if years or any(not _inside_question(m.group(0), asked) for m in _MONTH_DATE.finditer(sentence)):
            return True
        return kind == "time" and any(not _inside_question(m.group(0), asked) for m in _TIME.finditer(sentence))
    if kind == "share":
        return any(not _inside_question(m.group(0), asked) for m in _SHARE.finditer(sentence))
    if kind == "money":
        return any(not _inside_question(m.group(0), asked) for m in _CURRENCY.finditer(sentence))
    if kind == "measure":  # a number in the unit the question names, with its magnitude ("63 bcm" too)
        return any(_in_units(sentence, m.end(), asked) for m in _NUM.finditer(sentence) if not _YEAR.fullmatch(m.group(0)))
    if kind == "number":
        sentence = _NAMED_NUMBER.sub(" ", sentence)
        # "three years" counts no troops: a duration answers only a question about time
        durations = DURATIONS and not asked & _TIME_WORDS
        # "100 hectares per machine" counts no machines: a measure answers "how much", not "how many"
        measures = MEASURES and "many" in asked
        for m in _NUM.finditer(sentence):
            token = m.group(0)
            digits = re.sub(r"\D", "", token.split()[0])
            if token.split()[0] in asked or digits in asked:
                continue
            if _YEAR.fullmatch(token) or _is_date_part(sentence, m.start(), m.end()):
                continue
            if durations and _DURATION.match(sentence, m.end()):
                continue
            if measures and (u := _MEASURE.match(sentence, m.end())) and u.group(2).lower() not in asked:
                continue
            return True
        if asked & _TIME_WORDS and VAGUE_DURATIONS and _VAGUE_DURATION.search(sentence):
            return True  # "How long …?" answered "for weeks, even months"
        return any(w.group(0).lower() not in asked and not (durations and _DURATION.match(sentence, w.end()))
                   for w in _NUM_WORDS.finditer(sentence))
    if kind == "person" and PERSON_NAMES:
        # "President Heydar Aliyev" is no new person for a question naming Heydar Aliyev
        return any(not all(w.lower() in asked or w.lower() in _TITLES for w in m.group(0).split())
                   for m in _people(sentence))
    # name: a capitalised word inside the sentence that the question does not use
    # (a month or weekday is not a name)
    return any((w := m.group(1).lower()) not in asked and not _CALENDAR.fullmatch(w)
               for m in _CAPITAL.finditer(sentence))


NAME_LISTS = True  # "Which companies …?": a sentence naming several new things answers it better than one
_PLURAL_HEAD = re.compile(r"\b(?:which|what)\s+((?:[\w’'-]+\s+){0,4}?)(?=(?:did|does|do|is|are|was|were|has|have|"
                          r"had|can|could|will|would|make|made|currently|besides|other|in|of|from)\b)", re.IGNORECASE)
_NAME_PHRASE = r"[A-Z][\w.’'/-]*(?:\s+(?:of\s+|de\s+|and\s+(?=[A-Z][\w.-]*\s+(?:Co|Corporation|JSC|Ltd)))?[A-Z][\w.’'/-]*)*"
_NAME_LIST = re.compile(rf"({_NAME_PHRASE})((?:\s*,\s*{_NAME_PHRASE})*\s*,?\s+(?:and|or)\s+{_NAME_PHRASE}|(?:\s*,\s*{_NAME_PHRASE})+)")


def asks_names(question: str) -> bool:
    """Whether a "which"/"what" question asks for several names ("Which Bulgarian defense
    companies …", "which states make up …"): its head noun, the last word before the verb, is a
    plural."""
    if not NAME_LISTS or (m := _PLURAL_HEAD.search(question)) is None or not m.group(1).strip():
        return False
    head = m.group(1).split()[-1].lower()
    return head.endswith("s") and not head.endswith(("ss", "us", "is", "’s", "'s"))


def names_list(asked: frozenset[str], sentence: str) -> bool:
    """Whether the sentence lists two or more names ("DUNARIT Corporation, Arcus Co., and Armaco
    JSC", "Armenia, Azerbaijan, Belarus") of which at least two are new to the question."""
    for m in _NAME_LIST.finditer(strip_footnote(sentence)):
        phrases = re.split(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", m.group(0))
        new = [ph for ph in phrases if ph and not all(w.lower().strip(".,") in asked for w in ph.split())
               and not _CALENDAR.fullmatch(ph.lower())
               and not all(w.lower() in _DEMONYMS or w.lower() == "european" for w in ph.split())]  # "Eastern European"
        if len(new) >= 2:
            return True
    return False


PERSON_NAMES = True  # a "who" answer must hold a person's name (two capitalised words), not any name
_NAME_WORD = r"(?:O[’']\w+|[A-Z][a-zà-ÿ’']+(?:-[A-Z]?[a-zà-ÿ’']+)*|[A-Z]\.)"
_FULL_NAME = re.compile(rf"\b{_NAME_WORD}(?:\s+(?:de|da|van|von|al-|bin|ben|le|la)?\s*{_NAME_WORD})+")
# demonyms: "French Polynesian", "New Caledonian" independence movements are no one's name
_DEMONYMS = frozenset(
    """american british english french german italian spanish dutch polish czech slovak hungarian romanian bulgarian
    greek turkish russian ukrainian belarusian georgian armenian azerbaijani azeri iranian persian israeli jewish arab
    arabic palestinian syrian iraqi lebanese egyptian saudi emirati qatari pakistani afghan indian chinese japanese
    korean kazakh uzbek turkmen tajik kyrgyz mongolian soviet western eastern corsican polynesian caledonian kanak
    algerian moroccan african asian caucasian balkan baltic nordic muslim catholic orthodox""".split()
)
# words that end or start the names of places, bodies and things, not people
_NOT_PEOPLE = frozenset(
    """union republic states kingdom nations sea ocean east west north south central caucasus asia europe america
    council commission committee parliament assembly ministry party army forces agency service bank fund group
    initiative corporation company university institute center centre office organization mission court times
    post news review journal dialogues stream corridor road war crisis treaty agreement declaration statement summit
    compass partnership community village city region province airport port strait gulf new united european middle
    black caspian great first second day government state security foreign defense defence interior national
    international federation alliance bloc pact program programme plan project""".split()
) | _DEMONYMS
_OPENERS = frozenset("while although though however meanwhile thus yet since because unlike like despite following "
                     "during according given moreover furthermore indeed instead still".split())
_TITLES = frozenset("president minister prime secretary ambassador mr mrs ms dr general deputy speaker".split())


def _people(sentence: str) -> list[re.Match[str]]:
    """Sequences of two or more capitalised words that can be a person's name ("Gérald Darmanin",
    "President Ilham Aliyev", "James O’Brien"): not those of a place or body ("Soviet Union",
    "New Caledonia", "European Political Community"), and not a title alone ("Prime Minister")."""
    out = []
    for m in _FULL_NAME.finditer(sentence):
        toks = [t.lower().rstrip(".") for t in m.group(0).split()]
        if toks[0] in STOPWORDS or toks[0] in _OPENERS:  # "While Israel ...": a capitalised sentence opener
            toks = toks[1:]
        cut = max((i + 1 for i, t in enumerate(toks) if t in _TITLES or t in _NOT_PEOPLE), default=0)
        rest = toks[cut:]  # the words after the last title or place word: "State James O’Brien"
        if len(rest) >= 2 or (rest and cut and toks[cut - 1] in _TITLES):
            out.append(m)
    return out


def _inside_question(span: str, asked: frozenset[str]) -> bool:
    toks = words(span)
    return bool(toks) and all(t in asked for t in toks)


def _is_date_part(text: str, start: int, end: int) -> bool:
    """A day of a month ("5 October", "October 5") is a date, not a count."""
    around = text[max(0, start - 12) : end + 12]
    return bool(_MONTH_DATE.search(around)) and len(text[start:end]) <= 2
