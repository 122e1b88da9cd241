"""`FakeMessagesAPI`: a local stand-in for the Anthropic Messages API, for tests and benchmarks.

The SDK 2.x talks through httpx2, which HTTP-mocking libraries such as respx cannot intercept, so tests run the
real SDK against a real HTTP server on 127.0.0.1 instead. That also exercises what a mock would skip: the SDK's
retries and `retry-after` handling, its timeouts, its error classes and its parsing of the reply.

    with FakeMessagesAPI() as api:
        api.enqueue(FakeReply.rate_limited(retry_after="1"), FakeReply(text='{"ok": true}'))
        config = LLMConfig(provider="anthropic", base_url=api.base_url)
        ...
        assert api.request_count == 2

Replies come from the queue of scripted one-off replies first, then from `responder(request_json)`. Like API
version 2026-10-21 (the one the SDK sends), sampling parameters (temperature, top_p, top_k) are refused with a
400, so a client that sends them fails here as it would in production.

Structured outputs: a request's `output_config.format` is checked as the API checks it (`type: json_schema`, a
schema whose objects are all closed with `additionalProperties: false`); with `require_output_schema=True` a
request without one is refused, so a job that forgets to send its answer schema fails here. Responders read
the schema sent with `output_schema_of(request_json)` and answer for it (its `title` names the answer model).
Only used by tests; nothing in the jobs imports it.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REFUSED_SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class FakeReply:
    """One scripted reply. For errors (status >= 400) `body` is sent as it is (dict as JSON, str raw);
    without one, an Anthropic-shaped error body is made up. `delay_seconds` adds to the server's own delay."""

    status: int = 200
    text: str = ""
    stop_reason: str = "end_turn"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    body: Any = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> FakeReply:
        """A 200 whose text is `value` as JSON."""
        return cls(text=json.dumps(value), **kwargs)

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FakeReply:
        """An error with an Anthropic-shaped body: {"type": "error", "error": {"type", "message"}}."""
        body = {
            "type": "error",
            "error": {"type": error_type or _ERROR_TYPES.get(status, "api_error"), "message": message},
        }
        return cls(status=status, body=body, headers=dict(headers or {}))

    @classmethod
    def rate_limited(
        cls,
        message: str = "Number of request tokens has exceeded your per-minute rate limit.",
        *,
        retry_after: str | None = "0",
        retry_after_ms: str | None = None,
    ) -> FakeReply:
        """A 429 rate_limit_error, with retry-after (seconds) and/or retry-after-ms headers."""
        headers = {}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        return cls.error(429, message, error_type="rate_limit_error", headers=headers)


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it: headers with lower-case names, and the parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    received_at: float

    @property
    def output_schema(self) -> dict[str, Any] | None:
        """The JSON schema sent as `output_config.format`, or None."""
        return output_schema_of(self.json) if isinstance(self.json, dict) else None


Responder = Callable[[dict[str, Any]], FakeReply]


def _no_responder(request_json: dict[str, Any]) -> FakeReply:
    # A 400 rather than a 500, so the SDK does not retry a test's scripting mistake.
    return FakeReply.error(400, "FakeMessagesAPI: no scripted reply left and no responder set")


class FakeMessagesAPI:
    """A threaded HTTP server implementing POST /v1/messages on a free port of 127.0.0.1.

    Thread-safe: concurrent requests are served in parallel (one thread per connection), and it tracks how many
    are in flight at once (`max_in_flight`), so tests can check a client's concurrency limit.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        delay_seconds: float = 0.0,
        require_output_schema: bool = False,
    ) -> None:
        self.responder: Responder = responder or _no_responder
        self.delay_seconds = delay_seconds
        self.require_output_schema = require_output_schema
        self._lock = threading.Lock()
        self._queue: collections.deque[FakeReply] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeMessagesAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> FakeMessagesAPI:
        """Listen on 127.0.0.1 at a port the OS picks, and serve in a background thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        # A short poll interval makes stop() quick: shutdown() waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-messages-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed replies still waiting are cut short."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def base_url(self) -> str:
        """What to pass as the SDK's (or LLMConfig's) base_url."""
        if self._server is None:
            raise RuntimeError("FakeMessagesAPI is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def enqueue(self, *replies: FakeReply) -> None:
        """Script the next replies, used once each in order before the responder is consulted."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order of arrival (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests being handled at the same moment so far."""
        with self._lock:
            return self._max_in_flight

    def reset(self) -> None:
        """Forget recorded requests, counters and scripted replies."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._max_in_flight = self._in_flight

    def _begin(self, recorded: RecordedRequest) -> int:
        """Record a request as in flight; returns its 1-based number."""
        with self._lock:
            self._requests.append(recorded)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return len(self._requests)

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _next_reply(self, request_json: dict[str, Any]) -> FakeReply:
        with self._lock:
            scripted = self._queue.popleft() if self._queue else None
        return scripted if scripted is not None else self.responder(request_json)

    def _reply_for(self, recorded: RecordedRequest, number: int) -> tuple[int, dict[str, str], bytes, float]:
        """(status, headers, body, delay) for one request: validation first, then the script."""
        reply = (
            _request_problem(recorded)
            or _output_format_problem(recorded.json, required=self.require_output_schema)
            or self._next_reply(recorded.json)
        )
        status = reply.status
        headers = {
            "content-type": "application/json",
            "request-id": f"req_fake_{number:06d}",
            **reply.headers,
        }
        if status >= 400:
            body = reply.body if reply.body is not None else FakeReply.error(status, "fake error").body
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        else:
            payload = json.dumps(_message(recorded.json, reply, number)).encode()
        return status, headers, payload, self.delay_seconds + reply.delay_seconds

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


def _request_problem(recorded: RecordedRequest) -> FakeReply | None:
    """The error the real API would give for a malformed request, or None when it is acceptable."""
    headers, body = recorded.headers, recorded.json
    if recorded.method != "POST" or recorded.path.split("?")[0].rstrip("/") != "/v1/messages":
        return FakeReply.error(404, f"Not found: {recorded.method} {recorded.path}")
    if not headers.get("x-api-key") and not headers.get("authorization", "").startswith("Bearer "):
        return FakeReply.error(401, "missing credentials: send x-api-key or Authorization: Bearer")
    if not isinstance(body, dict):
        return FakeReply.error(400, "request body must be a JSON object")
    problems = []
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model: Field required")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        problems.append("max_tokens: Field required (a positive integer)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        problems.append("messages: Field required (a non-empty list)")
    elif not all(
        isinstance(m, dict) and m.get("role") in ("user", "assistant") and "content" in m for m in messages
    ):
        problems.append("messages: each message needs a role (user|assistant) and content")
    if "system" in body and not isinstance(body["system"], str | list):
        problems.append("system: Input should be a valid string or list of text blocks")
    problems.extend(
        f"{name}: Extra inputs are not permitted" for name in REFUSED_SAMPLING_PARAMETERS if name in body
    )
    if problems:
        return FakeReply.error(400, "; ".join(problems))
    return None


def output_schema_of(request_json: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a Messages API request body asks the answer to follow, or None."""
    output_config = request_json.get("output_config")
    if not isinstance(output_config, dict) or not isinstance(output_config.get("format"), dict):
        return None
    schema = output_config["format"].get("schema")
    return schema if isinstance(schema, dict) else None


def _output_format_problem(body: Any, *, required: bool) -> FakeReply | None:
    """The 400 the API gives for a malformed structured-output format (or, when required, a missing one)."""
    if not isinstance(body, dict):
        return None
    output_format = (
        (body.get("output_config") or {}).get("format")
        if isinstance(body.get("output_config"), dict)
        else None
    )
    if output_format is None:
        if required:
            return FakeReply.error(400, "output_config.format: a JSON schema is required by this server")
        return None
    if not isinstance(output_format, dict) or output_format.get("type") != "json_schema":
        return FakeReply.error(400, "output_config.format.type: Input should be 'json_schema'")
    schema = output_format.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return FakeReply.error(400, "output_config.format.schema: the root must be an object schema")
    open_objects = sorted(_open_objects(schema, "schema"))
    if open_objects:
        return FakeReply.error(
            400,
            "output_config.format.schema: additionalProperties must be false for every object "
            f"({', '.join(open_objects[:3])})",
        )
    return None


def _open_objects(schema: Any, where: str) -> list[str]:
    """Paths of the object schemas in `schema` that do not say `additionalProperties: false`."""
    found: list[str] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
            found.append(where)
        for key, value in schema.items():
            found.extend(_open_objects(value, f"{where}.{key}"))
    elif isinstance(schema, list):
        for number, value in enumerate(schema):
            found.extend(_open_objects(value, f"{where}[{number}]"))
    return found


def _message(request_json: dict[str, Any], reply: FakeReply, number: int) -> dict[str, Any]:
    """An Anthropic Message for a 200 reply, with usage estimated at ~4 characters a token unless scripted."""
    prompt_chars = len(json.dumps(request_json.get("messages", []))) + len(
        json.dumps(request_json.get("system", ""))
    )
    return {
        "id": f"msg_fake_{number:06d}",
        "type": "message",
        "role": "assistant",
        "model": request_json.get("model", "fake-model"),
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": reply.input_tokens
            if reply.input_tokens is not None
            else max(1, prompt_chars // 4),
            "output_tokens": reply.output_tokens
            if reply.output_tokens is not None
            else max(1, len(reply.text) // 4),
        },
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without this, Nagle's algorithm meeting delayed ACKs adds ~40 ms to every answer and skews the benchmark.
    disable_nagle_algorithm = True
    server_version = "FakeMessagesAPI/1"

    def do_POST(self) -> None:  # http.server dispatches on do_<METHOD>
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log; tests read `FakeMessagesAPI.requests` instead."""

    def _handle(self) -> None:
        fake: FakeMessagesAPI = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        recorded = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            json=parsed,
            received_at=time.monotonic(),
        )
        number = fake._begin(recorded)
        try:
            status, headers, payload, delay = fake._reply_for(recorded, number)
            fake._wait(delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            # The client gave up (its timeout fired) while we were delaying; that is what such tests want.
            self.close_connection = True
        finally:
            fake._end()
