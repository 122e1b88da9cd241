"""`segments serve` as an operator starts it: a real process on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

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
        health = _health_once_started(server, port, seconds=30)
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


def test_several_workers_are_refused_on_duckdb(duckdb_warehouse):
    environment = {**os.environ, "SEGMENTS_API_KEYS": key_digest_entry("cli-key")}
    result = subprocess.run(
        [*SEGMENTS, "serve", "--port", str(free_port()), "--workers", "2"],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "--workers 2: the 'local' target is duckdb, which admits one writing process" in result.stderr
    assert "Traceback" not in result.stderr


def test_spark_is_refused_with_what_to_serve_instead(tmp_path):
    environment = {
        **os.environ,
        "SEGMENTS_API_KEYS": key_digest_entry("cli-key"),
        "SEGMENTS_SPARK_WAREHOUSE": str(tmp_path / "spark"),
    }
    result = subprocess.run(
        [*SEGMENTS, "serve", "--port", str(free_port()), "--target", "spark"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,  # a service that started would answer until stopped
    )
    assert result.returncode == 1
    assert "the HTTP service serves DuckDB or PostgreSQL, not Spark" in result.stderr
    assert "--target postgres" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "spark").exists()  # refused before any Spark session starts


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    return children


@pytest.mark.postgres
def test_two_workers_on_postgres_share_the_port_and_answer(built_postgres):
    port = free_port()
    environment = {
        **os.environ,
        **built_postgres.environment,
        "SEGMENTS_API_KEYS": key_digest_entry("cli-key"),
    }
    server = subprocess.Popen(
        [
            *SEGMENTS,
            "serve",
            "--port",
            str(port),
            "--target",
            "postgres",
            "--workers",
            "2",
            "--no-access-log",
        ],
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _health_once_started(server, port, seconds=60)
        with built_postgres.warehouse.session(read_only=True) as session:
            ids = [
                row[0]
                for row in session.fetchall(
                    "select customer_id from marts.customer_segments order by 1 limit 20"
                )
            ]
        headers = {"Authorization": "Bearer cli-key"}
        # Each request on a new connection, so the kernel spreads them over both workers' accepts.
        answers = [httpx.get(f"{base}/segments/customer/{i}", headers=headers, timeout=10) for i in ids]
        assert [answer.status_code for answer in answers] == [200] * len(ids)
        assert [answer.json()["customer_id"] for answer in answers] == ids
        # The first worker may answer while the second is still starting on a busy machine.
        deadline = time.monotonic() + 30
        while len(_workers(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_workers(server.pid)) == 2
    finally:
        server.terminate()
        server.wait(timeout=30)


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _workers(pid: int) -> list[int]:
    return [child for child in _children(pid) if "--multiprocessing-fork" in _command_line(child)]


def test_a_service_stopped_while_it_compiles_leaves_no_compile_running_nor_its_folder(
    duckdb_warehouse, tmp_path
):
    """`segments serve` compiles the assign feature models in the background (dbt, seconds); stopped at once,
    it takes that dbt process down with it and removes its half-made folder."""
    port = free_port()
    environment = {
        **os.environ,
        "SEGMENTS_API_KEYS": key_digest_entry("cli-key"),
        "SEGMENTS_DBT_DIR": str(tmp_path / "dbt"),  # nothing compiled yet: the service starts a compile
    }
    server = subprocess.Popen(
        [*SEGMENTS, "serve", "--port", str(port)], env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        _health_once_started(server, port, seconds=30)
        # Answering, and still compiling (a compile takes seconds).
        assert any("compile" in _command_line(child) for child in _children(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=20)
    time.sleep(0.5)

    still_compiling = [
        pid for pid in os.listdir("/proc") if pid.isdigit() and str(tmp_path) in _command_line(int(pid))
    ]
    assert still_compiling == []
    chain_folders = tmp_path / "dbt" / "target" / "feature_chain"
    assert not chain_folders.exists() or list(chain_folders.iterdir()) == []


def _health_once_started(server: subprocess.Popen, port: int, seconds: float) -> httpx.Response:
    """`GET /health` of the service `server` starts on `port`, as soon as it answers (within `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
        except httpx.TransportError:
            assert server.poll() is None, "the service stopped"
            assert time.monotonic() < deadline, f"the service did not start in {seconds:g} s"
            time.sleep(0.05)
