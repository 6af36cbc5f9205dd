"""Generators: turn a question and retrieved passages into answer text with [n] markers.

A marker [n] names the n-th passage (1-based) given to the generator; `citations.resolve`
later narrows each marker to the exact sentence span of the original file.

Backends: `extractive` (no model), `openai` (any OpenAI-compatible chat endpoint) and
`local` (the same client code pointed at llama.cpp's server inside this process).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol, Sequence

from . import prompts
from .config import Settings
from .errors import BackendError, ConfigError
from .evidence import Sentence
from .text import content_words
from .types import Passage

if TYPE_CHECKING:
    import openai

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


class OpenAIGenerator:
    """Chat completions from an OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

    name = "openai"
    fix = "check RAG_OPENAI_BASE_URL (or OPENAI_BASE_URL), OPENAI_API_KEY and RAG_MODEL"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        *,
        timeout: float = 60.0,
        max_tokens: int = 320,
        context_tokens: int = 1500,
        max_sentences: int = 3,
        max_retries: int = 1,
        condense_tokens: int = 64,
        prompts_dir: Path | None = None,
        mark_sentences: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.context_tokens = context_tokens
        self.max_sentences = max_sentences
        self.max_retries = max_retries
        self.condense_tokens = condense_tokens
        self.prompts_dir = prompts_dir
        self.mark_sentences = mark_sentences  # every source sentence ends with its [n] (see prompts)
        self.extra_body: dict[str, Any] = {}  # extra request fields a server understands
        self.last_context: prompts.Context | None = None
        self._client: openai.OpenAI | None = None

    # ---- the endpoint ---------------------------------------------------------------
    def connect(self) -> openai.OpenAI:
        """The client, created on first use (BackendError when no key is set for api.openai.com)."""
        if self._client is None:
            import openai

            if not self.api_key and "api.openai.com" in self.base_url:
                raise BackendError(
                    f"{self.base_url} needs an API key and none is set: set OPENAI_API_KEY, or point "
                    "RAG_OPENAI_BASE_URL at an OpenAI-compatible server that needs none "
                    "(e.g. http://127.0.0.1:8080/v1 for llama.cpp, http://127.0.0.1:11434/v1 for Ollama)"
                )
            self._client = openai.OpenAI(
                base_url=self.base_url,
                api_key=self.api_key or "not-needed",  # local servers ignore it; the client wants one
                timeout=openai.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                max_retries=self.max_retries,
            )
        return self._client

    def _chat(self, messages: list[prompts.Message], max_tokens: int) -> Iterator[str]:
        """Stream the reply's text; every failure becomes a BackendError naming the URL and the fix,
        never the API key (some servers echo the Authorization header in their error bodies)."""
        try:
            yield from self._chat_unredacted(messages, max_tokens)
        except BackendError as exc:
            if len(self.api_key) < 8 or self.api_key not in str(exc):
                raise
            # the chained exception holds the key too: do not chain it
            raise BackendError(str(exc).replace(self.api_key, "***")) from None

    def _chat_unredacted(self, messages: list[prompts.Message], max_tokens: int) -> Iterator[str]:
        import openai

        client = self.connect()
        try:
            stream: Any = client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=0,
                max_tokens=max_tokens,
                stream=True,
                extra_body=self.extra_body or None,
            )
            with stream:
                for chunk in stream:
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    if choice.delta is not None and choice.delta.content:
                        yield choice.delta.content
                    if choice.finish_reason == "length":
                        log.info("%s stopped at max_tokens=%d", self.base_url, max_tokens)
        except openai.APITimeoutError as exc:
            raise BackendError(
                f"{self.base_url} did not answer within {self.timeout:g} s: check that the server is "
                "not overloaded, or raise RAG_REQUEST_TIMEOUT"
            ) from exc
        except openai.APIConnectionError as exc:
            raise BackendError(
                f"cannot connect to {self.base_url} ({_cause(exc)}): start the server there, or {self.fix}"
            ) from exc
        except openai.AuthenticationError as exc:
            raise BackendError(
                f"{self.base_url} rejected the API key (HTTP 401): set a valid OPENAI_API_KEY"
            ) from exc
        except openai.NotFoundError as exc:
            raise BackendError(
                f"{self.base_url} answered HTTP 404 for model {self.model!r} ({_message(exc)}): the base URL "
                f"usually ends in /v1, and RAG_MODEL must name a model the server has"
            ) from exc
        except openai.APIStatusError as exc:
            raise BackendError(
                f"{self.base_url} answered HTTP {exc.status_code} ({_message(exc)}): {self.fix}, "
                "or see the server's log"
            ) from exc
        except (openai.OpenAIError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # a 200 whose body is not the chat-completions shape (JSON garbage, another API)
            raise BackendError(
                f"{self.base_url} sent a reply that is not an OpenAI chat completion ({type(exc).__name__}: "
                f"{str(exc)[:200]}): is it an OpenAI-compatible endpoint? {self.fix}"
            ) from exc

    # ---- the Generator protocol -----------------------------------------------------
    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """Ask the model to rewrite a follow-up as a standalone question; rules when it cannot."""
        if not history:
            return question
        started = time.perf_counter()
        try:
            reply = "".join(self._chat(prompts.condense_messages(question, history, self.prompts_dir),
                                       self.condense_tokens))
        except BackendError as exc:
            log.warning("condensing the follow-up failed (%s); using the rule-based rewrite", exc)
            return condense_by_rule(question, history)
        rewritten = clean_condensed(reply)
        log.info("condensed %r -> %r in %.1f s", question, rewritten, time.perf_counter() - started)
        return rewritten or condense_by_rule(question, history)

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        sentences: Sequence[Sentence],
        history: Sequence[Turn] = (),
    ) -> Iterator[str]:
        """Yield the model's answer as it is generated (history is already in the condensed question)."""
        context = prompts.build_context(passages, self.context_tokens, self.mark_sentences)
        self.last_context = context
        if context.trimmed:
            log.info("context cut to %d of %d passages (%d tokens, budget %d)",
                     context.shown, len(passages), context.tokens, self.context_tokens)
        messages = prompts.answer_messages(question, context, REFUSAL, self.max_sentences, self.prompts_dir)
        yield from self._chat(messages, self.max_tokens)


_CONDENSED_PREFIX = re.compile(r"^\W*(?:standalone|rewritten|reformulated)?\s*question\s*:\s*", re.IGNORECASE)
MAX_CONDENSED_WORDS = 40


def clean_condensed(reply: str) -> str:
    """The question out of a condense reply ("Standalone question: ...", quotes, extra lines), or ""."""
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    text = _CONDENSED_PREFIX.sub("", lines[0]).strip().strip("\"'“”*`").strip()
    if not text or len(text.split()) > MAX_CONDENSED_WORDS or not re.search(r"\w", text):
        return ""  # an answer or an essay instead of a question
    return text


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    return f"{type(inner).__name__}: {inner}" if inner else str(exc)


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return str(msg)[:200]
    return str(getattr(exc, "message", exc))[:200]


class LocalGenerator(OpenAIGenerator):
    """The OpenAI-compatible generator pointed at llama.cpp's server in this process.

    The packaged Qwen2.5-Coder-1.5B GGUF (or Settings.local_model_path) is assembled and
    loaded on first use, once per process (rag.local_llm.get_server).
    """

    name = "local"
    fix = "see the llama.cpp log on stderr (RAG_LOCAL_MODEL_PATH, RAG_LOCAL_CTX)"

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            base_url="http://127.0.0.1:0/v1",  # replaced by the server's address once it runs
            model="local",
            timeout=local_timeout(settings),
            max_tokens=settings.max_new_tokens,
            context_tokens=settings.local_context_tokens,
            max_sentences=settings.max_answer_sentences,
            max_retries=0,  # a retry would queue behind the request that just failed
        )
        self.settings = settings
        if not settings.local_prompt_cache:  # llama.cpp reuses the KV of a prompt's cached prefix
            self.extra_body = {"cache_prompt": False}

    def connect(self) -> openai.OpenAI:
        """Start (or reuse) the local server, then the client pointed at it."""
        if self._client is None:
            from . import local_llm

            s = self.settings
            path = (Path(s.local_model_path).expanduser() if s.local_model_path
                    else local_llm.assemble_gguf(Path(s.local_cache_dir)))
            server = local_llm.get_server(path, n_ctx=s.local_ctx, threads=s.local_threads)
            self.base_url = server.base_url
            self.model = server.model
        return super().connect()


def local_timeout(settings: Settings) -> float:
    """Seconds to wait for the local model: enough to read the whole prompt at a slow 20 tokens/s.

    llama.cpp sends nothing while it reads the prompt (~50 tokens/s on 2 cores), so the
    first token of a 1,000-token context comes after ~25 s.
    """
    return max(settings.request_timeout, 30.0 + (settings.local_context_tokens + 400) / 20.0)


Factory = Callable[[Settings], Generator]


def _extractive(settings: Settings) -> Generator:
    from .extractive import ExtractiveGenerator  # it builds on this module's Turn and REFUSAL

    return ExtractiveGenerator(max_sentences=settings.max_answer_sentences)


def _openai(settings: Settings) -> Generator:
    return OpenAIGenerator(
        base_url=settings.openai_base_url,
        model=settings.model,
        api_key=settings.openai_api_key,
        timeout=settings.request_timeout,
        max_tokens=settings.max_new_tokens,
        context_tokens=settings.context_tokens,
        max_sentences=settings.max_answer_sentences,
    )


REGISTRY: dict[str, Factory] = {"extractive": _extractive, "local": LocalGenerator, "openai": _openai}


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
