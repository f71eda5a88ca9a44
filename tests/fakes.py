"""A scripted OpenAI-compatible HTTP server for faults the real llama.cpp server never produces on demand
(429, 5xx, 401, 404, hangs, non-JSON bodies). Tests that use it say so in their name: `..._fake_server`.

    with FakeLLMServer([status(429), ok('{"a": 1}')]) as fake:
        settings = fake_settings(fake, tmp_path)
        ...
        assert len(fake.requests) == 2

Replies are consumed in order; the last one repeats for any further request. `fake.requests` holds every request
body received (parsed JSON), so tests can assert exactly what was sent and how often.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from notebooklm_clone.config import Settings


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a hung endpoint)


def ok(content: str, *, prompt_tokens: int = 11, completion_tokens: int = 7, cached_tokens: int | None = None,
       finish_reason: str = "stop", model: str = "fake-model") -> Reply:
    """A well-formed chat completion whose message content is `content`."""
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    body = {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": {"role": "assistant", "content": content}}],
        "usage": usage,
    }
    return Reply(200, json.dumps(body).encode(), {"content-type": "application/json"})


def status(code: int, message: str = "", *, headers: dict[str, str] | None = None,
           code_name: str | None = None) -> Reply:
    """An OpenAI-style error body with HTTP status `code`."""
    body = {"error": {"message": message or f"fake error {code}", "type": "fake", "code": code_name}}
    return Reply(code, json.dumps(body).encode(), {"content-type": "application/json", **(headers or {})})


def hang(seconds: float) -> Reply:
    """Answer only after `seconds` (longer than the client's timeout: a timeout)."""
    return Reply(200, ok("{}").body, {"content-type": "application/json"}, delay=seconds)


def not_json() -> Reply:
    """HTTP 200 with an HTML page: something that is not an OpenAI endpoint."""
    return Reply(200, b"<html><body>It works!</body></html>", {"content-type": "application/json"})


class FakeLLMServer:
    def __init__(self, replies: list[Reply], models: list[str] | None = None):
        if not replies:
            raise ValueError("FakeLLMServer needs at least one reply")
        self.replies = list(replies)
        self.models = models or ["fake-model"]
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _next_reply(self, body: dict) -> Reply:
        with self._lock:
            self.requests.append(body)
            index = min(len(self.requests), len(self.replies)) - 1
            return self.replies[index]

    def __enter__(self) -> "FakeLLMServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to tell it

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    data = {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "fake"}
                                                       for m in fake.models]}
                    self._send(Reply(200, json.dumps(data).encode(), {"content-type": "application/json"}))
                else:
                    self._send(status(404, "no such path"))

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                body["_path"] = self.path
                body["_authorization"] = self.headers.get("authorization", "")
                self._send(fake._next_reply(body))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def fake_settings(fake: FakeLLMServer | None, tmp_path, base_url: str | None = None, **llm) -> Settings:
    """Settings pointing at `fake` (or `base_url`) with fast retries and an estimate tokenizer (no tiktoken
    download); extra keyword arguments go into the llm section."""
    values = {"base_url": base_url or fake.base_url, "api_key": "sk-test", "model": "fake-model",
              "tokenizer": "fallback", "retry_base_delay": 0.01, "max_retries": 2, "repair_retries": 2,
              "timeout": 5.0, **llm}
    return Settings(llm=values, cache_dir=str(tmp_path / "cache"))
