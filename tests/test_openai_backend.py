"""The `openai` and `local` backends end to end through Index, over real HTTP on 127.0.0.1.

- tests/fake_llm_server.py (stdlib http.server, the chat-completions protocol) gives fixed
  replies, so marker parsing, narrowing, verification, refusal and follow-ups are checked
  exactly, and it fails on demand: HTTP 500, a stall past the timeout, garbage.
- The real llama.cpp server with SmolLM2 (tests/llm_fixtures.py) checks the same plumbing
  with a real model's streaming, and a real HTTP 400.
- Answer quality is checked with the packaged 1.5B model in a test marked slow.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Iterator

import openai  # noqa: F401  (imported here so that its import time is not timed below)
import pytest

from fake_llm_server import FakeLLMServer
from llm_fixtures import SMALL_LLM_AVAILABLE, SMALL_LLM_CTX, SMALL_LLM_MISSING, small_llm_server  # noqa: F401
from rag import REFUSAL, Answer, BackendError, ConfigError, Index, Settings, Turn
from rag.citations import MARKER, marker_numbers, strip_markers, verify
from rag.local_llm import LocalServer, smollm2_gguf

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
ISA = "000_c138998a30d41faa.txt"

DECLARATION = "When and where did Aliyev and Putin sign the declaration on allied interaction?"
FICO_FOLLOW_UP = "What did he say about Aliyev's position on Ukraine?"
OFF_TOPIC = "How do I reset my router password?"  # evidence far below the refusal threshold

needs_small_llm = pytest.mark.skipif(not SMALL_LLM_AVAILABLE, reason=SMALL_LLM_MISSING)


def open_index(index_dir: Path, **settings: Any) -> Index:
    values: dict[str, Any] = dict(docs_dir=str(SEEDS), persist_dir=str(index_dir), generator="openai",
                                  model="fake", fallback_to_extractive=False, request_timeout=10.0)
    values.update(settings)
    return Index.open(Settings(**values))


@pytest.fixture()
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there any more


def marker_of(index: Index, question: str, phrase: str) -> int:
    """The [n] the model would write for the retrieved passage containing phrase."""
    for n, p in enumerate(index.retrieve(question), 1):
        if phrase in p.text:
            return n
    raise AssertionError(f"no passage retrieved for {question!r} contains {phrase!r}")


def split_stream(items: list[str | Answer]) -> tuple[list[str], Answer]:
    *deltas, answer = items
    assert isinstance(answer, Answer) and all(isinstance(d, str) for d in deltas)
    return [str(d) for d in deltas], answer


def assert_citations_true(answer: Answer) -> None:
    """Every citation is the exact text of its file on disk, and every marker names one."""
    for c in answer.citations:
        raw = (SEEDS / c.file).read_text(encoding="utf-8")
        assert verify(c, raw), c
    used = {n for m in MARKER.finditer(answer.text) for n in marker_numbers(m)}
    assert used <= set(range(1, len(answer.citations) + 1))


# --- plumbing with fixed replies -------------------------------------------------------


def test_stream_yields_deltas_then_the_answer_with_narrowed_verified_citations(
    seeds_index_dir: Path, fake: FakeLLMServer
) -> None:
    index = open_index(seeds_index_dir, openai_base_url=fake.base_url)
    n = marker_of(index, DECLARATION, "in Moscow on February 22, 2022")
    fake.reply = (f"Aliyev and Putin signed the declaration in Moscow on February 22, 2022 [{n}]. "
                  f"That was two days before Russia invaded Ukraine [{n}][9].")

    deltas, answer = split_stream(list(index.stream(DECLARATION)))

    assert len(deltas) > 5 and "".join(deltas) == fake.reply  # streamed as it came
    assert answer.generator == "openai" and not answer.refused and answer.notice is None
    assert answer.text == ("Aliyev and Putin signed the declaration in Moscow on February 22, 2022 [1]. "
                           "That was two days before Russia invaded Ukraine [1].")
    assert answer.dropped_markers == 1  # [9]: only 5 passages were retrieved
    (c,) = answer.citations  # both sentences narrow to the same sentence of the ISA paper
    assert c.file == ISA and "in Moscow on February 22, 2022" in " ".join(c.quote.split())
    assert len(c.quote) < 250  # a sentence, not the ~1,000-character passage
    assert answer.unsupported == []
    assert_citations_true(answer)
    assert answer.timings["first_token"] <= answer.timings["generate"]
    (body,) = fake.requests  # no condensing call without history
    assert body["stream"] is True and body["temperature"] == 0 and body["max_tokens"] == 320
    assert f"Question: {DECLARATION}" in body["messages"][1]["content"]
    assert f"[{n}] {ISA}" in body["messages"][1]["content"]


def test_the_models_refusal_sentence_makes_a_refusal(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    fake.reply = REFUSAL

    answer = open_index(seeds_index_dir, openai_base_url=fake.base_url).ask(DECLARATION)

    assert answer.refused and answer.text == REFUSAL and answer.citations == []
    assert len(fake.requests) == 1


def test_a_refusal_of_an_answerable_question_gives_way_to_quotes_when_asked(
    seeds_index_dir: Path, fake: FakeLLMServer
) -> None:
    # refusal_fallback names the generators whose refusals are second-guessed (default: the small
    # local model); here the endpoint refuses a question the sources answer
    fake.reply = REFUSAL
    index = open_index(seeds_index_dir, openai_base_url=fake.base_url, refusal_fallback=("openai",))

    deltas, answer = split_stream(list(index.stream(DECLARATION)))

    assert not answer.refused and answer.generator == "extractive"
    assert answer.notice and "openai model did not answer" in answer.notice
    assert answer.text == index.ask(DECLARATION, generator="extractive").text and answer.citations
    assert_citations_true(answer)
    assert "".join(deltas).startswith(REFUSAL)  # what streamed first, then the quotes
    # wholly unsupported answers give way too; refusals for weak evidence never reach the model
    fake.reply = "The declaration was signed on a yacht off Crete by eleven admirals [1]."
    unsupported = index.ask(DECLARATION)
    assert not unsupported.refused and unsupported.notice and "not supported" in unsupported.notice
    requests = len(fake.requests)
    assert index.ask("What is the recipe for a good apple strudel?").refused
    assert len(fake.requests) == requests


def test_refusal_fallback_names_known_generators() -> None:
    with pytest.raises(ConfigError, match="refusal_fallback names unknown generator.*'gpt'"):
        Settings(refusal_fallback=("gpt",))
    assert Settings.from_env({"RAG_REFUSAL_FALLBACK": ""}).refusal_fallback == ()
    assert Settings().refusal_fallback == ("local",)


def test_an_answer_without_a_verified_citation_is_refused(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    # Neither sentence is in the sources, so repair finds nothing to cite them to either.
    fake.reply = "They signed it on a yacht off Crete. It was a rainy day for the orchestra [17]."

    answer = open_index(seeds_index_dir, openai_base_url=fake.base_url).ask(DECLARATION)

    assert answer.refused and answer.citations == [] and answer.dropped_markers == 1


def test_a_copied_sentence_with_a_dangling_marker_is_cited_to_the_passage_that_has_it(
    seeds_index_dir: Path, fake: FakeLLMServer
) -> None:
    fake.reply = "They signed it in Moscow on February 22, 2022 [17]."

    answer = open_index(seeds_index_dir, openai_base_url=fake.base_url).ask(DECLARATION)

    assert not answer.refused and answer.dropped_markers == 1 and answer.unsupported == []
    (c,) = answer.citations
    assert c.file == ISA and "February 22, 2022" in " ".join(c.quote.split())
    assert_citations_true(answer)


def test_an_answer_none_of_whose_sentences_is_supported_is_refused_with_a_notice(
    seeds_index_dir: Path, fake: FakeLLMServer
) -> None:
    # cites a real passage, but says what no source says (a near-miss question answered anyway)
    fake.reply = "The declaration was signed on a yacht off Crete by eleven admirals [1]."

    answer = open_index(seeds_index_dir, openai_base_url=fake.base_url).ask(DECLARATION)

    assert answer.refused and answer.text == REFUSAL and answer.citations == []
    assert answer.notice and "no sentence" in answer.notice


def test_one_supported_sentence_keeps_the_answer_and_flags_the_other(
    seeds_index_dir: Path, fake: FakeLLMServer
) -> None:
    fake.reply = ("They signed it in Moscow on February 22, 2022 [1]. "
                  "It was signed on a yacht off Crete by eleven admirals [1].")

    answer = open_index(seeds_index_dir, openai_base_url=fake.base_url).ask(DECLARATION)

    assert not answer.refused and answer.notice is None
    assert answer.unsupported == ["It was signed on a yacht off Crete by eleven admirals."]
    assert_citations_true(answer)


def test_weak_evidence_refuses_without_calling_the_model(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    answer = open_index(seeds_index_dir, openai_base_url=fake.base_url).ask(OFF_TOPIC)

    assert answer.refused and answer.text == REFUSAL
    assert fake.requests == []
    assert "first_token" not in answer.timings


def test_a_follow_up_is_condensed_by_the_model_and_keeps_its_own_citations(
    seeds_index_dir: Path, fake: FakeLLMServer
) -> None:
    index = open_index(seeds_index_dir, openai_base_url=fake.base_url)
    standalone = "What did Robert Fico say about Aliyev's position on Ukraine?"
    n = marker_of(index, standalone, "position of the Slovak government")
    fake.replies = [
        f"Standalone question: {standalone}",
        f"Fico said Aliyev's position on Ukraine sounded like the position of the Slovak government [{n}].",
    ]
    first = Turn("What did Robert Fico and Ilham Aliyev sign in Baku?",
                 "They signed the Joint Declaration of Strategic Partnership [1].")

    answer = index.ask(FICO_FOLLOW_UP, history=[first])

    assert answer.question == FICO_FOLLOW_UP and answer.standalone_question == standalone
    condense, answer_request = fake.requests
    assert condense["max_tokens"] <= 64 and len(condense["messages"]) == 1
    assert first.question in condense["messages"][0]["content"]
    assert f"Question: {standalone}" in answer_request["messages"][1]["content"]
    (c,) = answer.citations
    assert c.marker == 1 and c.file == ISA and "position of the Slovak government" in " ".join(c.quote.split())
    assert first.answer.endswith("[1].")  # the earlier turn's text and citations are untouched
    assert_citations_true(answer)


# --- failure paths ----------------------------------------------------------------------


def test_a_server_that_is_down_is_a_clear_error(seeds_index_dir: Path) -> None:
    url = closed_port_url()
    index = open_index(seeds_index_dir, openai_base_url=url)
    index.retrieve(DECLARATION)  # warm: the timing below is the backend's, not loading
    started = time.monotonic()

    with pytest.raises(BackendError) as info:
        index.ask(DECLARATION)

    assert time.monotonic() - started < 10
    assert f"cannot connect to {url}" in str(info.value)
    assert "start the server there" in str(info.value) and "RAG_OPENAI_BASE_URL" in str(info.value)


def test_a_server_that_is_down_falls_back_to_the_extractive_answer(seeds_index_dir: Path) -> None:
    url = closed_port_url()

    answer = open_index(seeds_index_dir, openai_base_url=url, fallback_to_extractive=True).ask(DECLARATION)

    assert answer.generator == "extractive" and not answer.refused
    assert answer.notice is not None and url in answer.notice
    assert answer.citations
    assert_citations_true(answer)


def test_http_500_is_a_clear_error(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    fake.mode = "status"

    with pytest.raises(BackendError) as info:
        open_index(seeds_index_dir, openai_base_url=fake.base_url).ask(DECLARATION)

    message = str(info.value)
    assert fake.base_url in message and "HTTP 500" in message and "fake failure 500" in message
    assert len(fake.requests) == 2  # max_retries=1: one retry, then the error


def test_a_server_that_never_answers_times_out(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    fake.mode, fake.delay = "sleep", 30
    index = open_index(seeds_index_dir, openai_base_url=fake.base_url, request_timeout=0.5)
    index.retrieve(DECLARATION)  # warm: the timing below is the backend's, not loading
    started = time.monotonic()

    with pytest.raises(BackendError) as info:
        index.ask(DECLARATION)

    assert time.monotonic() - started < 10  # two tries of 0.5 s and a backoff, not 30 s
    assert f"{fake.base_url} did not answer within 0.5 s" in str(info.value)
    assert "RAG_REQUEST_TIMEOUT" in str(info.value)


def test_a_stream_that_stalls_midway_times_out_and_falls_back(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    fake.mode, fake.delay, fake.reply = "stall", 30, "Aliyev went to Moscow [1]."
    index = open_index(seeds_index_dir, openai_base_url=fake.base_url, request_timeout=0.5,
                       fallback_to_extractive=True)

    deltas, answer = split_stream(list(index.stream(DECLARATION)))

    assert deltas[0] == "Aliyev" and deltas[1] == "\n\n"  # what came, then the extractive answer
    assert answer.generator == "extractive" and answer.notice and "did not answer within 0.5 s" in answer.notice
    assert answer.citations and "Aliyev went" not in answer.text
    assert_citations_true(answer)


def test_garbage_instead_of_a_chat_completion_is_a_clear_error(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    fake.mode = "garbage"

    with pytest.raises(BackendError) as info:
        open_index(seeds_index_dir, openai_base_url=fake.base_url).ask(DECLARATION)

    assert fake.base_url in str(info.value) and "not an OpenAI chat completion" in str(info.value)


def test_a_rejected_key_names_the_variable(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    fake.mode, fake.status = "status", 401

    with pytest.raises(BackendError, match="rejected the API key .* set a valid OPENAI_API_KEY"):
        open_index(seeds_index_dir, openai_base_url=fake.base_url, openai_api_key="sk-wrong").ask(DECLARATION)


def test_openai_without_a_key_says_how_to_set_one(seeds_index_dir: Path) -> None:
    settings: dict[str, Any] = dict(openai_base_url="https://api.openai.com/v1", openai_api_key="")

    with pytest.raises(BackendError) as info:
        open_index(seeds_index_dir, **settings).ask(DECLARATION)
    assert "https://api.openai.com/v1 needs an API key" in str(info.value)
    assert "OPENAI_API_KEY" in str(info.value) and "RAG_OPENAI_BASE_URL" in str(info.value)

    answer = open_index(seeds_index_dir, fallback_to_extractive=True, **settings).ask(DECLARATION)
    assert answer.generator == "extractive" and answer.notice and "OPENAI_API_KEY" in answer.notice


def test_only_openai_itself_needs_a_key(seeds_index_dir: Path, fake: FakeLLMServer) -> None:
    n = marker_of(open_index(seeds_index_dir, openai_base_url=fake.base_url), DECLARATION,
                  "in Moscow on February 22, 2022")
    fake.reply = f"They signed it in Moscow on February 22, 2022 [{n}]."

    answer = open_index(seeds_index_dir, openai_base_url=fake.base_url, openai_api_key="").ask(DECLARATION)

    assert not answer.refused and answer.citations


# --- a real OpenAI-compatible server: llama.cpp with SmolLM2 ------------------------------


@needs_small_llm
def test_the_real_server_streams_an_answer_whose_citations_are_true(
    seeds_index_dir: Path, small_llm_server: LocalServer
) -> None:
    index = open_index(seeds_index_dir, openai_base_url=small_llm_server.base_url,
                       model=small_llm_server.model, request_timeout=120, max_new_tokens=80)

    deltas, answer = split_stream(list(index.stream(DECLARATION)))

    assert len([d for d in deltas if d]) > 1  # really streamed
    assert "first_token" in answer.timings
    # SmolLM2's answers are often wrong; what must hold whatever it says:
    if answer.refused:  # its own refusal, or no sentence of its answer supported (then a notice says so)
        assert answer.text == REFUSAL and answer.citations == []
    else:
        assert answer.citations and answer.notice is None
        assert_citations_true(answer)
        assert all(s in strip_markers(answer.text) for s in answer.unsupported)  # flagged, not removed


@needs_small_llm
def test_the_real_server_condenses_a_follow_up(seeds_index_dir: Path, small_llm_server: LocalServer) -> None:
    index = open_index(seeds_index_dir, openai_base_url=small_llm_server.base_url,
                       model=small_llm_server.model, request_timeout=120, max_new_tokens=40)
    history = [Turn("What did Robert Fico and Ilham Aliyev sign in Baku?",
                    "The Joint Declaration of Strategic Partnership [1].")]

    answer = index.ask(FICO_FOLLOW_UP, history=history)

    assert answer.standalone_question is None or answer.standalone_question.strip()
    assert answer.question == FICO_FOLLOW_UP
    assert_citations_true(answer)


@needs_small_llm
def test_the_local_backend_runs_a_given_gguf(seeds_index_dir: Path, small_llm_server: LocalServer) -> None:
    index = Index.open(Settings(docs_dir=str(SEEDS), persist_dir=str(seeds_index_dir), generator="local",
                                local_model_path=str(smollm2_gguf()), local_ctx=SMALL_LLM_CTX,
                                max_new_tokens=40, fallback_to_extractive=False))

    answer = index.ask(DECLARATION)

    assert answer.generator == "local" and "first_token" in answer.timings
    gen = index._generator("local")
    assert getattr(gen, "base_url", None) == small_llm_server.base_url  # the same server, loaded once
    assert_citations_true(answer)


@needs_small_llm
def test_a_prompt_longer_than_the_real_servers_context_is_a_clear_error(
    seeds_index_dir: Path, small_llm_server: LocalServer
) -> None:
    index = open_index(seeds_index_dir, openai_base_url=small_llm_server.base_url, model=small_llm_server.model,
                       top_k=20, context_tokens=SMALL_LLM_CTX * 2)

    with pytest.raises(BackendError) as info:
        index.ask(DECLARATION)

    assert "HTTP 400" in str(info.value) and "exceeds the available context size" in str(info.value)
    assert small_llm_server.base_url in str(info.value)


# --- answer quality with the packaged 1.5B model ----------------------------------------


@pytest.mark.slow
def test_the_local_model_answers_cites_refuses_and_follows_up(seeds_index_dir: Path) -> None:
    from rag.errors import ConfigError
    from rag.local_llm import packaged_model_parts

    try:
        packaged_model_parts()
    except ConfigError as exc:
        pytest.skip(str(exc))
    index = Index.open(Settings(docs_dir=str(SEEDS), persist_dir=str(seeds_index_dir), generator="local",
                                local_context_tokens=800, max_new_tokens=120, fallback_to_extractive=False))

    answer = index.ask(DECLARATION)
    assert not answer.refused, answer
    assert "Moscow" in answer.text or "February 22" in answer.text
    assert_citations_true(answer)
    # the date is cited to a quote that holds it, or the sentence stating it is flagged unsupported
    # (which passages the 800-token context shows first decides which the 1.5B model copies from;
    # its dev figures are in docs/benchmarks/eval/dev-local)
    quotes = " ".join(" ".join(c.quote.split()) for c in answer.citations)
    assert "February 22" in quotes or any("February 22" in u for u in answer.unsupported), answer

    # Refusing near-miss questions is answer quality (measured in benchmarks/local_llm_eval.py,
    # where the 1.5B model does not always refuse); here: a refusal has no citations, and an
    # answer's citations are true.
    unanswerable = index.ask("How many soldiers did Russia deploy as peacekeepers in Nagorno-Karabakh?")
    if unanswerable.refused:
        assert unanswerable.citations == []
    else:
        assert_citations_true(unanswerable)

    first = index.ask("What did Robert Fico and Ilham Aliyev sign during Fico's visit to Baku on May 7?")
    assert not first.refused and "Strategic Partnership" in first.text
    follow = index.ask(FICO_FOLLOW_UP, history=[Turn(first.question, first.text)])
    assert follow.standalone_question and "Fico" in follow.standalone_question
    assert not follow.refused and "Slovak" in follow.text
    assert_citations_true(follow)
