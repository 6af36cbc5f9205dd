"""Hardening, faults: each one made to happen for real.

- kill -9 of `rag index` mid-embedding and mid-write (from outside, and at exact points of the write
  from inside the child): the index then opens as the previous or the new state, exactly, and the
  next `rag index` completes the work and leaves nothing behind;
- a corrupted and a read-only index folder: a clear error naming the folder and the fix, and
  `rag index --rebuild` recovers the corrupted one from the documents (moving only Chroma's files);
- an LLM endpoint that is down, too slow, answers garbage or HTTP 500: a BackendError naming the URL,
  or with fallback_to_extractive the extractive answer and a notice saying so;
- the API key is never in an error, a log record, an Answer or the CLI's output, even when the
  server echoes it back.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, SEEDS
from fake_llm_server import FakeLLMServer
from rag import REFUSAL, Answer, BackendError, Index, IndexCorruptError, IndexNotFoundError, Settings
from rag.chunking import chunk_document
from rag.citations import MARKER, marker_numbers, verify
from rag.documents import load_folder

SECRET = "sk-test-SECRET-0123456789"
BEES = "What is the most serious threat to bee colonies in Europe?"  # gamma.txt, unchanged from A to B
ACCORD = "When was the Harbour Accord signed?"
FERRY = "When does the Danube ferry run in winter?"  # only in state B's new file
FERRY_FACT = "The Danube ferry runs every hour in summer and every two hours in winter.\n\n"


def assert_valid(answer: Answer, docs: Path) -> None:
    """A refusal is only the refusal sentence; otherwise every citation is the exact text of an
    indexed file at its offsets, and every marker in the text names one of them."""
    if answer.refused:
        assert answer.text == REFUSAL and answer.citations == []
        return
    assert answer.citations, answer
    for c in answer.citations:
        assert verify(c, (docs / c.file).read_text(encoding="utf-8")), c
    used = {n for m in MARKER.finditer(answer.text) for n in marker_numbers(m)}
    assert used <= set(range(1, len(answer.citations) + 1)), answer.text


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    return {**env, **extra}


def rag(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env or clean_env(), timeout=600, **kw)


# ---- kill -9 during `rag index` ---------------------------------------------------------------

# Runs `rag index` in a child that SIGKILLs itself at one exact point of the write.
SELF_KILL = r"""
import os, signal, sys
import rag.store as store
from rag.cli import main

point, docs, persist = sys.argv[1:4]
store._ADD_BATCH = 2  # several upserts, so that the child can die between two of them
calls = 0
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
add, commit = store.Store.add, store.Store.commit

def patched_add(self, *args):
    if point == "between upsert batches":
        upsert = self.collection.upsert
        def counted(**kw):
            global calls
            upsert(**kw)
            calls += 1
            if calls == 2:
                die()
        self.collection.upsert = counted
    add(self, *args)
    if point == "after add, before commit":
        die()

def patched_commit(self, *args, **kw):
    commit(self, *args, **kw)
    if point == "after commit, before deletes":
        die()

store.Store.add, store.Store.commit = patched_add, patched_commit
sys.exit(main(["index", "--docs", docs, "--persist", persist]))
"""

PROGRESS = re.compile(rb"embedding:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")


def write_state(docs: Path, state: str, big: bool) -> None:
    """State A is tests/data/small; B changes alpha.txt, removes beta.md and adds delta.txt
    (some 30 chunks when big, so that embedding it takes seconds; a few otherwise)."""
    if docs.exists():
        shutil.rmtree(docs)
    shutil.copytree(ROOT / "tests" / "data" / "small", docs)
    if state == "B":
        alpha = docs / "alpha.txt"
        alpha.write_text(alpha.read_text(encoding="utf-8").replace("twelve euros", "fifteen euros"), encoding="utf-8")
        (docs / "beta.md").unlink()
        seeds = ["000_c138998a30d41faa.txt", "001_73f464f2a544a250.txt"] if big else ["002_502a978e92ca49eb.txt"]
        text = FERRY_FACT + "\n\n".join((SEEDS / s).read_text(encoding="utf-8") for s in seeds)
        (docs / "delta.txt").write_text(text, encoding="utf-8")


State = tuple[dict[str, str], list[tuple[str, str, int, int, str]]]


def expected_state(docs: Path, settings: Settings | None = None) -> State:
    """The file hashes and chunks an index of docs holds when it is complete."""
    settings = settings or Settings()
    found, skipped = load_folder(docs)
    assert not skipped
    chunks = [c for d in found for c in chunk_document(d, settings.chunk_tokens, settings.chunk_overlap)]
    return {d.file: d.sha256 for d in found}, sorted((c.id, c.file, c.start, c.end, c.text) for c in chunks)


def held_state(settings: Settings) -> tuple[dict[str, str], list[tuple[str, str, int, int, str]]]:
    index = Index.open(settings)
    assert index.store.manifest() is not None
    manifest = {f: v[0] for f, v in (index.store.manifest() or {}).items()}
    assert manifest == index.hashes  # the manifest records which files, and which bytes, it holds
    return index.hashes, sorted((c.id, c.file, c.start, c.end, c.text) for c in index.chunks)


def kill_from_outside(docs: Path, persist: Path, when: str, **env: str) -> tuple[int, int]:
    """Run `python -m rag index` and SIGKILL it "mid-embedding" (as soon as its progress shows
    0 < done < total) or "mid-write" (as soon as the database changes after embedding began).
    Returns the last progress seen, (done, total)."""
    proc = subprocess.Popen([sys.executable, "-m", "rag", "index", "--docs", str(docs), "--persist", str(persist)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=clean_env(**env))
    assert proc.stderr is not None
    seen = b""
    progress: list[tuple[int, int]] = []
    while not progress or (when == "mid-embedding" and not 0 < progress[-1][0] < progress[-1][1]):
        data = os.read(proc.stderr.fileno(), 4096)
        if not data:
            break  # it ended: the assertion below says how
        seen = (seen + data)[-4096:]
        progress = [(int(a), int(b)) for a, b in PROGRESS.findall(seen)]
    if when == "mid-write":  # the collection exists by now: wait for the first write to it
        db = persist / "chroma.sqlite3"
        before = (db.stat().st_mtime_ns, db.stat().st_size)
        deadline = time.monotonic() + 120
        while (db.stat().st_mtime_ns, db.stat().st_size) == before and proc.poll() is None:
            if any(persist.glob("chroma.sqlite3-*")) or time.monotonic() > deadline:  # a journal: writing
                break
            time.sleep(0.0005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, seen[-500:])
    return progress[-1]


@pytest.fixture()
def states(tmp_path: Path) -> Iterator[Callable[[bool], tuple[Path, Settings, Any, Any]]]:
    """An index of state A in docs/, then docs/ rewritten to state B; with the expected A and B."""

    def make(big: bool) -> tuple[Path, Settings, Any, Any]:
        docs = tmp_path / "docs"
        write_state(docs, "A", big)
        a = expected_state(docs)
        settings = Settings(docs_dir=str(docs), persist_dir=str(tmp_path / "idx"))
        Index.build(settings)
        write_state(docs, "B", big)
        return docs, settings, a, expected_state(docs)

    yield make


def assert_completes_to_b(settings: Settings, b: Any, docs: Path, via_cli: bool) -> None:
    """The next `rag index` finishes the job: exactly state B, nothing left over, B answers."""
    if via_cli:
        r = rag("index", "--docs", str(docs), "--persist", settings.persist_dir)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    else:
        Index.build(settings)
    assert held_state(settings) == b
    index = Index.open(settings)
    assert index.store.count() == len(index.chunks)  # no uncommitted or superseded chunk is left
    answer = index.ask(FERRY)
    assert_valid(answer, docs)
    assert [c.file for c in answer.citations] == ["delta.txt"]
    fee = index.ask("What fee per container did the Harbour Accord set?")
    assert_valid(fee, docs)
    assert "fifteen euros" in fee.text and "twelve" not in fee.text


def test_kill_9_mid_embedding_keeps_the_previous_state(states: Callable[..., Any]) -> None:
    docs, settings, a, b = states(big=True)
    done, total = kill_from_outside(docs, settings.persist_path, "mid-embedding")
    assert 0 < done < total >= 20
    assert held_state(settings) == a
    answer = Index.open(settings).ask(BEES)  # an unchanged file is still cited
    assert_valid(answer, docs)
    assert [c.file for c in answer.citations] == ["gamma.txt"]
    assert_completes_to_b(settings, b, docs, via_cli=False)


def test_kill_9_mid_embedding_after_a_chunking_change_keeps_the_old_chunks(tmp_path: Path) -> None:
    """`rag index` with new chunk sizes re-chunks every file; killed while it embeds, the index
    still holds the old chunks, and the next run with the new sizes completes the change."""
    docs = tmp_path / "docs"
    write_state(docs, "B", big=True)
    old = Settings(docs_dir=str(docs), persist_dir=str(tmp_path / "idx"))
    new = old.replace(chunk_tokens=60, chunk_overlap=10)
    Index.build(old)
    before = expected_state(docs, old)
    done, total = kill_from_outside(docs, old.persist_path, "mid-embedding", RAG_CHUNK_TOKENS="60",
                                    RAG_CHUNK_OVERLAP="10")
    assert 0 < done < total
    assert held_state(old) == before
    assert_valid(Index.open(old).ask(FERRY), docs)
    Index.build(new)
    assert held_state(new) == expected_state(docs, new) != before
    index = Index.open(new)
    assert index.store.count() == len(index.chunks)  # the old chunks and the killed run's are gone
    answer = index.ask(FERRY)
    assert_valid(answer, docs)
    assert [c.file for c in answer.citations] == ["delta.txt"]


def test_kill_9_mid_write_leaves_the_previous_or_the_new_state(states: Callable[..., Any]) -> None:
    docs, settings, a, b = states(big=False)
    kill_from_outside(docs, settings.persist_path, "mid-write")
    assert held_state(settings) in (a, b)
    assert_completes_to_b(settings, b, docs, via_cli=False)


@pytest.mark.parametrize(("point", "expected"), [
    ("between upsert batches", "A"),
    ("after add, before commit", "A"),
    ("after commit, before deletes", "B"),
])
def test_kill_9_at_each_point_of_the_write_leaves_a_whole_state(
    states: Callable[..., Any], point: str, expected: str
) -> None:
    docs, settings, a, b = states(big=False)
    r = subprocess.run([sys.executable, "-c", SELF_KILL, point, str(docs), settings.persist_dir],
                       capture_output=True, text=True, cwd=ROOT, env=clean_env(), timeout=600)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert held_state(settings) == (a if expected == "A" else b)
    index = Index.open(settings)
    assert index.store.count() > len(index.chunks)  # the killed run's chunks are stored, but not shown
    answer = index.ask(BEES)
    assert_valid(answer, docs)
    assert [c.file for c in answer.citations] == ["gamma.txt"]
    assert_completes_to_b(settings, b, docs, via_cli=False)


def test_kill_9_of_the_first_build_is_no_index_until_the_next_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_state(docs, "B", big=True)
    b = expected_state(docs)
    settings = Settings(docs_dir=str(docs), persist_dir=str(tmp_path / "idx"))
    kill_from_outside(docs, settings.persist_path, "mid-embedding")
    assert (settings.persist_path / "chroma.sqlite3").exists()  # Chroma's files are there, half-written
    with pytest.raises(IndexNotFoundError, match="never completed.*run `rag index` again"):
        Index.open(settings)
    r = rag("ask", "--persist", settings.persist_dir, BEES)
    assert r.returncode == 1 and r.stderr.startswith("error: the index in ") and "never completed" in r.stderr
    assert_completes_to_b(settings, b, docs, via_cli=True)


# ---- a corrupted or read-only index folder ------------------------------------------------------


@pytest.fixture()
def built(small_corpus: Path, tmp_path: Path) -> tuple[Path, Settings]:
    """tests/data/small indexed, with a file of the user's in the index folder."""
    settings = Settings(docs_dir=str(small_corpus), persist_dir=str(tmp_path / "idx"))
    Index.build(settings)
    (settings.persist_path / "my notes.txt").write_text("not Chroma's: must survive a rebuild")
    return small_corpus, settings


def listing(folder: Path) -> dict[str, bytes | None]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def test_a_corrupted_index_is_a_clear_error_and_rebuild_recovers(built: tuple[Path, Settings]) -> None:
    docs, settings = built
    db = settings.persist_path / "chroma.sqlite3"
    garbage = os.urandom(db.stat().st_size)
    with open(db, "r+b") as f:  # garbage over the database, in place
        f.write(garbage)
    persist = str(settings.persist_path)

    with pytest.raises(IndexCorruptError) as info:
        Index.open(settings)
    assert persist in str(info.value) and "rag index --rebuild" in str(info.value)
    for args in (["ask", "--persist", persist, ACCORD], ["index", "--docs", str(docs), "--persist", persist]):
        r = rag(*args)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith(f"error: cannot open the index in {persist}") and "rag index --rebuild" in r.stderr

    r = rag("index", "--rebuild", "--docs", str(docs), "--persist", persist)
    assert r.returncode == 0, r.stderr
    assert "indexed 3 files" in r.stdout
    [aside] = settings.persist_path.glob(".corrupt-*")
    assert str(aside) in r.stderr  # the warning says where the damaged files went
    assert (aside / "chroma.sqlite3").read_bytes() == garbage  # moved, not deleted
    assert [p.name for p in aside.iterdir() if not p.is_dir()] == ["chroma.sqlite3"]  # and segment folders
    assert (settings.persist_path / "my notes.txt").read_text() == "not Chroma's: must survive a rebuild"
    index = Index.open(settings)
    assert index.files == ["alpha.txt", "beta.md", "gamma.txt"] and index.store.count() == len(index.chunks)
    answer = index.ask(ACCORD)
    assert_valid(answer, docs)
    assert [c.file for c in answer.citations] == ["alpha.txt"]


def test_a_truncated_index_is_a_clear_error_and_rebuild_recovers_in_process(built: tuple[Path, Settings]) -> None:
    docs, settings = built
    db = settings.persist_path / "chroma.sqlite3"
    os.truncate(db, db.stat().st_size // 3)
    with pytest.raises(IndexCorruptError, match=re.escape(str(settings.persist_path)) + ".*rag index --rebuild"):
        Index.open(settings)
    with pytest.raises(IndexCorruptError):
        Index.build(settings)  # an ordinary build does not touch a damaged index
    index = Index.build(settings, rebuild=True)
    assert index.files == ["alpha.txt", "beta.md", "gamma.txt"]
    assert_valid(Index.open(settings).ask(ACCORD), docs)


def _no_root_file_powers() -> None:  # pragma: no cover - runs in the child, before exec
    """Give up root's right to ignore file permissions (as capsh --drop does): the bounding set
    limits what the exec'd program gets back."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def as_plain_user(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m rag ...` bound by file permissions even when the tests run as root."""
    extra: dict[str, Any] = {"preexec_fn": _no_root_file_powers} if os.geteuid() == 0 else {}
    return rag(*args, env={**clean_env(), **env} if env else None, **extra)


def test_a_read_only_index_answers_from_a_private_copy_and_refuses_updates(
    built: tuple[Path, Settings], tmp_path: Path
) -> None:
    docs, settings = built
    persist = settings.persist_path
    paths = [persist, *persist.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(modes[p] & ~0o222)
    cache = tmp_path / "cache"
    try:
        try:
            probe = as_plain_user("index", "--docs", str(docs), "--persist", str(persist / "sub"))
        except subprocess.SubprocessError as exc:  # root without CAP_SETPCAP
            pytest.skip(f"cannot run a child bound by file permissions here: {exc}")
        if "cannot create the index folder" not in probe.stderr:
            pytest.skip(f"cannot make a folder read-only for a child process here: {probe.stderr[-300:]}")
        before = listing(persist)
        env = {"RAG_LOCAL_CACHE_DIR": str(cache)}
        # answering works: Chroma writes to a private copy, which says where it is
        r = as_plain_user("ask", "--json", "--persist", str(persist), ACCORD, env=env)
        assert r.returncode == 0, r.stderr
        assert f"the index in {persist} is read-only: answering from a private copy in {cache}" in r.stderr
        answer = json.loads(r.stdout)
        assert not answer["refused"] and answer["citations"]
        raw = {p.name: p.read_text(encoding="utf-8") for p in docs.iterdir() if p.is_file()}
        assert all(raw[c["file"]][c["start"]:c["end"]] == c["quote"] for c in answer["citations"])
        copies = list((cache / "read-only-indexes").iterdir())
        assert len(copies) == 1  # and asking again reuses it
        assert as_plain_user("ask", "--persist", str(persist), ACCORD, env=env).returncode == 0
        assert list((cache / "read-only-indexes").iterdir()) == copies
        # updating it does not work: a clear error with the fix
        for args in (["index", "--docs", str(docs), "--persist", str(persist)],
                     ["index", "--rebuild", "--docs", str(docs), "--persist", str(persist)]):
            r = as_plain_user(*args, env=env)
            assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
            assert r.stderr.startswith(f"error: cannot use the index in {persist}: expected a writable folder, "
                                       "found a read-only one")
            assert f"chmod -R u+w {persist}" in r.stderr and "--persist" in r.stderr
        assert listing(persist) == before  # not moved aside, not touched
    finally:
        for p in paths:
            p.chmod(modes[p])
    answer = Index.open(settings).ask(ACCORD)  # writable again: nothing was lost
    assert_valid(answer, docs)
    assert not answer.refused


# ---- the LLM endpoint fails ------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("faults")
    docs, persist = root / "docs", root / "idx"
    shutil.copytree(ROOT / "tests" / "data" / "small", docs)
    Index.build(Settings(docs_dir=str(docs), persist_dir=str(persist)))
    return docs, persist


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there any more


class EchoKeyServer:
    """An endpoint that fails with HTTP `status` and puts the Authorization header it got into its
    error message, as some proxies do: the key must still not reach the user."""

    def __init__(self, status: int = 400) -> None:
        def handler_factory(*args: Any) -> BaseHTTPRequestHandler:
            return _EchoHandler(status, *args)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_factory)  # type: ignore[arg-type]
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _EchoHandler(BaseHTTPRequestHandler):
    def __init__(self, status: int, *args: Any) -> None:
        self.status = status
        super().__init__(*args)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": {"message": f"key rejected: {self.headers.get('Authorization')}",
                                     "type": "invalid_request_error"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(params=["down", "slow", "garbage", "http 500", "echoes the key"])
def failing(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    """(kind, base URL, what the BackendError must say) of an endpoint that fails that way."""
    kind = request.param
    if kind == "down":
        yield kind, closed_port_url(), "cannot connect to"
        return
    if kind == "echoes the key":
        echo = EchoKeyServer(400)
        yield kind, echo.base_url, "answered HTTP 400"
        echo.close()
        return
    mode = {"slow": "sleep", "garbage": "garbage", "http 500": "status"}[kind]
    with FakeLLMServer(mode=mode, delay=5.0) as fake:
        said = {"slow": "did not answer within 0.5 s", "garbage": "not an OpenAI chat completion",
                "http 500": "answered HTTP 500"}[kind]
        yield kind, fake.base_url, said


def openai_settings(small_index: tuple[Path, Path], url: str, fallback: bool) -> Settings:
    docs, persist = small_index
    return Settings.from_env({"OPENAI_API_KEY": SECRET}, docs_dir=str(docs), persist_dir=str(persist),
                             generator="openai", openai_base_url=url, model="fake", request_timeout=0.5,
                             fallback_to_extractive=fallback)


def test_a_failing_endpoint_without_fallback_is_a_backend_error_naming_the_url(
    small_index: tuple[Path, Path], failing: tuple[str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    kind, url, said = failing
    index = Index.open(openai_settings(small_index, url, fallback=False))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(BackendError) as info:
            index.ask(ACCORD)
        with pytest.raises(BackendError):
            list(index.stream(ACCORD))
    message = str(info.value)
    assert url in message and said in message
    everything = "\n".join([message, repr(info.value), "".join(traceback.format_exception(info.value)),
                            caplog.text, repr(index.settings), *(repr(r.args) for r in caplog.records)])
    assert SECRET not in everything
    if kind == "echoes the key":
        assert "key rejected: Bearer ***" in message  # the server's words, without the key


def test_a_failing_endpoint_with_fallback_answers_extractively_and_says_so(
    small_index: tuple[Path, Path], failing: tuple[str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    kind, url, said = failing
    index = Index.open(openai_settings(small_index, url, fallback=True))
    with caplog.at_level(logging.DEBUG):
        answer = index.ask(ACCORD)
        *deltas, streamed = list(index.stream(ACCORD))
    extractive = index.ask(ACCORD, generator="extractive")
    for a in (answer, streamed):
        assert isinstance(a, Answer)
        assert a.generator == "extractive" and a.text == extractive.text and not a.refused
        assert a.notice and url in a.notice and said in a.notice and "extractive answer instead" in a.notice
        assert_valid(a, small_index[0])
    assert all(isinstance(d, str) for d in deltas) and "".join(deltas).strip()
    assert any("falling back to the extractive answer" in r.getMessage() for r in caplog.records)
    assert SECRET not in json.dumps(answer.to_dict()) + caplog.text


def test_the_cli_falls_back_or_fails_clearly_and_never_prints_the_key(small_index: tuple[Path, Path]) -> None:
    docs, persist = small_index
    echo, down = EchoKeyServer(500), closed_port_url()

    def ask(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        env = clean_env(OPENAI_API_KEY=SECRET, RAG_OPENAI_BASE_URL=url, RAG_MODEL="fake", RAG_REQUEST_TIMEOUT="2",
                        RAG_DOCS_DIR=str(docs), **env)
        return rag("-v", "ask", "--persist", str(persist), "--generator", "openai", *args, ACCORD, env=env)

    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            jobs = [pool.submit(ask, echo.base_url), pool.submit(ask, down, "--json"),
                    pool.submit(ask, echo.base_url, RAG_FALLBACK_TO_EXTRACTIVE="false")]
            fell_back, as_json, failed = (job.result() for job in jobs)
    finally:
        echo.close()
    assert fell_back.returncode == 0, fell_back.stderr
    assert "3 March 2019" in fell_back.stdout and "[1] alpha.txt:" in fell_back.stdout
    assert f"\nnote: {echo.base_url} answered HTTP 500 (key rejected: Bearer ***)" in fell_back.stdout
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["notice"].startswith(f"cannot connect to {down}")
    assert failed.returncode == 1 and failed.stdout == ""
    assert any(line.startswith(f"error: {echo.base_url} answered HTTP 500") for line in failed.stderr.splitlines())
    for r in (fell_back, as_json, failed):
        assert "Traceback" not in r.stderr
        assert SECRET not in r.stdout + r.stderr


def test_settings_never_show_the_key() -> None:
    settings = Settings.from_env({"OPENAI_API_KEY": SECRET, "RAG_UI_AUTH": "admin:hunter2"})
    assert settings.openai_api_key == SECRET
    for text in (repr(settings), str(settings), json.dumps(settings.redacted())):
        assert SECRET not in text and "hunter2" not in text


def test_the_private_copy_of_a_read_only_index_follows_the_index(built: tuple[Path, Settings], tmp_path: Path) -> None:
    from rag.store import private_copy

    _, settings = built
    settings = settings.replace(local_cache_dir=str(tmp_path / "cache"))
    first = private_copy(settings)
    assert private_copy(settings) == first  # one copy per state of the index
    assert (first / "chroma.sqlite3").read_bytes() == (settings.persist_path / "chroma.sqlite3").read_bytes()
    assert not (first / ".write.lock").exists()
    db = settings.persist_path / "chroma.sqlite3"
    st = db.stat()
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # the index was updated
    second = private_copy(settings)
    assert second != first and (second / "chroma.sqlite3").exists() and not first.exists()
