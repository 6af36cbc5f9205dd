"""Helpers for the UI tests and tests/ui_screenshot.py: run app.py, drive headless Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> float:
    """Seconds until url answers 200; fails with the app's log if it exits or times out."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.perf_counter() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not up after {timeout} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def run_app(docs: Path, persist: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, float]]:
    """Start `python app.py` on a free loopback port; yield (url, seconds to HTTP 200)."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    clean.update(env or {})
    cmd = [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port),
           "--docs", str(docs), "--persist", str(persist)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=clean, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            yield url, wait_http_ok(url, proc, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def chromium(profile: Path, width: int = 1440, height: int = 900) -> Iterator[Any]:
    """A headless Chromium context (Debian's /usr/bin/chromium) with a fresh profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context
        finally:
            context.close()


def ask(page: Any, question: str, timeout: float = 120_000) -> Any:
    """Type a question, press Enter, wait for the new turn to finish; return its answer element."""
    before = page.locator("#rg-chat .rg-turn").count()
    box = page.locator("#rg-question textarea")
    box.fill(question)
    box.press("Enter")
    turn = page.locator("#rg-chat .rg-turn").nth(before)
    answer = turn.locator(".rg-a.rg-done, .rg-a.rg-refused, .rg-a.rg-error, .rg-a.rg-stopped")
    answer.wait_for(timeout=timeout)
    return answer


def collapse(text: str) -> str:
    """Whitespace runs as one space."""
    return " ".join(text.split())
