from __future__ import annotations

import pytest

from rag import ConfigError, Settings


def test_from_env_reads_rag_variables() -> None:
    s = Settings.from_env({"RAG_DOCS_DIR": "x", "RAG_TOP_K": "7", "RAG_FALLBACK_TO_EXTRACTIVE": "no",
                           "OPENAI_API_KEY": "sk-secret", "RAG_FILE_FILTER": "a.txt, b.md"})
    assert s.docs_dir == "x" and s.top_k == 7 and s.fallback_to_extractive is False
    assert s.file_filter == ("a.txt", "b.md")
    assert "sk-secret" not in repr(s.redacted())


def test_bad_values_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="RAG_TOP_K"):
        Settings.from_env({"RAG_TOP_K": "many"})
    with pytest.raises(ConfigError, match="extractive, local, openai"):
        Settings(generator="gpt")
