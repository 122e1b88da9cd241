"""The benchmarks' HTTP/1.1 client against a real server on loopback (the standard library's, answering with a
fixed length, chunks, or a closed connection): statuses and bodies as sent, connections kept and reused, an idle
connection the server closed replaced, and a refused connection reported as the client's own error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from python_jobs.bench.http_client import HttpClientError, LoopbackClient


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: ClassVar[set[int]] = set()

    def log_message(self, *_args) -> None:
        pass

    def do_GET(self) -> None:
        _Handler.connections.add(self.client_address[1])
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"a":', b" 1}"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/close":
            self.send_response(503)
            self.send_header("Content-Length", "4")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"gone")
            self.close_connection = True
            return
        body = f"{self.path} {self.headers['x-probe']}".encode()
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        _Handler.connections.add(self.client_address[1])
        body = self.rfile.read(int(self.headers["Content-Length"]))
        reply = self.headers["Content-Type"].encode() + b" " + body
        self.send_response(201)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@contextmanager
def http_server() -> Iterator[ThreadingHTTPServer]:
    _Handler.connections = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _client(server: ThreadingHTTPServer, connections: int = 2) -> LoopbackClient:
    return LoopbackClient("127.0.0.1", server.server_address[1], {"x-probe": "p1"}, connections, timeout=5)


def test_statuses_bodies_and_one_kept_connection():
    async def exchange(port_server):
        async with _client(port_server, connections=1) as client:
            found = await client.get("/a/b")
            missing = await client.get("/missing")
            posted = await client.post("/p", json={"visitor_id": "v1", "context": {}})
            chunked = await client.get("/chunked")
        return found, missing, posted, chunked

    with http_server() as server:
        found, missing, posted, chunked = asyncio.run(exchange(server))
    assert (found.status_code, found.text) == (200, "/a/b p1")
    assert (missing.status_code, missing.text) == (404, "/missing p1")
    assert (posted.status_code, posted.text) == (201, 'application/json {"visitor_id":"v1","context":{}}')
    assert chunked.json() == {"a": 1}
    assert len(_Handler.connections) == 1  # four requests, one connection


def test_a_connection_the_server_closes_is_not_reused():
    async def exchange(server):
        async with _client(server, connections=1) as client:
            closed = await client.get("/close")
            after = await client.get("/after")
        return closed, after

    with http_server() as server:
        closed, after = asyncio.run(exchange(server))
    assert (closed.status_code, closed.text) == (503, "gone")
    assert after.text == "/after p1"
    assert len(_Handler.connections) == 2


def test_an_idle_connection_closed_by_the_server_is_replaced():
    async def exchange(server):
        async with _client(server, connections=1) as client:
            first = await client.get("/first")
            # The server drops every open connection, as uvicorn does past its keep-alive time.
            for connection in client._idle:
                connection.writer.transport.abort()
            await asyncio.sleep(0.05)
            second = await client.get("/second")
        return first, second

    with http_server() as server:
        first, second = asyncio.run(exchange(server))
    assert (first.text, second.text) == ("/first p1", "/second p1")


def test_a_refused_connection_is_the_clients_error():
    with http_server() as server:
        port = server.server_address[1]

    async def exchange():
        async with LoopbackClient("127.0.0.1", port, {}, 1, timeout=2) as client:
            await client.get("/")

    with pytest.raises(HttpClientError, match="ConnectionRefusedError"):
        asyncio.run(exchange())
