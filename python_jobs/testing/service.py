"""The service on a real loopback port, for tests and benchmarks: uvicorn in a thread of this process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from python_jobs.service.app import create_app
from python_jobs.service.auth import parse_api_keys
from python_jobs.service.rate_limit import RateLimit
from python_jobs.warehouse.connection import Warehouse

TEST_API_KEY = "test-key-0123456789"
OTHER_API_KEY = "other-key-9876543210"


@dataclass
class RunningService:
    base_url: str
    api_key: str

    def client(self, key: str | None = "default", **options) -> httpx.Client:
        """An HTTP client of the service, sending `key` (the service's key by default; None sends none)."""
        key = self.api_key if key == "default" else key
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        return httpx.Client(base_url=self.base_url, headers=headers, **{"timeout": 30, **options})


@contextmanager
def running_service(
    warehouse: Warehouse,
    keys_setting: str | None = None,
    *,
    sse_ping_seconds: float = 15.0,
    rate_limit: RateLimit | None = None,
) -> Iterator[RunningService]:
    """Serve `warehouse` on 127.0.0.1 (a free port) until the block ends. `keys_setting` is what
    $SEGMENTS_API_KEYS would hold; by default the digest of TEST_API_KEY."""
    import hashlib

    keys_setting = keys_setting or "sha256:" + hashlib.sha256(TEST_API_KEY.encode()).hexdigest()
    app = create_app(
        warehouse, parse_api_keys(keys_setting), sse_ping_seconds=sse_ping_seconds, rate_limit=rate_limit
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="segments-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningService(f"http://127.0.0.1:{port}", TEST_API_KEY)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
