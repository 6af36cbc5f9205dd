"""Hardening of the web UI, each attack tried for real against app.py on 127.0.0.1.

Binding, login (RAG_UI_AUTH), path traversal through every route the UI accepts (citation
clicks, the file filter, uploads, Gradio's /file= route), upload limits, API keys kept out
of the page and the API, bad questions, and a full queue. The app runs as a subprocess; the
attacks go over raw HTTP (what any client can send), gradio_client and headless Chromium.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest

from benchmarks.load import UISession, client
from rag import serving
from rag.errors import ConfigError
from ui_app import CHROMIUM, ROOT, ask, chromium, free_port, wait_http_ok

SEEDS = ROOT / "seeds"
SECRET = "sk-test-SECRET"
QUESTION = "When did Aliyev and Putin sign the declaration on allied interaction, and where?"
FILE = "001_73f464f2a544a250.txt"  # a seed that answers QUESTION (003 does too)
MAX_BYTES = 300_000  # RAG_MAX_FILE_BYTES of the app: above every seed, so over-size uploads stay small
TRAVERSALS = ["../../etc/passwd", "/etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
              "....//....//etc/passwd", "..\\..\\etc\\passwd", "passwd-link.txt", "/proc/self/environ"]


# ---- a failing OpenAI-compatible endpoint --------------------------------------------


class FailingLLM:
    """An 'OpenAI' endpoint on 127.0.0.1 that fails: mode "echo" answers HTTP 500 with the
    request's Authorization header in the error (some proxies do), "drop" closes the
    connection unanswered, "hold" waits until release() and then echoes."""

    def __init__(self) -> None:
        self.mode = "echo"
        self.held = 0  # requests that waited in "hold"
        self.released = threading.Event()
        llm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if llm.mode == "drop":
                    self.close_connection = True
                    return
                if llm.mode == "hold":
                    llm.held += 1
                    llm.released.wait(30)
                body = json.dumps({"error": {"message": f"bad gateway for {self.headers.get('Authorization')}",
                                             "type": "server_error"}}).encode()
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- the app -------------------------------------------------------------------------


def start_app(docs: Path, persist: Path, log: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """app.py with no --host (its default) on a free port; (process, loopback URL)."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    cmd = [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--docs", str(docs), "--persist", str(persist)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**clean, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http_ok(url, proc, log)
    except Exception:
        stop_app(proc)
        raise
    return proc, url


def stop_app(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def app_module() -> Any:
    """app.py imported (for its constants)."""
    spec = importlib.util.spec_from_file_location("rag_app_constants", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def llm() -> Iterator[FailingLLM]:
    server = FailingLLM()
    yield server
    server.close()


@pytest.fixture(scope="module")
def app(seeds_index_dir: Path, tmp_path_factory: pytest.TempPathFactory, llm: FailingLLM) -> Iterator[dict[str, Any]]:
    """app.py as started with defaults (no --host), an API key set and a failing openai endpoint.

    GRADIO_SERVER_NAME=0.0.0.0 is set too: Gradio's own variable must not widen the binding."""
    tmp = tmp_path_factory.mktemp("hardening")
    docs, persist = tmp / "docs", tmp / "index"
    shutil.copytree(SEEDS, docs)
    shutil.copytree(seeds_index_dir, persist)
    (docs / "passwd-link.txt").symlink_to("/etc/passwd")  # a link out of the corpus: never indexed or shown
    env = {"OPENAI_API_KEY": SECRET, "RAG_OPENAI_BASE_URL": llm.base_url, "RAG_MAX_FILE_BYTES": str(MAX_BYTES),
           "GRADIO_SERVER_NAME": "0.0.0.0"}
    proc, url = start_app(docs, persist, tmp / "app.log", env)
    try:
        yield {"url": url, "port": int(url.rsplit(":", 1)[1].strip("/")), "docs": docs, "log": tmp / "app.log",
               "tmp": tmp}
    finally:
        stop_app(proc)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium")
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as ctx:
        yield ctx


@pytest.fixture()
def page(context: Any, app: dict[str, Any]) -> Iterator[Any]:
    page = context.new_page()
    page.goto(app["url"])
    page.locator("#rg-question textarea").wait_for(state="visible", timeout=120_000)
    yield page
    page.close()


def fetch(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
         target: str | None = None) -> tuple[int, str]:
    """(status, body) of one request; `target` is sent exactly as given (no normalising of ../)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request(method, target or "/", body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def call_api(url: str, data: list[Any]) -> tuple[str, Any]:
    """POST /gradio_api/call/ask as raw JSON (which can carry what gradio_client cannot encode,
    e.g. a lone surrogate); ("complete", answer) or ("error", message)."""
    status, text = fetch(url, "POST", json.dumps({"data": data}).encode(), {"Content-Type": "application/json"},
                        "/gradio_api/call/ask")
    assert status == 200, text
    event_id = json.loads(text)["event_id"]
    status, text = fetch(url, target=f"/gradio_api/call/ask/{event_id}")
    for block in text.split("\n\n"):  # server-sent events; heartbeats may come first
        lines = dict(line.split(": ", 1) for line in block.strip().splitlines() if ": " in line)
        if lines.get("event") in ("complete", "error"):
            payload = json.loads(lines["data"])
            if lines["event"] == "complete":
                return "complete", payload[0]
            return "error", payload.get("error") if isinstance(payload, dict) else payload
    raise AssertionError(f"no result in {text[:500]}")


# ---- binding ---------------------------------------------------------------------------


def non_loopback_addresses() -> list[tuple[int, str]]:
    """This machine's addresses other than loopback and IPv6 link-local, as (family, address)."""
    found = []
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family in (socket.AF_INET, socket.AF_INET6) and not serving.is_loopback(a.address.split("%")[0]):
                if not a.address.lower().startswith("fe80"):
                    found.append((int(a.family), a.address))
    return found


def connects(family: int, address: str, port: int) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(3)
        try:
            s.connect((address, port))
            return True
        except OSError:
            return False


def test_binds_loopback_only_by_default(app: dict[str, Any]) -> None:
    addresses = non_loopback_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback address to try")
    assert connects(socket.AF_INET, "127.0.0.1", app["port"])
    for family, address in addresses:
        with socket.socket(family, socket.SOCK_STREAM) as control:  # ours, on every interface
            control.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            control.listen()
            assert connects(family, address, control.getsockname()[1]), f"{address} cannot reach this machine"
        assert not connects(family, address, app["port"]), f"the app answers on {address}"


def test_ui_auth_settings_parse_pairs_and_files(tmp_path: Path) -> None:
    assert serving.parse_ui_auth("") is None
    assert serving.parse_ui_auth("ann:pw1, bob:p:w:2") == [("ann", "pw1"), ("bob", "p:w:2")]
    users = tmp_path / "users"
    users.write_text("# who may log in\nalice:wonder,land\n\n  bob:builder  \n", encoding="utf-8")
    assert serving.parse_ui_auth(str(users)) == [("alice", "wonder,land"), ("bob", "builder")]
    for bad, why in [("ann:", "entry 1"), (":pw", "entry 1"), ("ann:pw,carol", "entry 2"),
                     (str(tmp_path / "missing"), "there is no file")]:
        with pytest.raises(ConfigError, match=why) as err:
            serving.parse_ui_auth(bad)
        assert "pw" not in str(err.value).replace("password", "")  # no password quoted
    users.write_text("# nobody\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lists no user"):
        serving.parse_ui_auth(str(users))


# ---- login ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """app.py over tests/data/small with RAG_UI_AUTH naming a file of two users."""
    tmp = tmp_path_factory.mktemp("auth")
    docs = tmp / "docs"
    shutil.copytree(ROOT / "tests" / "data" / "small", docs)
    users = tmp / "users.txt"
    users.write_text("# user:password a line\nalice:wonder,land\nbob:builder\n", encoding="utf-8")
    proc, url = start_app(docs, tmp / "index", tmp / "app.log", {"RAG_UI_AUTH": str(users)})
    try:
        yield {"url": url, "docs": docs}
    finally:
        stop_app(proc)


def test_without_login_the_page_and_every_api_route_are_refused(auth_app: dict[str, Any], app: dict[str, Any]) -> None:
    status, page = fetch(app["url"])
    assert status == 200 and "rg-question" in page  # the control: without RAG_UI_AUTH the page has the app
    url = auth_app["url"]
    status, page = fetch(url)
    assert status == 200 and "rg-question" not in page and "Re-index" not in page  # the login form only
    join = json.dumps({"data": [QUESTION, 0, "", []], "fn_index": 0, "session_hash": "x"}).encode()
    refused = {
        "/config": ("GET", None), "/gradio_api/info": ("GET", None), "/gradio_api/openapi.json": ("GET", None),
        "/gradio_api/call/ask": ("POST", json.dumps({"data": [QUESTION]}).encode()),
        "/gradio_api/run/ask": ("POST", json.dumps({"data": [QUESTION]}).encode()),
        "/gradio_api/queue/join": ("POST", join), "/gradio_api/queue/data?session_hash=x": ("GET", None),
        "/gradio_api/upload": ("POST", b"--b\r\n"), f"/gradio_api/file={auth_app['docs'] / 'alpha.txt'}": ("GET", None),
    }
    for target, (method, body) in refused.items():
        status, text = fetch(url, method, body, {"Content-Type": "application/json"}, target)
        assert status in (401, 403), f"{method} {target} answered {status}: {text[:200]}"
    with pytest.raises(Exception):
        client(url, None).predict(question=QUESTION, api_name="/ask")
    with pytest.raises(ValueError, match="Could not login"):
        client(url, ("alice", "wonder"))
    with pytest.raises(urllib.error.HTTPError):
        UISession(url, ("bob", "wrong"))


@pytest.mark.browser
def test_with_login_the_api_and_the_page_work(auth_app: dict[str, Any], context: Any) -> None:
    c = client(auth_app["url"], ("alice", "wonder,land"))  # a password with a comma, from the file
    answer = c.predict(question="What does the alpha document say?", api_name="/ask")
    assert answer["citations"] or answer["refused"]
    c.close()
    assert UISession(auth_app["url"], ("bob", "builder")).config["components"]
    page = context.new_page()
    page.goto(auth_app["url"])
    page.locator("input[type=password]").wait_for(timeout=60_000)
    assert page.locator("#rg-question").count() == 0
    page.locator("input[type=text]").first.fill("bob")
    page.locator("input[type=password]").fill("builder")
    page.get_by_role("button", name="Login").click()
    page.locator("#rg-question textarea").wait_for(state="visible", timeout=60_000)
    done = ask(page, "What does the alpha document say?")
    assert "Traceback" not in done.inner_text()
    page.close()


# ---- path traversal ------------------------------------------------------------------


def test_citation_clicks_only_open_citations_of_the_conversation(app: dict[str, Any]) -> None:
    s = UISession(app["url"])
    chat = s.output("chat_turn", [QUESTION, None, "extractive", 5, []])[0]
    assert "rg-done" in chat and 'data-marker="1"' in chat
    opened = s.output("open_citation", [None, False], {"turn": 0, "marker": 1})[0]
    # the control: a real click opens the passage, in a seed file the answer cites
    mark = re.search(r'<mark[^>]*data-file="([^"]+)"', opened)
    assert mark and mark.group(1) in {p.name for p in SEEDS.iterdir()} and mark.group(1) in chat
    forged: list[Any] = [{"turn": t, "marker": 1} for t in TRAVERSALS] + [{"turn": 0, "marker": t} for t in TRAVERSALS]
    forged += [None, {}, {"file": "/etc/passwd", "start": 0, "end": 100}, {"turn": -1, "marker": 1},
               {"turn": 10**30, "marker": 1}, {"turn": "0x0", "marker": "1"}, {"turn": "²", "marker": 1},
               {"turn": 0.5, "marker": 1}, {"turn": [0], "marker": {"file": "/etc/passwd"}}]
    for event in forged:
        out = s.run("open_citation", [None, False], event)[-1]
        assert out["msg"] == "process_completed" and out["success"], (event, out)
        html = out["output"]["data"][0]
        assert "Click a citation" in html and "root:" not in html and "rg-error" not in html, (event, html[:300])
    log = app["log"].read_text(encoding="utf-8")
    assert "Traceback" not in log.split("ignored a citation click", 1)[-1]


def test_file_filter_accepts_only_indexed_files(app: dict[str, Any]) -> None:
    c = client(app["url"], None)
    only = c.predict(question=QUESTION, files=[FILE], api_name="/ask")
    assert only["citations"] and {x["file"] for x in only["citations"]} == {FILE}
    for name in [*TRAVERSALS, str(app["docs"] / FILE), f"{FILE}/../{FILE}"]:
        with pytest.raises(Exception, match="not an indexed file") as err:
            c.predict(question=QUESTION, files=[name], api_name="/ask")
        assert "root:" not in str(err.value)
    for files in ["001_73f464f2a544a250.txt", [1, 2], {"a": 1}]:  # not a list of names
        kind, msg = call_api(app["url"], [QUESTION, 0, "", files])
        assert kind == "error" and "list of file names" in msg, msg
    c.close()
    # the page's own event: Gradio checks the value against the dropdown's choices
    s = UISession(app["url"])
    for name in TRAVERSALS[:3]:
        last = s.run("chat_turn", [QUESTION, None, "extractive", 5, [name]])[-1]
        assert "root:" not in json.dumps(last) and not (last.get("success") and "rg-done" in json.dumps(last))


def test_file_route_serves_nothing_of_the_disk(app: dict[str, Any]) -> None:
    docs = app["docs"]
    targets = [f"/gradio_api/file={p}" for p in (
        "/etc/passwd", "../../../../../../etc/passwd", "..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "%2fetc%2fpasswd", "%252e%252e%252fetc%252fpasswd", "/proc/self/environ", docs / FILE,
        docs / "passwd-link.txt", f"{docs}/../../../../etc/passwd", f"{docs}/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "app.py", "/tmp/gradio/../../etc/passwd", "file:///etc/passwd",
    )]
    targets += ["/gradio_api/file/etc/passwd", "/file=/etc/passwd", "/static/../../../../etc/passwd",
                "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
                "/gradio_api/proxy=http://127.0.0.1:1/etc/passwd", "/theme.css/../../etc/passwd"]
    for target in targets:
        status, body = fetch(app["url"], target=target)
        assert status in (400, 403, 404), f"{target} answered {status}: {body[:200]}"
        assert "root:" not in body and SECRET not in body and "Aliyev" not in body, target


def test_uploads_cannot_name_files_off_the_upload_folder(app: dict[str, Any]) -> None:
    docs = app["docs"]
    before = sorted(p.name for p in docs.iterdir())
    s = UISession(app["url"])
    for path in ["/etc/passwd", "/tmp/gradio/../../etc/passwd", str(docs / FILE), str(docs / "passwd-link.txt")]:
        file_data = {"path": path, "orig_name": "notes.txt", "meta": {"_type": "gradio.FileData"}}
        last = s.run("upload", [[file_data]])[-1]
        assert not last.get("success"), (path, last)
    assert sorted(p.name for p in docs.iterdir()) == before


def multipart_upload(url: str, name: str, content: bytes) -> str:
    """POST a file to Gradio's /gradio_api/upload under exactly this name; its path on the server."""
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    status, text = fetch(url, "POST", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                        "/gradio_api/upload")
    assert status == 200, text
    return str(json.loads(text)[0])


def test_upload_names_stay_in_the_documents_folder(app: dict[str, Any]) -> None:
    docs, tmp = app["docs"], app["tmp"]
    outside = tmp / "outside.txt"
    (docs / "linked.txt").symlink_to(outside)  # a dangling link: writing through it would create outside.txt
    s = UISession(app["url"])
    text = b"Evil notes: the Quorbish treaty was signed in Vexford in 1703.\n"
    names = ["../evil.txt", "../../../../tmp/evil2.txt", "..\\..\\evil3.txt", "linked.txt",
             "<img src=x onerror=alert(1)>.txt"]
    uploaded = [{"path": multipart_upload(app["url"], n, text + n.encode()), "orig_name": n,
                 "meta": {"_type": "gradio.FileData"}} for n in names]
    status = s.output("upload", [uploaded], timeout=300)[0]
    assert "Index updated" in status and "<img" not in status, status
    assert not (tmp / "evil.txt").exists() and not Path("/tmp/evil2.txt").exists() and not outside.exists()
    assert not (docs.parent / "evil.txt").exists() and not (docs.parent / "evil3.txt").exists()
    added = sorted(p.name for p in docs.iterdir() if p.is_file() and p.read_bytes().startswith(b"Evil notes"))
    assert added == ["evil.txt", "evil2.txt", "evil3.txt", "img_src_x_onerror_alert_1.txt", "linked-2.txt"], added
    assert (docs / "linked.txt").is_symlink()


@pytest.mark.browser
def test_uploads_over_size_wrong_type_or_binary_are_rejected(page: Any, app: dict[str, Any]) -> None:
    docs = app["docs"]
    before = sorted(p.name for p in docs.iterdir())
    page.get_by_role("tab", name="Corpus").click()
    picker = page.locator("#rg-upload input[type=file]")
    picker.set_input_files([
        {"name": "photo.txt", "mimeType": "text/plain", "buffer": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10},
        {"name": "utf16.txt", "mimeType": "text/plain", "buffer": "Hello there\n".encode("utf-16")},
        {"name": "latin1.md", "mimeType": "text/markdown", "buffer": "Caf\xe9 cr\xe8me\n".encode("latin-1")},
        {"name": "empty.md", "mimeType": "text/markdown", "buffer": b""},
    ])
    status = page.locator("#rg-index-status .rg-warn")
    status.wait_for(timeout=60_000)
    text = status.inner_text()
    assert "Rejected photo.txt: binary data, not text" in text
    assert "Rejected utf16.txt: binary data" in text  # UTF-16 holds NUL bytes
    assert "Rejected latin1.md: not UTF-8 text (byte 0xe9 at offset 3)" in text
    assert "Rejected empty.md: the file is empty" in text
    # the page refuses these before sending them (Gradio checks file_types and max_file_size)
    picker.set_input_files([{"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ" + bytes(100)}])
    page.get_by_text("Invalid file type: tool.exe. Only .txt, .md, .pdf allowed.").wait_for(timeout=10_000)
    picker.set_input_files([{"name": "big.txt", "mimeType": "text/plain", "buffer": b"word " * (MAX_BYTES // 5 + 1000)}])
    page.get_by_text("exceed the maximum allowed size of 293.0 Kb").wait_for(timeout=10_000)
    assert "Traceback" not in page.content()
    # and the server refuses them from a client that skips the page's checks
    big = b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n\r\n"
    code, body = fetch(app["url"], "POST", big + b"x" * (MAX_BYTES + 10) + b"\r\n--b--\r\n",
                       {"Content-Type": "multipart/form-data; boundary=b"}, "/gradio_api/upload")
    assert code == 413, (code, body[:200])
    exe = {"path": multipart_upload(app["url"], "tool.exe", b"MZ" + bytes(100)), "orig_name": "tool.exe",
           "meta": {"_type": "gradio.FileData"}}
    last = UISession(app["url"]).run("upload", [[exe]])[-1]
    assert not last["success"] or "Rejected tool.exe: expected .txt, .md, .pdf, found .exe" in json.dumps(last)
    assert sorted(p.name for p in docs.iterdir()) == before


# ---- secrets -------------------------------------------------------------------------


def pick_openai(page: Any) -> None:
    page.locator("#rg-generator input").click()
    page.get_by_role("option", name="openai").click()


@pytest.mark.browser
def test_api_key_never_reaches_the_page_or_the_api(page: Any, app: dict[str, Any], llm: FailingLLM) -> None:
    url = llm.base_url
    for mode, expect in [("echo", f"{url} answered HTTP 500"), ("drop", f"cannot connect to {url}")]:
        llm.mode = mode
        pick_openai(page)
        answer = ask(page, QUESTION)
        notice = answer.inner_text()
        assert expect in notice and ("RAG_OPENAI_BASE_URL" in notice or "server" in notice), notice
        assert "showing the extractive answer instead" in notice
        assert SECRET not in page.content()
        got = client(app["url"], None).predict(question=QUESTION, generator="openai", api_name="/ask")
        assert expect in got["notice"] and SECRET not in json.dumps(got)
    llm.mode = "echo"
    for target in ("/config", "/gradio_api/info", "/gradio_api/openapi.json", "/"):
        status, body = fetch(app["url"], target=target)
        assert status == 200 and SECRET not in body, target
    assert SECRET not in app["log"].read_text(encoding="utf-8")


# ---- bad questions ---------------------------------------------------------------------


@pytest.mark.browser
def test_bad_questions_get_a_message_and_the_page_keeps_working(page: Any) -> None:
    long = ("Why? " * 25_000)[:102_399] + "?"
    answer = ask(page, long)
    text = answer.inner_text()
    assert "rg-error" in (answer.get_attribute("class") or "")
    assert "102,400 characters long; the limit is 4,000 (RAG_MAX_QUESTION_CHARS)" in text
    bubble = page.locator("#rg-chat .rg-turn").last.locator(".rg-q").inner_text()
    assert len(bubble) < 1000 and "(102,400 characters)" in bubble

    box = page.locator("#rg-question textarea")
    # LONE becomes a lone surrogate in the page (the way here would turn it into U+FFFD)
    for value, expect in [("\u0000\u0007\u001b\u200b", "question is empty"),
                          ("LONE\u202e\u0000 " + QUESTION + " \u200d🤖 e\u0301", "rg-done")]:
        before = page.locator("#rg-chat .rg-turn").count()
        box.evaluate("(el, v) => { el.value = v.replace('LONE', String.fromCharCode(0xD800));"
                     " el.dispatchEvent(new Event('input', {bubbles: true})); }", value)
        box.press("Enter")
        turn = page.locator("#rg-chat .rg-turn").nth(before).locator(".rg-a.rg-done, .rg-a.rg-refused, .rg-a.rg-error")
        turn.wait_for(timeout=120_000)
        assert expect in turn.inner_text() or expect in (turn.get_attribute("class") or ""), turn.inner_text()
    assert "Traceback" not in page.content()
    after = ask(page, QUESTION)
    assert "rg-done" in (after.get_attribute("class") or "")


def test_bad_questions_over_the_api_are_messages(app: dict[str, Any]) -> None:
    cases: list[tuple[Any, str]] = [
        ("", "question is empty"), ("   \n\t", "question is empty"), ("\u0000\u0001\u200b", "question is empty"),
        ("x" * 102_400, "the limit is 4,000"), (None, "expected the question as a str"),
        ({"q": 1}, "expected the question as a str"), (["a"], "expected the question as a str"),
    ]
    for question, expect in cases:
        kind, msg = call_api(app["url"], [question, 0, "", []])
        assert kind == "error" and expect in msg and "Traceback" not in msg, (repr(question)[:40], msg)
    kind, got = call_api(app["url"], ["\ud800\udfff\u202e " + QUESTION + " 🤖\u0000", 0, "", []])
    assert kind == "complete" and got["citations"] and got["question"].endswith("🤖"), got
    for k in [-5, 10**9, 2.5, "abc", True]:
        kind, msg = call_api(app["url"], [QUESTION, k, "", []])
        assert kind == "error" and "k must be a whole number of passages from 1 to 20" in msg, (k, msg)
    for generator in ["nope", "../../etc/passwd", ["openai"]]:
        kind, msg = call_api(app["url"], [QUESTION, 0, generator, []])
        assert kind == "error" and "unknown generator" in msg and "expected one of extractive" in msg, msg
    s = UISession(app["url"])  # the chat's own event: a lone surrogate used to break the reply
    last = s.run("chat_turn", ["\ud800<img src=x onerror=alert(1)> " + QUESTION, None, "extractive", 5, []])[-1]
    assert last["msg"] == "process_completed" and last["success"], last
    chat = last["output"]["data"][0]
    assert "rg-done" in chat and "<img" not in chat and "&lt;img src=x onerror=alert(1)&gt;" in chat


def test_a_full_queue_says_so_at_once(app: dict[str, Any], llm: FailingLLM) -> None:
    """With every answer slot busy (a stalled endpoint), the queue takes QUEUE_SIZE waiting
    events, then refuses more at once with "Queue is full"; afterwards the app answers again."""
    constants = app_module()
    c = client(app["url"], None)
    s = UISession(app["url"])
    llm.mode, llm.held = "hold", 0
    llm.released.clear()
    try:
        busy = [c.submit(question=QUESTION, generator="openai", api_name="/ask") for _ in range(constants.ANSWER_LIMIT)]
        t0 = time.monotonic()
        while llm.held < constants.ANSWER_LIMIT and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        assert llm.held == constants.ANSWER_LIMIT, "the answers did not reach the endpoint"
        join = json.dumps({"data": ["", 0, "", []], "fn_index": s.fns["ask"], "session_hash": s.session_hash})
        statuses = [fetch(app["url"], "POST", join.encode(), {"Content-Type": "application/json"},
                         "/gradio_api/queue/join") for _ in range(constants.QUEUE_SIZE + 5)]
    finally:
        llm.mode = "echo"
        llm.released.set()
    accepted = [b for code, b in statuses if code == 200]
    full = [b for code, b in statuses if code == 503]
    assert len(accepted) == constants.QUEUE_SIZE and len(full) == 5, [code for code, _ in statuses]
    assert all("Queue is full" in b for b in full), full[0]
    for job in busy:
        assert "answered HTTP 500" in job.result(timeout=120)["notice"]
    assert c.predict(question=QUESTION, api_name="/ask")["citations"]
    c.close()
