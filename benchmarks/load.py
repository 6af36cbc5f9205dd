"""Load: N users ask questions about the seeds for T seconds while the app re-indexes.

    python -m benchmarks.load [--users 20] [--seconds 60] [--rebuild] [--url URL --docs DIR] [--auth U:P]

Without --url it starts app.py on a free loopback port over a temporary copy of seeds/ (the
index is built once into benchmarks/.cache/load-index and copied). Each user is a thread
with its own gradio_client Client calling /ask with questions from evals/gold.jsonl in turn.
Meanwhile one more thread drives the Corpus tab's Re-index event over HTTP as the page does
(UISession): add a probe document, re-index, ask about it (the new index must be swapped in),
delete it, re-index, ask again (it must be gone), and so on; --rebuild makes the first
re-index a rebuild from scratch, which re-embeds every chunk while the users keep asking.
Every citation is checked against the file: quote == text[start:end]. Traffic goes only to
127.0.0.1; the run stops by itself (a deadline, a timeout per request, a cap on requests).
Prints a table and writes benchmarks/results/load.json.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # gradio_client reports home unless this says no
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import contextlib
import http.cookiejar
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator, Sequence

from benchmarks.common import RESULTS, ROOT, SEEDS, machine, percentiles, write_json

CACHE_INDEX = ROOT / "benchmarks" / ".cache" / "load-index"
GOLD = ROOT / "evals" / "gold.jsonl"
PROBE_NAME = "zz-load-probe.md"
PROBE_TEXT = ("# Load probe\n\nThe Zorblat accord on river shipping was signed in Quillonville on "
              "3 March 1911 by nine mayors.\n")
PROBE_QUESTION = "Where was the Zorblat accord on river shipping signed?"
Auth = tuple[str, str] | None


class UISession:
    """One browser-like session of the app over plain HTTP: call the page's own events.

    The page's events (Re-index, a citation click, an upload) are private to the UI: no
    gradio_client endpoint, but anyone can post to /gradio_api/queue/join as the page does,
    which is what this does (and what the hardening tests attack through).
    """

    def __init__(self, url: str, auth: Auth = None, timeout: float = 60) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        if auth:
            form = urllib.parse.urlencode({"username": auth[0], "password": auth[1]}).encode()
            self.opener.open(self.url + "/login", form, timeout=timeout).close()
        self.session_hash = uuid.uuid4().hex[:12]
        with self.opener.open(self.url + "/config", timeout=timeout) as r:
            self.config = json.load(r)
        self.fns = {d["api_name"]: i for i, d in enumerate(self.config["dependencies"])}

    def run(self, api_name: str, data: list[Any], event_data: Any = None, timeout: float | None = None) -> list[dict[str, Any]]:
        """Every message of one event, up to its last (process_completed or an error)."""
        fn = self.fns[api_name]
        targets = self.config["dependencies"][fn]["targets"]
        body = {"data": data, "event_data": event_data, "fn_index": fn, "session_hash": self.session_hash,
                "trigger_id": targets[0][0] if targets else None}
        req = urllib.request.Request(self.url + "/gradio_api/queue/join", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with self.opener.open(req, timeout=self.timeout) as r:
            event_id = json.load(r)["event_id"]
        deadline = time.monotonic() + (timeout or self.timeout)
        messages: list[dict[str, Any]] = []
        url = f"{self.url}/gradio_api/queue/data?session_hash={self.session_hash}"
        with self.opener.open(url, timeout=timeout or self.timeout) as stream:
            for raw in stream:
                line = raw.decode("utf-8").strip()
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("event_id") in (None, event_id):
                        messages.append(msg)
                        if msg.get("msg") in ("process_completed", "unexpected_error", "close_stream"):
                            return messages
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{api_name} did not finish within {timeout or self.timeout} s")
        return messages

    def output(self, api_name: str, data: list[Any], event_data: Any = None, timeout: float | None = None) -> list[Any]:
        """The event's final outputs; RuntimeError with the app's message if it failed."""
        last = self.run(api_name, data, event_data, timeout)[-1]
        if last.get("msg") != "process_completed" or not last.get("success"):
            raise RuntimeError(f"{api_name} failed: {json.dumps(last)[:500]}")
        return list(last["output"]["data"])


def questions() -> list[str]:
    """The gold set's questions about the seeds (answerable and not)."""
    with GOLD.open(encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


def client(url: str, auth: Auth) -> Any:
    """A gradio_client Client of the app, telemetry off."""
    from gradio_client import Client

    return Client(url, auth=auth, verbose=False, analytics_enabled=False)


class Tally:
    """What the threads saw, under one lock."""

    def __init__(self, texts: dict[str, str], cap: int) -> None:
        self.lock = threading.Lock()
        self.texts, self.cap = texts, cap
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.requests = self.refused = self.citations = 0
        self.bad: list[dict[str, Any]] = []

    def take(self) -> bool:
        """Count one more request; False once the cap is reached."""
        with self.lock:
            self.requests += 1
            return self.requests <= self.cap

    def answer(self, seconds: float, answer: dict[str, Any]) -> None:
        """Record a user's answer and its latency, and check it."""
        with self.lock:
            self.latencies.append(seconds)
            self.refused += bool(answer["refused"])
        self.check(answer)

    def check(self, answer: dict[str, Any]) -> None:
        """Check each citation against its file: quote == text[start:end]."""
        with self.lock:
            for c in answer["citations"]:
                self.citations += 1
                text = self.texts.get(c["file"])
                if text is None or text[c["start"] : c["end"]] != c["quote"]:
                    self.bad.append(c)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what[:300])


def ask_loop(url: str, auth: Auth, user: int, users: int, qs: Sequence[str], deadline: float,
             timeout: float, tally: Tally) -> None:
    """One user: ask the next question as soon as the last is answered, until the deadline."""
    try:
        c = client(url, auth)
    except Exception as exc:
        tally.error(f"user {user} could not connect: {type(exc).__name__}: {exc}")
        return
    i = user
    try:
        while time.monotonic() < deadline and tally.take():
            q = qs[i % len(qs)]
            i += users
            t0 = time.perf_counter()
            job = c.submit(question=q, api_name="/ask")
            try:
                answer = job.result(timeout=timeout)
            except Exception as exc:
                job.cancel()
                tally.error(f"{q[:60]!r}: {type(exc).__name__}: {exc}")
                time.sleep(0.5)  # a failing server is not hammered
                continue
            tally.answer(time.perf_counter() - t0, answer)
    finally:
        c.close()


def reindex_loop(url: str, auth: Auth, docs: Path, deadline: float, rebuild: bool, tally: Tally,
                 log: list[dict[str, Any]]) -> None:
    """Add/remove the probe document and re-index through the UI until the deadline."""
    session = UISession(url, auth, timeout=900)
    asker = client(url, auth)
    probe = docs / PROBE_NAME
    try:
        while True:
            adding = not probe.exists()
            if adding:
                probe.write_text(PROBE_TEXT, encoding="utf-8")
            else:
                probe.unlink()
            t0 = time.perf_counter()
            try:
                status = str(session.output("reindex", [rebuild and not log], timeout=900)[0])
                ok = "Index updated" in status
                answer = asker.predict(question=PROBE_QUESTION, api_name="/ask")
                tally.check(answer)  # its citations too; the latencies are the users'
                cites_probe = any(c["file"] == PROBE_NAME for c in answer["citations"])
                swapped = cites_probe == adding
            except Exception as exc:
                status, ok, swapped = f"{type(exc).__name__}: {exc}", False, False
            log.append({"rebuild": rebuild and not log, "added" if adding else "removed": PROBE_NAME,
                        "seconds": round(time.perf_counter() - t0, 2), "ok": ok, "swapped_in": swapped})
            if not ok or not swapped:
                tally.error(f"re-index {len(log)} ({'add' if adding else 'remove'} probe): ok={ok} "
                            f"swapped_in={swapped}: {status[:200]}")
            if time.monotonic() >= deadline and not probe.exists():
                return
    finally:
        asker.close()


def run_load(url: str, docs: Path, users: int = 20, seconds: float = 60, rebuild: bool = False,
             auth: Auth = None, timeout: float = 120) -> dict[str, Any]:
    """Run the load and the re-indexing against a running app; the results as a dict."""
    qs = questions()
    texts = {p.name: p.read_text(encoding="utf-8") for p in docs.iterdir() if p.is_file()}
    texts[PROBE_NAME] = PROBE_TEXT
    tally = Tally(texts, cap=int(users * seconds * 5))  # 5 answers/s/user is far above this machine
    reindexes: list[dict[str, Any]] = []
    t0 = time.monotonic()
    deadline = t0 + seconds
    threads = [threading.Thread(target=ask_loop, args=(url, auth, u, users, qs, deadline, timeout, tally), daemon=True)
               for u in range(users)]
    threads.append(threading.Thread(target=reindex_loop, args=(url, auth, docs, deadline, rebuild, tally, reindexes),
                                    daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 900)
    wall = time.monotonic() - t0
    lat = percentiles(tally.latencies)
    return {
        "users": users, "seconds": seconds, "wall_seconds": round(wall, 1), "requests": tally.requests,
        "answers": len(tally.latencies), "refused": tally.refused, "errors": len(tally.errors),
        "error_samples": tally.errors[:10], "citations_checked": tally.citations, "citations_bad": len(tally.bad),
        "bad_samples": tally.bad[:5], "answers_per_second": round(len(tally.latencies) / seconds, 2),
        "latency_ms": {**lat, "max_ms": round(max(tally.latencies, default=0) * 1e3, 1)},
        "reindexes": reindexes, "unfinished_threads": sum(t.is_alive() for t in threads),
    }


def table(r: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    lat = r["latency_ms"]
    ok_reindex = sum(x["ok"] and x["swapped_in"] for x in r["reindexes"])
    rows = [
        ("users × seconds", f"{r['users']} × {r['seconds']:g} (wall {r['wall_seconds']} s)"),
        ("answers (refused)", f"{r['answers']} ({r['refused']})  {r['answers_per_second']}/s"),
        ("errors", str(r["errors"])),
        ("citations checked (bad)", f"{r['citations_checked']} ({r['citations_bad']})"),
        ("latency p50 / p95 / max", f"{lat.get('p50_ms', 0) / 1e3:.2f} / {lat.get('p95_ms', 0) / 1e3:.2f} / "
                                    f"{lat['max_ms'] / 1e3:.2f} s"),
        ("re-indexes ok (of)", f"{ok_reindex} ({len(r['reindexes'])}): "
         + ", ".join(f"{'rebuild+add' if x['rebuild'] else 'add' if 'added' in x else 'remove'} {x['seconds']} s"
                     for x in r["reindexes"])),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# ---- running the app --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(docs: Path, persist: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """app.py on a free loopback port until the block ends; yields its URL once it answers."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    cmd = [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port),
           "--docs", str(docs), "--persist", str(persist)]
    url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**clean, **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
        try:
            for _ in range(1200):
                if proc.poll() is not None:
                    raise RuntimeError(f"app.py exited with {proc.returncode}: {log.read_text()[-2000:]}")
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(url + "config", timeout=2).close()
                    break
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rebuild", action="store_true", help="make the first re-index a rebuild from scratch")
    ap.add_argument("--url", help="a running app (on 127.0.0.1) instead of starting one; needs --docs")
    ap.add_argument("--docs", type=Path, help="the running app's documents folder (the probe is added there)")
    ap.add_argument("--auth", help="user:password when the app has RAG_UI_AUTH")
    ap.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = ap.parse_args(argv)
    user, _, password = (args.auth or "").partition(":")
    auth: Auth = (user, password) if args.auth else None
    if args.url:
        if urllib.parse.urlparse(args.url).hostname not in ("127.0.0.1", "localhost") or not args.docs:
            ap.error("--url must be an app on 127.0.0.1 and needs --docs")
        result = run_load(args.url, args.docs, args.users, args.seconds, args.rebuild, auth)
    else:
        from rag import Index, Settings

        print(f"indexing the seeds into {CACHE_INDEX} (once; later runs only check) …", file=sys.stderr)
        Index.build(Settings(docs_dir=str(SEEDS), persist_dir=str(CACHE_INDEX)))
        with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
            docs, persist = Path(tmp) / "docs", Path(tmp) / "index"
            shutil.copytree(SEEDS, docs)
            shutil.copytree(CACHE_INDEX, persist)
            with serve(docs, persist, Path(tmp) / "app.log", {"RAG_UI_AUTH": args.auth or ""}) as url:
                result = run_load(url, docs, args.users, args.seconds, args.rebuild, auth)
    result["machine"] = machine()
    print(table(result))
    write_json(args.out, result)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if result["errors"] == 0 and result["citations_bad"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
