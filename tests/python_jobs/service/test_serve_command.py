"""`segments serve` as an operator starts it: a real process on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from python_jobs.service.auth import key_digest_entry

SEGMENTS = [sys.executable, "-m", "python_jobs"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_refuses_to_start_without_keys(duckdb_warehouse):
    environment = {k: v for k, v in os.environ.items() if k != "SEGMENTS_API_KEYS"}
    result = subprocess.run(
        [*SEGMENTS, "serve", "--port", str(free_port())], env=environment, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "$SEGMENTS_API_KEYS is empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_answers_on_its_port_and_holds_the_duckdb_file(duckdb_warehouse):
    port = free_port()
    environment = {
        **os.environ,
        "SEGMENTS_API_KEYS": key_digest_entry("cli-key"),
        "SEGMENTS_LOCK_TIMEOUT": "0",
    }
    server = subprocess.Popen(
        [*SEGMENTS, "serve", "--port", str(port)], env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the service stopped"
                assert time.monotonic() < deadline, "the service did not start in 30 s"
                time.sleep(0.1)
        assert health.json() == {"status": "ok", "warehouse": "local"}
        refused = httpx.get(f"http://127.0.0.1:{port}/segments/axes", timeout=5)
        assert refused.status_code == 401
        axes = httpx.get(
            f"http://127.0.0.1:{port}/segments/axes", headers={"Authorization": "Bearer cli-key"}, timeout=5
        )
        assert axes.status_code == 200
        # While it runs the service is the DuckDB file's writer: another writing command is told who holds it.
        build = subprocess.run(
            [*SEGMENTS, "generate", "--customers", "10"], env=environment, capture_output=True, text=True
        )
        assert build.returncode != 0
        assert "segments serve" in build.stderr
    finally:
        server.terminate()
        server.wait(timeout=20)
