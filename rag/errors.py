"""Exceptions raised by the rag library.

Every message says what was expected, what was found, and the fix.

    RagError
    ├── ConfigError          bad or unknown setting (e.g. unknown generator name)
    ├── DocumentError        a file cannot be read as text (binary, not UTF-8, too big)
    ├── IndexNotFoundError   Index.open() found no index in persist_dir
    ├── IndexMismatchError   the index was built with another embedder / chunking
    ├── IndexCorruptError    the index directory cannot be read
    │   └── ReadOnlyIndexError   ... or written (Chroma writes even to answer; opening copies it)
    ├── QuestionError        empty or too long question
    ├── EmbeddingError       the embedding model failed to load or run
    └── BackendError         an LLM backend failed (unreachable, HTTP error, timeout)
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ConfigError",
    "DocumentError",
    "EmbeddingError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "QuestionError",
    "RagError",
    "ReadOnlyIndexError",
]


class RagError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigError(RagError):
    """A setting is missing, malformed or names something unknown."""


class DocumentError(RagError):
    """A file cannot be read as a text document."""


class IndexNotFoundError(RagError):
    """No index exists in the configured persist directory."""


class IndexMismatchError(RagError):
    """The stored index was built with a different embedder or chunking."""


class IndexCorruptError(RagError):
    """The index directory exists but cannot be read."""


class ReadOnlyIndexError(IndexCorruptError):
    """The index directory cannot be written: it can be opened from a private copy, not updated."""


class QuestionError(RagError):
    """The question is empty, too long or otherwise unusable."""


class EmbeddingError(RagError):
    """The embedding model could not be loaded or failed to run."""


class BackendError(RagError):
    """An answer-generation backend failed (unreachable, HTTP error, timeout)."""
