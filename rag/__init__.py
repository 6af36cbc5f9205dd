"""Cited question answering over a folder of documents, offline by default."""

import logging

from .config import Settings
from .errors import (
    BackendError,
    ConfigError,
    DocumentError,
    EmbeddingError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    QuestionError,
    RagError,
    ReadOnlyIndexError,
)
from .generation import REFUSAL, Turn
from .index import BuildReport, Index, ask
from .types import Answer, Citation, Passage

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "REFUSAL",
    "Answer",
    "BackendError",
    "BuildReport",
    "Citation",
    "ConfigError",
    "DocumentError",
    "EmbeddingError",
    "Index",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "Passage",
    "QuestionError",
    "RagError",
    "ReadOnlyIndexError",
    "Settings",
    "Turn",
    "ask",
]
