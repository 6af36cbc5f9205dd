"""Shared fixtures: a clean RAG_* environment and a real index over the seeds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No RAG_* or OPENAI_* variable from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith(("RAG_", "OPENAI_")):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def seeds_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Chroma index of the real seeds, built once per test session."""
    from rag import Index, Settings

    persist = tmp_path_factory.mktemp("seeds-index")
    Index.build(Settings(docs_dir=str(SEEDS), persist_dir=str(persist)))
    return persist


@pytest.fixture()
def seeds_index(seeds_index_dir: Path):  # type: ignore[no-untyped-def]
    from rag import Index, Settings

    return Index.open(Settings(docs_dir=str(SEEDS), persist_dir=str(seeds_index_dir)))


@pytest.fixture()
def small_corpus(tmp_path: Path) -> Iterator[Path]:
    """A copy of tests/data/small in a temp folder, free to modify."""
    dst = tmp_path / "docs"
    shutil.copytree(ROOT / "tests" / "data" / "small", dst)
    yield dst
