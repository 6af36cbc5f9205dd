"""A real index of a few made-up documents, for tests of one retrieval behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from rag import Index, Settings


def index_of(root: Path, files: Mapping[str, str]) -> Index:
    """Write the files into root/docs and build a real Chroma index of them in root/index."""
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    return Index.build(Settings(docs_dir=str(docs), persist_dir=str(root / "index")))
