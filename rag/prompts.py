"""Prompt templates as files, and the messages built from them.

prompts/<name>.txt use str.format syntax: `{question}` is a placeholder, `{{` and `}}` are
literal braces; values are inserted as they are. The sources block is kept within a token
budget (cl100k_base, counted offline) by trimming, then dropping, the lowest-ranked passages.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .citations import MARKER
from .errors import ConfigError
from .text import count_tokens, sentence_spans
from .types import Passage

if TYPE_CHECKING:
    from .generation import Turn

Message = dict[str, str]

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


def _path(name: str, directory: Path | None) -> Path:
    folder = directory or PROMPTS_DIR
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ConfigError(f"prompt name {name!r} is not a plain file name: use e.g. 'answer_system'")
    return folder / f"{name}.txt"


def available(directory: Path | None = None) -> list[str]:
    """Names of the prompt templates in the prompts folder, sorted."""
    return sorted(p.stem for p in (directory or PROMPTS_DIR).glob("*.txt"))


def load_prompt(name: str, directory: Path | None = None) -> str:
    """The text of prompts/<name>.txt; ConfigError naming the existing prompts if it is missing."""
    path = _path(name, directory)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        names = ", ".join(available(directory)) or "none"
        raise ConfigError(
            f"prompt {name!r} not found: expected the file {path} (prompts there: {names}); "
            "restore it from the repository"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read prompt file {path}: {exc}") from exc


def placeholders(template: str) -> list[str]:
    """The placeholder names of a template, in order of first use."""
    names: dict[str, None] = {}
    try:
        for _, field, _, _ in string.Formatter().parse(template):
            if field is not None:
                names[field] = None
    except ValueError as exc:  # a lone "{" or "}"
        raise ConfigError(f"malformed prompt template ({exc}): write literal braces as {{{{ and }}}}") from None
    return list(names)


def render(name: str, directory: Path | None = None, /, **values: object) -> str:
    """prompts/<name>.txt with its {placeholders} filled; ConfigError on a missing or odd one."""
    template = load_prompt(name, directory)
    fields = placeholders(template)
    odd = [f for f in fields if not f.isidentifier()]
    if odd:
        raise ConfigError(
            f"prompt {name!r} has placeholders {odd} that are not plain names: use {{name}} only, "
            "and {{{{ }}}} for literal braces"
        )
    missing = [f for f in fields if f not in values]
    if missing:
        raise ConfigError(
            f"prompt {name!r} needs a value for {', '.join('{' + m + '}' for m in missing)}; "
            f"given: {', '.join(sorted(values)) or 'nothing'}"
        )
    return template.format_map({f: values[f] for f in fields}).strip()


# ---- the sources block ----------------------------------------------------------------

MIN_TRIMMED_TOKENS = 24  # a trimmed passage shorter than this is not worth its header


@dataclass(frozen=True)
class Context:
    """The numbered sources block given to the model."""

    text: str
    tokens: int  # count_tokens(text)
    shown: int  # passages [0, shown) appear, numbered [1]..[shown]
    trimmed: bool  # whether a passage was cut or dropped to fit the budget


def source_header(n: int, p: Passage) -> str:
    """"[n] file | section — author" (the section is left out when it only repeats the file name)."""
    head = p.header
    if head and head != Path(p.file).stem:
        return f"[{n}] {p.file} | {head}"
    return f"[{n}] {p.file}"


def _sentences(text: str) -> list[str]:
    """The passage's sentences, whitespace normalised; "[2]" written in a document becomes "(2)"
    so that it cannot read as one of our markers."""
    flat = MARKER.sub(lambda m: f"({m.group(1) or m.group(2)})", " ".join(text.split()))
    return [flat[s:e] for s, e in sentence_spans(flat)]


def _body(sents: Sequence[str], n: int, mark: bool) -> str:
    # A small model copies a source sentence more reliably than it looks up the number in the
    # block's header: with `mark`, every sentence carries its [n], and the copy carries it too.
    return " ".join(f"{s} [{n}]" for s in sents) if mark else " ".join(sents)


def _fit(sents: Sequence[str], n: int, mark: bool, budget: int) -> str:
    """The longest run of leading sentences within budget tokens (the first one's words if none fits)."""
    kept = 0
    for k in range(1, len(sents) + 1):
        if count_tokens(_body(sents[:k], n, mark)) > budget:
            break
        kept = k
    if kept or not sents:
        return _body(sents[:kept], n, mark)
    words = sents[0].split()
    tail = f" … [{n}]" if mark else " …"
    lo, hi = 0, len(words)
    while lo < hi:  # the longest word prefix that fits
        mid = (lo + hi + 1) // 2
        if count_tokens(" ".join(words[:mid]) + tail) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]) + tail if lo else ""


def build_context(passages: Sequence[Passage], budget: int, mark_sentences: bool = True) -> Context:
    """Number the passages [1]..[k] in retrieval order, within `budget` tokens.

    Passages are added whole while they fit; the first that does not fit is cut to its
    leading sentences, and the rest are dropped. The first passage always appears (cut to
    its first MIN_TRIMMED_TOKENS tokens at worst, even past a tiny budget), so the model
    never gets an empty context. With `mark_sentences`, every sentence ends with its [n].
    """
    blocks: list[str] = []
    trimmed = False
    used = 0
    for i, p in enumerate(passages):
        n = i + 1
        header = source_header(n, p)
        sents = _sentences(p.text)
        sep = 2 if blocks else 0  # the blank line between blocks
        block = f"{header}\n{_body(sents, n, mark_sentences)}"
        need = count_tokens(block) + sep
        if used + need <= budget:
            blocks.append(block)
            used += need
            continue
        trimmed = True
        room = budget - used - sep - count_tokens(header) - 1
        if room >= MIN_TRIMMED_TOKENS or not blocks:
            cut = _fit(sents, n, mark_sentences, max(room, MIN_TRIMMED_TOKENS))
            if cut:
                blocks.append(f"{header}\n{cut}")
        break
    text = "\n\n".join(blocks)
    return Context(text=text, tokens=count_tokens(text), shown=len(blocks), trimmed=trimmed)


# ---- messages -------------------------------------------------------------------------

HISTORY_TURNS = 3
HISTORY_ANSWER_WORDS = 80


def answer_messages(
    question: str, context: Context, refusal: str, max_sentences: int, directory: Path | None = None
) -> list[Message]:
    """System rules and the user's sources + question, from answer_system.txt / answer_user.txt."""
    return [
        {"role": "system", "content": render("answer_system", directory, refusal=refusal,
                                             max_sentences=max_sentences)},
        {"role": "user", "content": render("answer_user", directory, sources=context.text,
                                           question=question, refusal=refusal)},
    ]


def format_history(history: Sequence[Turn]) -> str:
    """The last few turns as "User: ... / Assistant: ...", answers without markers and shortened."""
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        answer = " ".join(MARKER.sub(" ", turn.answer).split())
        answer = re.sub(r"\s+([.,;:!?])", r"\1", answer)
        words = answer.split()
        if len(words) > HISTORY_ANSWER_WORDS:
            answer = " ".join(words[:HISTORY_ANSWER_WORDS]) + " …"
        lines.append(f"User: {' '.join(turn.question.split())}\nAssistant: {answer}")
    return "\n".join(lines)


def condense_messages(question: str, history: Sequence[Turn], directory: Path | None = None) -> list[Message]:
    """One user message asking to rewrite the follow-up as a standalone question (condense.txt)."""
    text = render("condense", directory, history=format_history(history), question=question)
    return [{"role": "user", "content": text}]
