"""A tiny OpenAI-compatible chat-completions server on 127.0.0.1, for failure paths.

The real llama.cpp server (tests/llm_fixtures.py) cannot be told to fail on demand; this
one speaks the same HTTP protocol (POST /v1/chat/completions, JSON or server-sent events,
GET /v1/models) and can be told to:

    mode="ok"        answer the next of `replies`, then `reply` (streamed in small pieces
                     when the request asks for it)
    mode="status"    answer HTTP `status` (500 by default) with an OpenAI-style error body
    mode="sleep"     wait `delay` seconds before sending anything (past the client's timeout)
    mode="garbage"   answer 200 with a body that is not a chat completion
    mode="stall"     stream the first piece of `reply`, then wait `delay` seconds

Every request body is recorded in `requests`, so tests can check what the client sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

Mode = str  # "ok" | "status" | "sleep" | "garbage" | "stall"


class FakeLLMServer:
    """Serves in a daemon thread from construction until close()."""

    def __init__(self, reply: str = "Hello [1].", mode: Mode = "ok", status: int = 500,
                 delay: float = 5.0, replies: list[str] | None = None) -> None:
        self.reply = reply
        self.replies = list(replies or [])
        self.mode = mode
        self.status = status
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def next_reply(self) -> str:
        """The next queued reply, or `reply` when none is left."""
        return self.replies.pop(0) if self.replies else self.reply

    def wait(self, seconds: float) -> None:
        """Sleep, cut short when the server closes."""
        self._closing.wait(seconds)

    def close(self) -> None:
        """Stop serving and free the port."""
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def pieces(text: str) -> list[str]:
    """The reply cut as a tokenizer would stream it: words with their leading space, markers apart."""
    return re.findall(r"\s*\[|\d+\]|\s*[^\s\[]+", text) or [text]


def _handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                body = {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "test"}]}
                self._send(200, json.dumps(body).encode())
            else:
                self._send(404, b'{"error": {"message": "not found", "type": "not_found_error"}}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._send(400, b'{"error": {"message": "body is not JSON", "type": "invalid_request_error"}}')
                return
            server.requests.append(body)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, b'{"error": {"message": "unknown endpoint", "type": "not_found_error"}}')
                return
            mode = server.mode
            if mode == "sleep":
                server.wait(server.delay)
                mode = "ok"  # if the client is still there, answer
            if mode == "status":
                err = {"error": {"message": f"fake failure {server.status}", "type": "server_error",
                                 "code": server.status}}
                self._send(server.status, json.dumps(err).encode())
            elif mode == "garbage":
                if body.get("stream"):
                    self._send(200, b"data: {this is not json\n\n", "text/event-stream")
                else:
                    self._send(200, b"<html>definitely not a chat completion</html>", "text/html")
            elif body.get("stream"):
                self._stream(body, server.next_reply(), stall=mode == "stall")
            else:
                self._send(200, json.dumps(_completion(body, server.next_reply())).encode())

        def _stream(self, body: dict[str, Any], reply: str, stall: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            created = int(time.time())

            def event(delta: dict[str, Any], finish: str | None) -> None:
                chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
                         "model": body.get("model", "fake"),
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            try:
                event({"role": "assistant", "content": ""}, None)
                for i, piece in enumerate(pieces(reply)):
                    event({"content": piece}, None)
                    if stall and i == 0:
                        server.wait(server.delay)
                event({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to answer
            self.close_connection = True

    return Handler


def _completion(body: dict[str, Any], reply: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
