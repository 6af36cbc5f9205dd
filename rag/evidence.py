"""passages -> scored sentences: how well each retrieved sentence answers the question.

The best sentence score is the evidence strength used to refuse; the ranked sentences feed
the extractive answerer and the citation narrowing of generated answers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .embedding import Embedder
from .question import (Analysis, analyse, asks_author, has_answer, names_list, qualifier_phrases, qualifies,
                       quoted_phrases, without_sources)
from .text import content_words, entity, sentence_spans, surnames, with_parts
from .types import Passage

DENSE_WEIGHT = 0.6
MIN_SENTENCE_CHARS = 25
NAME_NO_CONTEXT = True
TYPE_BONUS = 0.08  # a sentence holding an answer of the asked type ("how many" -> a number)
CONTEXT_SHARE = 0.95  # share of the previous sentence's match a typed answer sentence inherits
TYPE_RATIO = 0.7  # a typed sentence must match the question this close to the best sentence ...
TYPED_MATCH = 0.55  # ... and be about the question on its own (cosine or combined score)
COUNTED_SHARE = 0.5  # IDF share of the counted thing's words ("Israeli tourists") a counting answer must hold
PHRASE_WEIGHT = 1.0  # a phrase the question quotes, found as it stands, weighs this share of its words' IDF again
# the whole question's cosine: the better of it with and without its source phrases (`question.without_sources`)
SOURCE_FREE_MATCH = True
QUALIFIER_MATCH = 0.6  # cosine of "first stage" to the question's "first phase" that counts as the same qualifier


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved passage; start/end index the passage text."""

    passage: int  # 0-based index into the passages list
    start: int
    end: int
    text: str
    dense: float
    lexical: float
    answers: bool = True  # holds an answer of the question's expected type (True: none expected)
    parts: tuple[float, ...] = ()  # base score against each part of a multi-part question
    part_answers: tuple[bool, ...] = ()  # holds an answer of each part's expected type
    bonus: float = 0.0
    context: float = 0.0  # base score of the sentence before it in the same passage
    context_dense: float = 0.0  # and its cosine similarity
    part_context: tuple[float, ...] = ()  # the sentence before's score against each part (same passage)
    qualifier_match: bool = False  # its qualifier phrases mean the question's ("first stage" for "first phase")

    @property
    def match(self) -> float:
        """How well the sentence, read after the one before it, matches the question: an answer
        often follows the sentence that restates the question ("... is by renting it. The going
        rate is 50 AZN.")."""
        return max(self.base, CONTEXT_SHARE * self.context)

    @property
    def match_dense(self) -> float:
        """The cosine similarity, read after the sentence before it (as `match`)."""
        return max(self.dense, CONTEXT_SHARE * self.context_dense)

    @property
    def base(self) -> float:
        """Dense and lexical match with the question, in [0, 1]."""
        return DENSE_WEIGHT * self.dense + (1 - DENSE_WEIGHT) * self.lexical

    @property
    def score(self) -> float:
        """Evidence score: the match plus the answer-type bonus."""
        return self.base + self.bonus


def lexical_overlap(query_terms: Sequence[str], text: str, idf: Mapping[str, float], states: bool = True) -> float:
    """IDF-weighted share of the query's content words present in text (0..1); with `states`, a
    state's word held by another word of that state (see `_weight`). Checking that a passage
    supports a written claim (`citations`) matches words as they stand."""
    return phrase_overlap(query_terms, (), text, idf, states)


def _held(terms: Sequence[str], idf: Mapping[str, float]) -> dict[str, float]:
    """A text's content words, each with its IDF, and each state it names by any of its words
    ("Azerbaijani", "Baku": azerbaijan) with the IDF of its most specific word there."""
    have = {t: idf.get(t, 1.0) for t in terms}
    for t in terms:
        if (e := entity(t)) != t:
            have[e] = max(have.get(e, 0.0), idf.get(t, 1.0))
    return have


def _weight(term: str, have: Mapping[str, float], idf: Mapping[str, float]) -> float:
    """A query term's IDF when the text holds it; when it holds another word of the same state
    ("Baku" asked, "Azerbaijan" written), that word's IDF if lower (a common word matches less)."""
    w = idf.get(term, 1.0)
    if term in have:
        return w
    return min(w, have.get(entity(term), 0.0))


def _flat(text: str) -> str:
    """Lower-cased, one spelling of quotes and dashes, no line-break hyphens or doubled spaces."""
    text = re.sub(r"(\w)-\s+(\w)", r"\1\2", text.lower())
    return " ".join(text.replace("’", "'").replace("“", '"').replace("”", '"').split())


def phrase_overlap(query_terms: Sequence[str], phrases: Sequence[str], text: str, idf: Mapping[str, float],
                   states: bool = True) -> float:
    """`lexical_overlap`, with each quoted phrase of the query one more term (PHRASE_WEIGHT of its
    words' IDF) that the text holds only when it holds the phrase as it stands."""
    terms = content_words(text)
    flat = _flat(text) if phrases else ""
    if phrases:
        terms += content_words(flat)  # "Strate- gic" is "strategic" too
    if states:
        have = _held(terms, idf)
        weights = [(idf.get(t, 1.0), _weight(t, have, idf)) for t in set(query_terms)]
    else:
        words = set(terms)
        weights = [(w := idf.get(t, 1.0), w if t in words else 0.0) for t in set(query_terms)]
    weights += [(w := PHRASE_WEIGHT * sum(idf.get(x, 1.0) for x in content_words(ph)), w if _flat(ph) in flat else 0.0)
                for ph in phrases]
    total = sum(w for w, _ in weights)
    return sum(got for _, got in weights) / total if total else 0.0


def mentions(counted: Sequence[str], text: str, idf: Mapping[str, float]) -> bool:
    """Whether text is about the thing a "how many" question counts: it holds COUNTED_SHARE of
    the IDF weight of its words ("How many Israeli tourists ...": "tourists" weighs most, so a
    number in a sentence about Israeli arms does not count them). True when nothing is counted."""
    if not counted:
        return True
    have = set(with_parts(content_words(text)))
    unseen = unseen_idf(idf)  # a word no chunk has is the rarest of all, not a common one
    weight = {t: idf.get(t, unseen) for t in counted}
    total = sum(weight.values())
    got = sum(w for t, w in weight.items() if t in have or all(p in have for p in t.split("-")))
    return got >= COUNTED_SHARE * total


def score_sentences(
    question: str, passages: Sequence[Passage], embedder: Embedder, idf: Mapping[str, float],
    analysis: Analysis | None = None,
) -> list[Sentence]:
    """Every sentence of the passages, best first. Each is scored against the question and
    against each part of a multi-part question; one holding an answer of the asked type
    (see rag.question) gets TYPE_BONUS."""
    qa = analysis or analyse(question)
    cands: list[tuple[int, int, int, str]] = []
    for pi, p in enumerate(passages):
        for s, e in sentence_spans(p.text):
            if e - s >= MIN_SENTENCE_CHARS:
                cands.append((pi, s, e, p.text[s:e]))
    if not cands:
        return []
    queries = [question, *qa.parts]
    bare = without_sources(question) if SOURCE_FREE_MATCH else question
    extra = [bare] if bare != question else []
    vecs = embedder.embed(queries + extra + [c[3] for c in cands])
    n = len(queries) + len(extra)
    sims = vecs[n:] @ vecs[:len(queries)].T  # (sentences, queries)
    if extra:  # the whole question's match: with or without the phrases naming where to look
        sims[:, 0] = np.maximum(sims[:, 0], vecs[n:] @ vecs[len(queries)])
    terms = [content_words(q) for q in queries]
    quoted = quoted_phrases(question) if PHRASE_WEIGHT else []
    phrases = [[ph for ph in quoted if _flat(ph) in _flat(q)] for q in queries]
    near = _qualifier_matches(qa, [c[3] for c in cands], embedder)
    out: list[Sentence] = []
    inherit = not (NAME_NO_CONTEXT and qa.expects == "name")
    prev: tuple[int, float, float, tuple[float, ...]] = (-1, 0.0, 0.0, ())  # the previous sentence's passage,
    # base, cosine and part scores
    for (pi, s, e, text), row in zip(cands, sims):
        # the passage header (essay title/author) counts as lexical context of its sentences
        context = passages[pi].header + " " + text
        dense = [max(float(sim), 0.0) for sim in row]
        lex = [phrase_overlap(t, ph, context, idf) for t, ph in zip(terms, phrases)]
        # a part asking for several names ("and which states …") is answered by a list of them
        part_answers = tuple(has_answer(kind, qa.words, text) and mentions(c, text, idf)
                             and not (lst and not names_list(qa.words, text))
                             for kind, c, lst in zip(qa.part_types, qa.part_counted, qa.part_lists))
        # True for multi-part questions (no type)
        answers = has_answer(qa.expects, qa.words, text) and mentions(qa.counted, text, idf)
        # the bonus: an answer of the asked type (of several names for "which companies …")
        typed = ((answers and qa.expects is not None and not (qa.lists and not names_list(qa.words, text)))
                 or any(a and kind for a, kind in zip(part_answers, qa.part_types)))
        same = prev[0] == pi
        parts = tuple(DENSE_WEIGHT * d + (1 - DENSE_WEIGHT) * x for d, x in zip(dense[1:], lex[1:]))
        sent = Sentence(pi, s, e, text, dense[0], lex[0], answers=answers, parts=parts,
                        part_answers=part_answers, bonus=TYPE_BONUS if typed else 0.0,
                        context=prev[1] if same and inherit else 0.0, context_dense=prev[2] if same and inherit else 0.0,
                        part_context=prev[3] if same else (), qualifier_match=near[len(out)])
        prev = (pi, sent.base, sent.dense, parts)
        out.append(sent)
    out.sort(key=lambda x: -x.score)
    return out


def _qualifier_matches(qa: Analysis, texts: Sequence[str], embedder: Embedder) -> list[bool]:
    """Per sentence: whether each qualifier of the question is used there next to the word it
    qualifies (`question.qualifies`) or next to one of like meaning: the question's "the first
    phase" and the sentence's "the first stage of ..." (cosine of the two phrases at least
    QUALIFIER_MATCH), not "the first lady". One embedding call for all the phrases."""
    pairs = qa.qualifier_pairs
    # per sentence and qualifier: None when it qualifies the same word, else its phrases to compare
    wanted = [[None if qualifies(q, h, t) else qualifier_phrases(q, t) for q, h in pairs] for t in texts]
    phrases = sorted({p for per in wanted for ps in per if ps for p in ps})
    sim: dict[str, np.ndarray] = {}
    if phrases:
        vecs = embedder.embed([f"{q} {h}" if h else q for q, h in pairs] + phrases)
        sim = dict(zip(phrases, vecs[len(pairs):] @ vecs[: len(pairs)].T))
    return [bool(pairs) and all(ps is None or any(sim[p][j] >= QUALIFIER_MATCH for p in ps) for j, ps in enumerate(per))
            for per in wanted]


def idf_table(token_lists: Sequence[Sequence[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of each token."""
    n = len(token_lists)
    df: dict[str, int] = {}
    for toks in token_lists:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


def unseen_idf(idf: Mapping[str, float]) -> float:
    """The IDF (`idf_table`'s formula) of a word no chunk holds: the chunk count is read off the
    rarest word's IDF, taken as that of a word one chunk holds. 1.0 for an empty table."""
    if not idf:
        return 1.0
    n = 1.5 * (math.exp(max(idf.values())) - 1) + 0.5
    return math.log(1 + (n + 0.5) / 0.5)


def evidence_strength(sentences: Sequence[Sentence]) -> float:
    """The best question-sentence cosine similarity (0 when nothing was retrieved).

    Calibrated on the dev questions: off-topic questions score below 0.32, every answerable
    dev question above 0.55. Lexical overlap is left out here: generic words ("capital",
    "population") match on-topic text and blur the line."""
    return float(np.max([s.dense for s in sentences])) if sentences else 0.0


def author_sentence(passages: Sequence[Passage]) -> Sentence | None:
    """For a question about who wrote a piece: the first line of the best passage that names
    its section's author ("Author: RCSP associate expert Narek Minasyan", a title block's
    "Nazrin Baghirova", a closing bio), however short; None when it has no author or no such line."""
    p = passages[0] if passages else None
    names = surnames(p.author) if p else []
    if p is None or not names:
        return None
    for s, e in sentence_spans(p.text):
        if all(n in p.text[s:e] for n in names):
            return Sentence(0, s, e, p.text[s:e], 1.0, 1.0)
    return None


def answerable(analysis: Analysis, sentences: Sequence[Sentence], passages: Sequence[Passage] = ()) -> bool:
    """Whether a sentence holding an answer of the asked type matches the question nearly as
    well as the best sentence (TYPE_RATIO) and on its own (TYPED_MATCH): "how many people were
    killed" is not answered by sentences about the offensive that hold no number, nor by a
    number in a sentence about something else. A qualifier of the question ("the first
    ambassador", "a final peace treaty") must be in that sentence too: a date of talks on a
    peace treaty does not date a final one. True when no type is asked, and for a question about
    who wrote a piece whose best passage has a byline (the answer; see `author_sentence`)."""
    if analysis.expects is None or not sentences:
        return True
    if passages and asks_author(analysis.text) and author_sentence(passages) is not None:
        return True
    best = max(s.base for s in sentences)
    return any(s.answers and s.match >= TYPE_RATIO * best and max(s.match_dense, s.match) >= TYPED_MATCH
               and qualified(analysis, s) for s in sentences)


def qualified(analysis: Analysis, sentence: Sentence) -> bool:
    """Whether the sentence holds every ordinal or superlative qualifier of the question, next to
    the word it qualifies there (see `question.qualifies`) or to one of like meaning (see
    `score_sentences`: "the first stage" for "the first phase")."""
    return sentence.qualifier_match or all(qualifies(q, h, sentence.text) for q, h in analysis.qualifier_pairs)
