"""A real Chroma server on loopback for the server-mode tests (`chroma run`, started once).

Import the fixture into a test module (`from chroma_server import chroma_server`); every
module that does shares the one server of the session, stopped when the session ends.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

STARTUP_SECONDS = 90
_server: dict[str, str] = {}


def chroma_cli() -> Path:
    """The `chroma` console script installed next to this Python (chromadb ships it)."""
    return Path(sys.executable).with_name("chroma")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_heartbeat(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll the server's heartbeat until it answers; fail with its log if it dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`chroma run` exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"no heartbeat from {url} after {timeout:.0f} s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a `chroma run --path DIR --host 127.0.0.1 --port N` server for this session."""
    if "url" in _server:  # another module's fixture started it
        yield _server["url"]
        return
    cli = chroma_cli()
    if not cli.exists():
        pytest.fail(f"expected the chroma CLI at {cli} (installed with chromadb); reinstall the project")
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = data / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(cli), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_heartbeat(url, proc, log, STARTUP_SECONDS)
        _server["url"] = url
        yield url
    finally:
        _server.pop("url", None)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
