"""Generators: turn a question and retrieved passages into answer text with [n] markers.

A marker [n] names the n-th passage (1-based) given to the generator; `citations.resolve`
later narrows each marker to the exact sentence span of the original file.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence

from .config import Settings
from .errors import ConfigError
from .evidence import Sentence
from .text import content_words
from .types import Passage

log = logging.getLogger(__name__)

# One sentence shared by the prompts, the code and the evals.
REFUSAL = "The documents do not answer this question."


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str


class Generator(Protocol):
    """Writes an answer whose sentences carry [n] markers pointing at passages."""

    name: str

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """Rewrite a follow-up question into a standalone one (unchanged without history)."""
        ...

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        sentences: Sequence[Sentence],
        history: Sequence[Turn] = (),
    ) -> Iterator[str]:
        """Yield the answer text in pieces."""
        ...


def generate(gen: Generator, question: str, passages: Sequence[Passage], sentences: Sequence[Sentence],
             history: Sequence[Turn] = ()) -> str:
    """The whole answer text of a generator."""
    return "".join(gen.stream(question, passages, sentences, history))


_FOLLOWUP = re.compile(
    r"^(and|but|so|also|what about|how about|then)\b"
    r"|\b(it|its|that|this|they|them|their|he|she|his|her|those|these|there)\b",
    re.IGNORECASE,
)


def condense_by_rule(question: str, history: Sequence[Turn]) -> str:
    """A follow-up that is short and leans on the context (a pronoun, a leading "and") borrows
    the previous standalone question's words; anything else stands alone."""
    if not history or len(question.split()) > 14 or not _FOLLOWUP.search(question):
        return question
    return f"{history[-1].question} {question}"


class ExtractiveGenerator:
    """Answers with the retrieved sentences that best answer the question, verbatim."""

    name = "extractive"

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """Rule-based rewrite (no model to ask)."""
        return condense_by_rule(question, history)

    def __init__(self, max_sentences: int = 3, relative_floor: float = 0.8, threshold: float = 0.0) -> None:
        self.max_sentences = max_sentences
        self.relative_floor = relative_floor
        self.threshold = threshold

    def select(self, sentences: Sequence[Sentence]) -> list[Sentence]:
        """Best sentences, near-duplicates removed, in reading order within each passage."""
        if not sentences:
            return []
        floor = max(self.threshold, sentences[0].score * self.relative_floor)
        chosen: list[Sentence] = []
        seen: list[set[str]] = []
        for s in sentences:
            if s.score < floor or len(chosen) >= self.max_sentences:
                break
            words = set(content_words(s.text))
            if any(len(words & w) / max(1, len(words | w)) > 0.6 for w in seen):
                continue  # e.g. a pull quote repeating a sentence of the same essay
            chosen.append(s)
            seen.append(words)
        first_rank = {}
        for rank, s in enumerate(chosen):
            first_rank.setdefault(s.passage, rank)
        return sorted(chosen, key=lambda s: (first_rank[s.passage], s.start))

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        sentences: Sequence[Sentence],
        history: Sequence[Turn] = (),
    ) -> Iterator[str]:
        """Yield each selected sentence followed by its passage marker."""
        chosen = self.select(sentences)
        if not chosen:
            yield REFUSAL
            return
        for i, s in enumerate(chosen):
            yield ("" if i == 0 else " ") + " ".join(s.text.split()) + f" [{s.passage + 1}]"


Factory = Callable[[Settings], Generator]


def _extractive(settings: Settings) -> Generator:
    return ExtractiveGenerator(max_sentences=settings.max_answer_sentences, threshold=settings.refusal_threshold)


REGISTRY: dict[str, Factory] = {"extractive": _extractive}


def get_generator(settings: Settings) -> Generator:
    """The generator named by settings.generator."""
    try:
        factory = REGISTRY[settings.generator]
    except KeyError:
        raise ConfigError(
            f"generator {settings.generator!r} is not available: expected one of "
            f"{', '.join(sorted(REGISTRY))}"
        ) from None
    return factory(settings)
