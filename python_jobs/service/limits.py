"""Caps every request meets before a route: the body's size (413) and a JSON body's nesting depth (400).

A route whose bodies are larger by nature (a customer's whole history for `POST /segments/assign`) has a cap of
its own, given by path.

A pure ASGI middleware: it reads the body as it arrives, stops at the cap without reading the rest, and hands
the route the same bytes it read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from python_jobs.service.errors import error_response

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def json_depth(body: bytes) -> int:
    """The deepest nesting of objects and arrays in a JSON text, without parsing it (so a hostile depth can
    never exhaust the parser's recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return deepest


class RequestLimits:
    def __init__(
        self,
        app: Callable,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_depth: int = MAX_JSON_DEPTH,
        body_caps_by_path: dict[str, int] | None = None,
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self.body_caps_by_path = body_caps_by_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        cap = self.body_caps_by_path.get(scope.get("path", ""), self.max_body_bytes)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await self._refuse(scope, receive, send, 413, self._too_large(cap))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await self._refuse(scope, receive, send, 413, self._too_large(cap))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > self.max_depth:
            detail = f"the JSON body is nested deeper than {self.max_depth} levels"
            await self._refuse(scope, receive, send, 400, detail)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(cap: int) -> str:
        return f"the request body is larger than {cap:,} bytes"

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        await error_response(status, detail, {"Connection": "close"})(scope, receive, send)
