"""Settings: one frozen dataclass with a default for everything.

This is the only module that reads environment variables (`Settings.from_env`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

GENERATORS = ("extractive", "local", "openai")
EMBEDDERS = ("minilm", "openai")


@dataclass(frozen=True)
class Settings:
    """Every knob of the pipeline. Environment: RAG_<FIELD NAME IN CAPITALS>."""

    docs_dir: str = "seeds"
    persist_dir: str = ".rag"
    collection: str = "rag"
    # backends
    generator: str = "extractive"
    embedder: str = "minilm"
    # chunking (word pieces of the embedding model's tokenizer, which truncates at 256)
    chunk_tokens: int = 120
    chunk_overlap: int = 20
    # retrieval
    top_k: int = 5
    candidate_k: int = 40
    rrf_k: int = 20
    file_filter: tuple[str, ...] = ()
    # answering
    refusal_threshold: float = 0.45
    context_tokens: int = 1500  # sources shown to an LLM (tiktoken cl100k tokens)
    max_answer_sentences: int = 3
    max_question_chars: int = 4000
    fallback_to_extractive: bool = True
    # generators whose refusal (or answer with no supported sentence) gives way to the extractive
    # answer, with a notice, when the evidence check found an answer of the asked kind: the small
    # local model refuses ~30 % of answerable questions; a strong endpoint's refusals are kept
    refusal_fallback: tuple[str, ...] = ("local",)
    # documents
    max_file_bytes: int = 50 * 1024 * 1024
    # OpenAI-compatible endpoint (chat and, optionally, embeddings)
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str = field(default="", repr=False)  # secrets stay out of reprs, logs and tracebacks
    model: str = "gpt-4o-mini"
    embed_model: str = "text-embedding-3-small"
    request_timeout: float = 60.0
    # local LLM (llama.cpp through xllamacpp)
    local_model_path: str = ""  # a GGUF file; empty = the packaged Qwen2.5-Coder-1.5B
    local_cache_dir: str = "~/.cache/rag"
    local_ctx: int = 4096
    local_threads: int = 0  # 0 = all cores
    # the local model reads ~45 prompt tokens/s on 2 cores: a smaller context is a faster first token
    local_context_tokens: int = 1000
    local_prompt_cache: bool = True  # reuse a cached prompt prefix (off: benchmarks of prompt reading)
    max_new_tokens: int = 320
    # store
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000 switches to a Chroma server
    # UI
    host: str = "127.0.0.1"
    port: int = 7860
    ui_auth: str = field(default="", repr=False)  # "user:password[,user2:password2]" or a path to such a file

    def __post_init__(self) -> None:
        if self.generator not in GENERATORS:
            raise ConfigError(
                f"unknown generator {self.generator!r}: expected one of {', '.join(GENERATORS)} "
                "(set RAG_GENERATOR or Settings(generator=...))"
            )
        if self.embedder not in EMBEDDERS:
            raise ConfigError(
                f"unknown embedder {self.embedder!r}: expected one of {', '.join(EMBEDDERS)} "
                "(set RAG_EMBEDDER or Settings(embedder=...))"
            )
        if unknown := [g for g in self.refusal_fallback if g not in GENERATORS]:
            raise ConfigError(
                f"refusal_fallback names unknown generator(s) {', '.join(map(repr, unknown))}: expected "
                f"some of {', '.join(GENERATORS)} (set RAG_REFUSAL_FALLBACK=local,openai, or empty for none)"
            )
        if self.chunk_overlap >= self.chunk_tokens:
            raise ConfigError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_tokens "
                f"({self.chunk_tokens})"
            )
        if self.top_k < 1:
            raise ConfigError(f"top_k must be at least 1, got {self.top_k}")

    @property
    def docs_path(self) -> Path:
        """The indexed folder as an absolute path."""
        return Path(self.docs_dir).expanduser().resolve()

    @property
    def persist_path(self) -> Path:
        """The index folder as an absolute path."""
        return Path(self.persist_dir).expanduser().resolve()

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def redacted(self) -> dict[str, Any]:
        """Fields as a dict with secrets masked, for logs and reports."""
        data = dataclasses.asdict(self)
        if data["openai_api_key"]:
            data["openai_api_key"] = "***"
        if data["ui_auth"]:
            data["ui_auth"] = "***"
        return data

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Settings from RAG_* variables (plus OPENAI_BASE_URL / OPENAI_API_KEY), then overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get("OPENAI_BASE_URL"):
            values["openai_base_url"] = env["OPENAI_BASE_URL"]
        if env.get("OPENAI_API_KEY"):
            values["openai_api_key"] = env["OPENAI_API_KEY"]
        for f in dataclasses.fields(cls):
            key = "RAG_" + f.name.upper()
            if key not in env:
                continue
            values[f.name] = _parse(f.name, str(f.type), env[key], key)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse(name: str, type_name: str, raw: str, key: str) -> Any:
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "bool":
            low = raw.strip().lower()
            if low not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(raw)
            return low in {"1", "true", "yes", "on"}
        if type_name.startswith("tuple"):
            return tuple(p.strip() for p in raw.split(",") if p.strip())
    except ValueError:
        raise ConfigError(
            f"{key}={raw!r} is not a valid {type_name} for setting {name!r}; fix or unset it"
        ) from None
    return raw
