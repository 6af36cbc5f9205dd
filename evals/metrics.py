"""Eval metrics: pure functions over spans, citations and answers (definitions in evals/README.md).

Every span is `(file, start, end)` into the ORIGINAL file text, end exclusive. Per-item
functions return 0/1 values or (numerator, denominator) counts; `rate` pools counts over items
(a micro average: every citation, gold span or sentence weighs the same).
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Mapping, NamedTuple, Sequence

from rag.citations import parse_claims
from rag.text import content_words, count_tokens, words

COVER_SHARE = 0.6  # a passage covers a quote when it overlaps >= 60% of the quote's span


class Span(NamedTuple):
    """A character span of one original file."""

    file: str
    start: int
    end: int


class Count(NamedTuple):
    """Numerator and denominator of one share, kept apart so shares pool across items."""

    hit: int
    total: int


def overlap(a: Span, b: Span) -> int:
    """Characters two spans share (0 for different files)."""
    if a.file != b.file:
        return 0
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def covers(passage: Span, quote: Span, share: float = COVER_SHARE) -> bool:
    """Whether the passage overlaps at least `share` of the quote's span."""
    length = quote.end - quote.start
    return length > 0 and overlap(passage, quote) >= share * length


# ---- retrieval --------------------------------------------------------------------------
def hit_all(passages: Sequence[Span], gold: Sequence[Span], k: int) -> float:
    """1 if every gold quote is covered by some passage among the top k, else 0."""
    top = passages[:k]
    return float(bool(gold) and all(any(covers(p, g) for p in top) for g in gold))


def hit_any(passages: Sequence[Span], gold: Sequence[Span], k: int) -> float:
    """1 if at least one gold quote is covered by a passage among the top k, else 0."""
    return float(any(covers(p, g) for p in passages[:k] for g in gold))


def reciprocal_rank(passages: Sequence[Span], gold: Sequence[Span], k: int) -> float:
    """1/rank of the first top-k passage covering any gold quote (0 if none); averaged = MRR."""
    for rank, p in enumerate(passages[:k], 1):
        if any(covers(p, g) for g in gold):
            return 1.0 / rank
    return 0.0


def context_tokens(texts: Iterable[str]) -> int:
    """cl100k tokens of the passages handed to the generator."""
    return sum(count_tokens(t) for t in texts)


# ---- citations --------------------------------------------------------------------------
def citation_valid(span: Span, quote: str, raw: str | None) -> bool:
    """The quote is exactly the original file's text at [start, end)."""
    return raw is not None and 0 <= span.start < span.end <= len(raw) and raw[span.start : span.end] == quote


def citation_precision(cited: Sequence[Span], gold: Sequence[Span]) -> Count:
    """Citations that share at least one character with a gold evidence span."""
    return Count(sum(any(overlap(c, g) > 0 for g in gold) for c in cited), len(cited))


def evidence_recall(cited: Sequence[Span], gold: Sequence[Span]) -> Count:
    """Gold evidence spans that some citation overlaps."""
    return Count(sum(any(overlap(c, g) > 0 for c in cited) for g in gold), len(gold))


def right_file(cited: Sequence[Span], gold: Sequence[Span]) -> Count:
    """Citations whose file is one of the item's evidence files."""
    files = {g.file for g in gold}
    return Count(sum(c.file in files for c in cited), len(cited))


def sentence_support(text: str, unsupported: Sequence[str]) -> Count:
    """Answer sentences that carry a citation marker and are not flagged unsupported."""
    flagged = {" ".join(s.split()) for s in unsupported}
    claims = [c for c in parse_claims(text) if c.text]
    ok = sum(1 for c in claims if c.markers and " ".join(c.text.split()) not in flagged)
    return Count(ok, len(claims))


# ---- answers ----------------------------------------------------------------------------
_THOUSANDS = re.compile(r"(?<=\d)[,.](?=\d{3}\b)")
_ASIDE = re.compile(r"\([^()]*\)")


def key_tokens(text: str) -> set[str]:
    """Lower-cased, stemmed content words without stopwords or punctuation; numbers kept
    (including one-digit ones, and "2,728" reads as "2728")."""
    text = _THOUSANDS.sub("", text)
    digits = {w for w in words(text) if w.isdigit()}
    return set(content_words(text)) | digits


def key_token_recall(gold_answer: str, answer: str) -> float:
    """Share of the gold answer's key tokens found in the answer. Parenthesised asides of the
    gold answer (supporting detail, e.g. "(OSCE ministerial, December 2022)") are left out
    unless nothing else remains."""
    core = key_tokens(_ASIDE.sub(" ", gold_answer)) or key_tokens(gold_answer)
    if not core:
        return 0.0
    return len(core & key_tokens(answer)) / len(core)


# ---- aggregation ------------------------------------------------------------------------
def rate(counts: Iterable[Count]) -> float | None:
    """Pooled share sum(hit) / sum(total); None when there is nothing to count."""
    hit = total = 0
    for c in counts:
        hit += c.hit
        total += c.total
    return hit / total if total else None


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def check_floors(figures: Mapping[str, float | None], floors: Mapping[str, float]) -> list[str]:
    """Messages for every figure below its floor (or missing); empty when all hold."""
    return _check_limits(figures, floors, "floor")


def check_ceilings(figures: Mapping[str, float | None], ceilings: Mapping[str, float]) -> list[str]:
    """Messages for every figure above its ceiling (or missing), e.g. context tokens; empty when all hold."""
    return _check_limits(figures, ceilings, "ceiling")


def _check_limits(figures: Mapping[str, float | None], limits: Mapping[str, float], kind: str) -> list[str]:
    problems = []
    for name, limit in sorted(limits.items()):
        value = figures.get(name)
        if value is None:
            problems.append(f"{name}: missing from the report ({kind} {limit:.3f})")
        elif kind == "floor" and value < limit - 1e-9:
            problems.append(f"{name}: {value:.3f} is below its floor {limit:.3f}")
        elif kind == "ceiling" and value > limit + 1e-9:
            problems.append(f"{name}: {value:.3f} is above its ceiling {limit:.3f}")
    return problems


# ---- LLM judge (optional) ---------------------------------------------------------------
SUPPORT_PROMPT = (
    "Premise (quoted from a document):\n{quotes}\n\nClaim:\n{sentence}\n\n"
    "Does the premise support the claim? Answer with one word: yes or no."
)
CORRECT_PROMPT = (
    "Question: {question}\nReference answer: {gold}\nCandidate answer: {answer}\n\n"
    "Does the candidate answer give the reference answer's key facts without contradicting "
    "them? Answer with one word: yes or no."
)


def parse_yes_no(reply: str) -> bool:
    """True when a judge's reply starts with "yes" (case and punctuation ignored)."""
    got = words(reply)
    return bool(got) and got[0] == "yes"


class Judge:
    """ALCE-style yes/no judgements from an OpenAI-compatible chat model (temperature 0)."""

    def __init__(self, base_url: str, api_key: str, model: str, timeout: float = 120.0) -> None:
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=1)
        self.base_url = base_url
        self.model = model

    def ask(self, prompt: str) -> bool:
        """One yes/no question; BackendError when the endpoint fails."""
        import openai

        from rag.errors import BackendError

        try:
            resp = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "user", "content": prompt}],
                temperature=0.0,
                max_tokens=3,
                seed=0,
            )
        except openai.OpenAIError as exc:
            raise BackendError(
                f"the judge model {self.model!r} at {self.base_url} failed: {exc}; check the endpoint "
                "(RAG_OPENAI_BASE_URL, OPENAI_API_KEY, RAG_MODEL) or run without --judge"
            ) from exc
        return parse_yes_no(resp.choices[0].message.content or "")

    def supports(self, sentence: str, quotes: Sequence[str]) -> bool:
        """Whether the cited quotes, together, entail the answer sentence (ALCE citation recall)."""
        joined = "\n".join(f"- {' '.join(q.split())}" for q in quotes)
        return self.ask(SUPPORT_PROMPT.format(quotes=joined, sentence=sentence))

    def correct(self, question: str, gold: str, answer: str) -> bool:
        """Whether the answer agrees with the gold answer."""
        return self.ask(CORRECT_PROMPT.format(question=question, gold=gold, answer=answer))
