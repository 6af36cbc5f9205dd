"""A real llama.cpp server with the small SmolLM2-135M-Instruct model, for plumbing tests.

Use it from a test module with `from llm_fixtures import small_llm_server`, or register the
module with `pytest_plugins = ["llm_fixtures"]` in tests/conftest.py. SmolLM2's answers are
often wrong: test streaming, parsing and errors with it, not answer quality.

Failure paths the real server produces on demand (measured with xllamacpp 2026.10.11549):
- HTTP 400 (openai.BadRequestError): a prompt longer than n_ctx ("exceeds the available
  context size"), a malformed body, `n` > 1.
- HTTP 500 (openai.InternalServerError): a user message with image content
  (`[{"type": "image_url", ...}]`, "image input is not supported") or a tool without
  its function (`tools=[{"type": "function"}]`).
- A "hang": the server has one slot, so a request waits while another generation runs
  (e.g. `max_tokens=2000` with `extra_body={"ignore_eos": True}`); a short client timeout
  then fires. It cannot be told to stall before the first byte or drop a connection:
  use a small stdlib http.server fake for those.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from rag.errors import ConfigError
from rag.local_llm import LocalServer, get_server, smollm2_gguf

SMALL_LLM_CTX = 2048


def _availability() -> tuple[bool, str]:
    if importlib.util.find_spec("xllamacpp") is None:
        return False, "xllamacpp is not installed: pip install -e '.[local]'"
    try:
        smollm2_gguf()
    except ConfigError as exc:
        return False, str(exc)
    return True, ""


# CI installs both (pip install -e '.[test,local]' and scripts/install_local_model.sh):
# tests can assert SMALL_LLM_AVAILABLE there so that a missing install fails loudly.
SMALL_LLM_AVAILABLE, SMALL_LLM_MISSING = _availability()


@pytest.fixture(scope="session")
def small_llm_server() -> Iterator[LocalServer]:
    """The process-wide LocalServer for SmolLM2 (n_ctx=2048), closed at the end."""
    if not SMALL_LLM_AVAILABLE:
        pytest.skip(SMALL_LLM_MISSING)
    server = get_server(smollm2_gguf(), n_ctx=SMALL_LLM_CTX)
    yield server
    server.close()
