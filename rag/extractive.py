"""The extractive answerer: the retrieved sentences that answer the question, verbatim.

No model writes anything: an answer is a few sentences of the sources, each with the marker of
its passage, chosen to answer every part of the question with as few sentences as possible
(every sentence shown is a citation, and a citation that does not answer is noise).
"""

from __future__ import annotations

import re
from typing import Iterator, Sequence

from .evidence import CONTEXT_SHARE, TYPE_BONUS, TYPE_RATIO, Sentence, author_sentence, qualified
from .generation import REFUSAL, Turn, condense_by_rule
from .question import Analysis, Expects, analyse, asks_author, enumerated, source_phrases
from .text import content_words, ends_sentence, list_position, named_authors, strip_footnote, surnames
from .types import Passage

ENUM_FLOOR = 0.75  # "the three ways ...": further items must score this close to the best
LIST_FLOOR = 0.6  # "First, ... Second, ...": the best item of a list in the best sentence's section
COVER_FLOOR = 0.85  # a sentence added for question words the answer lacks must score this close
SIDES = True  # each side of a comparison ("How do Western and Russian accounts differ") gets its own sentence
# a question's name held by this share of the retrieved passages (text or header) is their topic,
# not a fact the answer lacks: no sentence is added for it ("Erdogan" in every passage of his essay)
COMMON_SHARE = 1.0
SOURCE_WORDS = True  # nor for the words of a phrase naming the source (`question.source_phrases`)
VIEWS_BY_AUTHOR = True  # a views answer's two sources may be two authors of one file
NAME_HEADS = True  # a name of several words counts as held when its last word is
BIOS = True  # the note on a piece's author is no answer, but to a question about a person
ONE_AUTHOR = True  # a question naming one author (and no other source) is answered from that author's passages
DUPLICATE = 0.6  # word-set overlap (Jaccard) above which two sentences say the same thing
_CLOSED = re.compile(r"[.!?…:;\"”’)\]]\d{0,3}$")


class ExtractiveGenerator:
    """Answers with the retrieved sentences that best answer the question, verbatim."""

    name = "extractive"

    def __init__(self, max_sentences: int = 3) -> None:
        self.max_sentences = max_sentences

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """Rule-based rewrite (no model to ask)."""
        return condense_by_rule(question, history)

    def select(
        self, question: str, sentences: Sequence[Sentence], passages: Sequence[Passage] | None = None
    ) -> list[Sentence]:
        """The answer's sentences, in reading order within each passage: the best sentence for
        each part of the question (or each item it enumerates, each of two sources for a yes/no
        question, each author it names), then sentences holding question
        words the chosen ones lack; near-duplicates and headings left out."""
        qa = analyse(question)
        if passages is not None and asks_author(question) and (byline := author_sentence(passages)):
            return [byline]
        pool = [s for s in sentences if not is_heading(s.text)]
        if BIOS and passages is not None and not _ASKS_PERSON.search(question):
            pool = [s for s in pool if not is_bio(s.text, passages[s.passage].author)]
        if qa.expects:  # prefer sentences that hold an answer of the asked type, read in context
            # by match; the bonus only tells apart a list of names ("Which companies …?")
            typed = sorted((s for s in pool if s.answers), key=lambda s: -(s.match + s.bonus))
            pool = [s for s in typed if qualified(qa, s)] or typed or pool  # the sentence that passed the gate
        if not pool:
            return []
        cap = max(self.max_sentences, min(qa.count, 5))
        chosen: list[Sentence] = []
        authors = named_authors(question, {p.author for p in passages or () if p.author})
        sources = passages or ()
        own_author = (authors[0] if len(authors) == 1 and ONE_AUTHOR and not _other_source(question, authors[0])
                      else None)
        if own_author and not qa.parts:  # "What did Shahbazov say …?": the answer is in his piece
            pool = [s for s in pool if sources[s.passage].author == own_author] or pool
        if passages is not None and len(authors) >= 2:  # "How do Pashayeva and Gauin differ?": each one's best sentence
            topical = [j for j, part in enumerate(qa.parts) if not named_authors(part, authors)]
            for a in authors:
                if own := [s for s in pool if passages[s.passage].author == a]:
                    _add(chosen, max(own, key=lambda s: _topic_score(s, topical)))
        elif qa.parts:
            for j, kind in enumerate(qa.part_types):
                ranked = sorted(pool, key=lambda s: -_part_score(s, j, kind))
                if own_author and named_authors(qa.parts[j], [own_author]):  # "… which one does Shahbazov mention?"
                    ranked = [s for s in ranked if sources[s.passage].author == own_author] or ranked
                if item := _list_item(ranked, qa, j, passages):  # "which came third": the list's third item
                    _add(chosen, item)
                    continue
                if kind is not None:  # a typed part ("and when ...?") is answered by a typed sentence
                    typed = [s for s in ranked if s.part_answers[j]]
                    if typed and _part_score(typed[0], j, kind) >= TYPE_RATIO * _part_score(ranked[0], j, kind):
                        ranked = typed
                if qa.sides and SIDES:  # one side of a comparison: a sentence about that side
                    own = [s for s in ranked if qa.sides[j] & set(content_words(s.text))]
                    ranked = [s for s in own if s not in chosen] or ranked
                for s in ranked:
                    if s in chosen:
                        break  # this part is answered by a sentence already chosen
                    if _add(chosen, s):
                        break
        elif qa.views:  # what each source says: the best sentence of each of the best two files
            _add(chosen, pool[0])
            for s in pool[1:]:
                if s.score < ENUM_FLOOR * pool[0].score:
                    break
                if passages is not None and all(_source(passages[c.passage]) != _source(passages[s.passage])
                                                for c in chosen):
                    _add(chosen, s)
                    break
        else:
            if item := _list_item(pool, qa, 0, passages):  # "Of the two causes, what was the second?"
                chosen.append(item)
            if qa.count > 1 and passages is not None:  # a source lists the items: "First, ... Second, ..."
                chosen.extend(list_items(pool, passages, qa.count))
            for s in pool:  # else (or for the items the list lacks) the best sentences
                if len(chosen) >= min(qa.count, cap) or s.score < ENUM_FLOOR * pool[0].score:
                    break
                _add(chosen, s)
        _cover(chosen, pool, qa, cap, passages)
        first_rank: dict[int, int] = {}
        for rank, s in enumerate(chosen):
            first_rank.setdefault(s.passage, rank)
        return sorted(chosen[:cap], key=lambda s: (first_rank[s.passage], s.start))

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        sentences: Sequence[Sentence],
        history: Sequence[Turn] = (),
    ) -> Iterator[str]:
        """Yield each selected sentence followed by its passage marker."""
        chosen = self.select(question, sentences, passages)
        if not chosen:
            yield REFUSAL
            return
        for i, s in enumerate(chosen):
            yield ("" if i == 0 else " ") + quoted(s.text, s.passage + 1)


def quoted(text: str, marker: int) -> str:
    """A sentence as the answer shows it, with its passage's marker. One that the source breaks
    off (a PDF page or a box cuts it: "... which was signed", or it ends in a colon) ends in
    "…" (a short line such as a byline does not), so that it stays its own claim: the next
    quoted sentence is not read as its continuation and cited to its quote."""
    body = strip_footnote(" ".join(text.split()))
    return f"{body} [{marker}]" if ends_sentence(body) or is_heading(body) else f"{body}… [{marker}]"


_SPECIFIC = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][\w’'-]+|\d[\d,.]*)")


_NAME_RUN = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)+")  # capitalised words in a row: one name


def specific_words(question: str) -> list[str]:
    """The question's names and numbers (capitalised words past the first, digits): the facts
    an answer must mention, unlike its generic words."""
    return [w for m in _SPECIFIC.finditer(question) for w in content_words(m.group(0))]


def is_heading(text: str) -> bool:
    """A title or section heading: short and without closing punctuation."""
    return len(text.split()) < 12 and not _CLOSED.search(text.strip())


# a question about a person's background: "Who is …", "… Lenk's career", "where does X work"
_ASKS_PERSON = re.compile(r"\bwho\b|\bwhose\b|\bbackground\b|\bcareer\b|\baffiliat|\bposition held\b|\bworks? (?:at|for)\b",
                          re.IGNORECASE)
_BIO_ROLE = re.compile(r"\b(?:former|fellow|professor|director|analyst|researcher|ambassador|editor|adviser|advisor"
                       r"|member|graduate|degree|lecturer|founder|chair)\b", re.IGNORECASE)


def is_bio(text: str, author: str | None) -> bool:
    """A sentence of the note on a piece's author ("Fuad Shahbazov is a political analyst …", "He is a
    former research fellow at …"): about the writer, not about what the piece says."""
    names = surnames(author)
    if not names:
        return False
    t = " ".join(text.split())
    alt = "|".join(map(re.escape, names))
    if re.match(rf"(?:[A-Z][\w’'.-]+\s+){{0,3}}(?:{alt})\s+(?:is|was|has been|serves|served)\b", t):
        return True
    return bool(re.match(r"(?:He|She|They)\s+(?:is|was|has|holds|held|serves|served)\b", t) and _BIO_ROLE.search(t))


def list_items(pool: Sequence[Sentence], passages: Sequence[Passage], count: int) -> list[Sentence]:
    """The items of a list a source enumerates ("First, ...", "Second, ...", "The third ..."),
    for a question that asks for `count` items: the sentences that open with list positions
    1, 2, ... in one section, in reading order; [] when none. Items share few words with the
    question (they are what it asks for), so a list counts when a sentence before its first
    item announces it ("... in three ways.") and matches the question within ENUM_FLOOR of the
    best sentence, or when it is in the best sentence's section and its best item scores within
    LIST_FLOOR of the best. Of several, the longest, then the best-scored."""
    if not pool:
        return []
    home = _section(max(pool, key=lambda s: s.score), passages)
    top = max(s.score for s in pool)
    lists: dict[tuple[str, str | None], dict[int, Sentence]] = {}
    for s in sorted(pool, key=lambda s: (s.passage, s.start)):
        pos = list_position(s.text, count)
        if pos is not None and pos <= count:
            lists.setdefault(_section(s, passages), {}).setdefault(pos, s)
    found = []
    for key, items in lists.items():
        run = [items[n] for n in range(1, count + 1) if n in items]
        if len(run) < 2 or 1 not in items:
            continue
        first = items[1]
        announced = any(
            s.passage == first.passage and s.start < first.start and enumerated(s.text) == count
            and s.score >= ENUM_FLOOR * top
            for s in pool
        )
        if announced or (key == home and max(s.score for s in run) >= LIST_FLOOR * top):
            found.append(run)
    return max(found, key=lambda run: (len(run), sum(s.score for s in run)), default=[])


def _list_item(ranked: Sequence[Sentence], qa: Analysis, j: int,
               passages: Sequence[Passage] | None) -> Sentence | None:
    """For a question naming a list and the item of it it asks for ("Among the five priority
    areas, which came third?"): the best-ranked sentence that opens with that list position
    ("The third priority area is ..."), in the best sentence's section or scoring within
    ENUM_FLOOR of the best (an item shares few words with the question)."""
    n = qa.positions[j] if j < len(qa.positions) else None
    if n is None or not ranked:
        return None
    top = max(ranked, key=lambda s: s.score)
    home = _section(top, passages) if passages is not None else None
    return next((s for s in ranked if list_position(s.text, qa.list_size) == n
                 and ((home is not None and _section(s, passages or ()) == home)
                      or s.score >= ENUM_FLOOR * top.score)), None)


def _source(p: Passage) -> tuple[str, str | None]:
    """Who says it: the file, and within a file of several pieces (a journal issue) the author."""
    return (p.file, p.author if VIEWS_BY_AUTHOR else None)


def _section(s: Sentence, passages: Sequence[Passage]) -> tuple[str, str | None]:
    """The file and section a sentence's passage comes from."""
    p = passages[s.passage]
    return p.file, p.section


PART_CONTEXT = True


def _part_score(s: Sentence, j: int, kind: Expects | None) -> float:
    """A sentence's score for part j (scored with the whole question too: a part alone, "and
    when did it open?", has lost its subject), with the bonus when it holds the part's type."""
    typed = kind is not None and s.part_answers[j]
    if typed and PART_CONTEXT:
        part = max(s.parts[j], CONTEXT_SHARE * s.part_context[j]) if s.part_context else s.parts[j]
        return 0.5 * s.match + 0.5 * part + TYPE_BONUS
    base = 0.5 * s.base + 0.5 * s.parts[j]
    return base + (TYPE_BONUS if typed else 0.0)


def _topic_score(s: Sentence, topical: Sequence[int]) -> float:
    """A sentence's score for the topic of a question that names authors: its best score on the
    parts that name none (`topical`: "Do the resolutions reflect French policy? How do A and B
    differ?"), else on the whole question."""
    return max((s.parts[j] for j in topical), default=s.base) + s.bonus


def _add(chosen: list[Sentence], s: Sentence) -> bool:
    """Append s unless it repeats a chosen sentence (e.g. a pull quote); True if appended."""
    words = set(content_words(s.text))
    for c in chosen:
        other = set(content_words(c.text))
        if c is s or len(words & other) / max(1, len(words | other)) > DUPLICATE:
            return False
    chosen.append(s)
    return True


def _cover(chosen: list[Sentence], pool: Sequence[Sentence], qa: Analysis, cap: int,
           passages: Sequence[Passage] | None = None) -> None:
    """Add sentences holding question words the chosen ones lack (a date, a name), while one
    scores within COVER_FLOOR of the best; not for a word COMMON_SHARE of the passages hold."""
    if not chosen:
        return
    have = {w for s in chosen for w in content_words(s.text)}
    missing = {w for w in specific_words(qa.text) if w not in have}
    if missing and NAME_HEADS:  # "Ruben Vardanyan", "Foreign Minister Bayramov": named by its last word
        for run in _NAME_RUN.findall(qa.text):
            run_words = content_words(run)
            if len(run_words) > 1 and run_words[-1] in have:
                missing -= set(run_words)
    if missing and SOURCE_WORDS:  # "according to the ISA analysis": where to look, not a fact to quote
        missing -= {w for phrase in source_phrases(qa.text) for w in content_words(phrase)}
    if missing and passages and COMMON_SHARE:
        held = [set(content_words(p.header + " " + p.text)) for p in passages]
        missing = {w for w in missing if sum(w in h for h in held) < COMMON_SHARE * len(held)}
    floor = COVER_FLOOR * pool[0].score
    while missing and len(chosen) < cap:
        gains = [(len(missing & set(content_words(s.text))), s) for s in pool if s not in chosen and s.score >= floor]
        gains = [(g, s) for g, s in gains if g > 0]
        if not gains:
            return
        _, best = max(gains, key=lambda gs: (gs[0], gs[1].score))
        if not _add(chosen, best):
            pool = [s for s in pool if s is not best]
            continue
        missing -= set(content_words(best.text))


def _other_source(question: str, author: str) -> bool:
    """Whether the question names a source besides the author's piece ("… and what has ISA alleged",
    "the article on Azerbaijan's hybrid war"): a phrase naming where to look that is not the author's."""
    return any(not named_authors(phrase, [author]) for phrase in source_phrases(question))
