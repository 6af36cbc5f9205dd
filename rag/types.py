"""Frozen dataclasses that cross stage boundaries.

Offsets (`start`, `end`) always index the ORIGINAL file text as decoded from
UTF-8, end exclusive; line numbers are 1-based and inclusive.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """A structural unit of a document (an essay of a journal issue, or the whole file)."""

    title: str
    author: str | None
    start: int  # offset into Document.clean
    end: int


@dataclass(frozen=True)
class Document:
    """One source file: its raw text, a cleaned text, and a map from clean to raw offsets.

    `offsets[i]` is the raw offset of `clean[i]`; `offsets[len(clean)]` is `len(raw)`.
    """

    file: str  # path relative to the indexed folder, "/"-separated
    raw: str
    clean: str
    offsets: tuple[int, ...] | Any  # numpy int array in practice
    title: str
    sections: tuple[Section, ...]
    sha256: str

    def raw_span(self, clean_start: int, clean_end: int) -> tuple[int, int]:
        """Map a span of the cleaned text to the span of the raw text it came from."""
        if clean_end <= clean_start:
            pos = int(self.offsets[clean_start])
            return pos, pos
        return int(self.offsets[clean_start]), int(self.offsets[clean_end - 1]) + 1

    def section_at(self, clean_pos: int) -> Section | None:
        """The section containing a cleaned-text offset, if any."""
        for sec in self.sections:
            if sec.start <= clean_pos < sec.end:
                return sec
        return None


@dataclass(frozen=True)
class Chunk:
    """A retrieval unit: a span of one document with its metadata."""

    id: str
    file: str
    start: int  # raw offsets
    end: int
    line_start: int
    line_end: int
    text: str  # cleaned text of the span
    clean_start: int
    clean_end: int
    title: str = ""
    section: str | None = None
    author: str | None = None

    @property
    def header(self) -> str:
        """Human-readable provenance: document or essay title and author."""
        parts = [self.section or self.title]
        if self.author:
            parts.append(self.author)
        return " — ".join(p for p in parts if p)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score."""

    file: str
    start: int
    end: int
    text: str
    score: float
    line_start: int
    line_end: int
    section: str | None = None
    author: str | None = None
    title: str = ""
    chunk_id: str = ""
    clean_start: int = 0  # offset of `text` in the document's cleaned text

    @property
    def header(self) -> str:
        """Human-readable provenance: document or essay title and author."""
        parts = [self.section or self.title]
        if self.author:
            parts.append(self.author)
        return " — ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Citation:
    """A verified pointer from an answer marker to an exact span of an original file."""

    marker: int
    file: str
    start: int
    end: int
    quote: str  # exactly original[start:end]
    line_start: int
    line_end: int
    section: str | None = None
    author: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Answer:
    """An answer with its citations, the passages it drew on, and diagnostics."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    refused: bool = False
    unsupported: list[str] = field(default_factory=list)  # answer sentences lacking support
    dropped_markers: int = 0  # markers that pointed nowhere or failed verification
    generator: str = "extractive"
    standalone_question: str | None = None  # follow-up rewritten for retrieval
    notice: str | None = None  # e.g. "LLM unreachable: fell back to extractive"
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)
