"""A small HTTP/1.1 client for the benchmarks' paced loops: keep-alive connections on loopback, one request at a time
on each, nothing else.

On two cores the client shares the machine with the service and PostgreSQL, so every microsecond it spends is one
the service does not get. A general client (httpx) spends about as much time per request as the service does;
this one writes prebuilt header bytes and reads a status line, headers and a body of Content-Length (or chunked)
bytes, which is all a paced loop needs to know: the status, and when the whole response was in.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class HttpClientError(Exception):
    """The connection failed or the server answered something this client does not read."""


@dataclass(frozen=True)
class Response:
    status_code: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> object:
        return json.loads(self.body)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run the benchmark's coroutine on uvloop when it is installed (less of the client's time per request)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[Response, bool]:
        """Send one request, read its response; whether the connection may carry the next one."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HttpClientError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = await self._chunks()
        else:
            raise HttpClientError("a response with neither Content-Length nor chunked encoding")
        keep_alive = headers.get(b"connection", b"").lower() != b"close"
        return Response(int(parts[1]), body), keep_alive

    async def _chunks(self) -> bytes:
        chunks = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


class LoopbackClient:
    """Requests to one server over at most `connections` keep-alive connections, opened as needed; a request
    waits for a free connection. Use as `async with LoopbackClient(...) as client`."""

    def __init__(
        self, host: str, port: int, headers: dict[str, str], connections: int, timeout: float
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(connections)

    async def __aenter__(self) -> LoopbackClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    def _request_bytes(self, method: str, path: str, body: object) -> bytes:
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        content = f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n" if payload else ""
        head = f"{method} {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n{self._headers}{content}\r\n"
        return head.encode() + payload

    async def request(
        self,
        method: str,
        path: str,
        json: object = None,
        timeout: float | None = None,
    ) -> Response:
        request = self._request_bytes(method, path, json)
        limit = timeout or self.timeout
        async with self._slots:
            kept = self._idle.pop() if self._idle else None
            try:
                response = await self._exchange(kept, request, limit)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
                raise HttpClientError(f"{type(error).__name__}: {error}") from None
            except TimeoutError:
                raise HttpClientError(f"no response within {limit:g} s") from None
            return response

    async def _exchange(self, kept: _Connection | None, request: bytes, limit: float) -> Response:
        """The response on the kept connection, or on a new one when there is none or when the kept one gave no
        byte of a response (the server closed it while it sat idle, as uvicorn does past its keep-alive time).
        A connection that failed is closed; one that may carry the next request goes back to the idle ones."""
        connection = kept
        while True:
            if connection is None:
                connection = _Connection(*await asyncio.open_connection(self.host, self.port))
            try:
                response, keep_alive = await asyncio.wait_for(connection.exchange(request), limit)
            except BaseException as error:
                connection.close()
                no_response = isinstance(error, ConnectionError) or (
                    isinstance(error, asyncio.IncompleteReadError) and not error.partial
                )
                if connection is kept and no_response:
                    connection = None
                    continue
                raise
            if keep_alive:
                self._idle.append(connection)
            else:
                connection.close()
            return response

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)

    async def post(self, path: str, json: object = None, timeout: float | None = None) -> Response:
        return await self.request("POST", path, json, timeout)
