"""`segments bench-api`: the HTTP service's latencies, measured by a real HTTP client on loopback.

One scratch PostgreSQL database (`segments_bench_api` unless named otherwise, dropped afterwards) is generated and
built with the real `segments` commands, then served by `segments serve` in a process of its own, so the client
(this process) and the server never share an interpreter. Three measurements:

1. `POST /experiments/{id}/allocate` at a fixed rate for a fixed time, a new visitor each request (the costly
   case: each is recorded in raw.experiment_assignments);
2. `GET /segments/customer/{id}` at the same rate over the population of `--customers`. A full build of a million
   customers takes far longer than the measurement, so a smaller warehouse is built (`--build-customers`) and the
   tables the endpoint reads (marts.customer_segments and marts.customer_profiles) are then filled up to
   `--customers` with copies of the built rows under fresh ids (`<id>-copy<n>`). The endpoint reads one row of each
   by its unique index, so its cost depends on the table's size, not on how the rows were made; the report says
   which rows are copies;
3. `--subscribers` SSE clients on one product segmentation run (its LLM calls answered by the fake Messages API
   after `--llm-delay` seconds, so the run lasts long enough for every subscriber to join it running): how many
   saw the final event, and how long after the first of them.

The request loops are open: request i is sent at start + i / rate whatever the earlier ones are doing (so a slow
response cannot hide the ones queued behind it), and each latency is timed from the moment its request was due.
Both loops end after `--duration` seconds; the run ends when the last response or stream has come in.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from python_jobs.bench.http_client import HttpClientError, LoopbackClient
from python_jobs.bench.http_client import run as run_client
from python_jobs.bench.scratch import postgres_admin
from python_jobs.warehouse.connection import Warehouse, quote_identifier

BENCH_DATABASE = "segments_bench_api"
# The budgets of the issue, in milliseconds at the 99th percentile.
ALLOCATE_P99_BUDGET_MS = 10.0
LOOKUP_P99_BUDGET_MS = 20.0
# Connections the client keeps open: enough that a slow response never holds back the next request's send.
CLIENT_CONNECTIONS = 64
# A request not sent this long after it was due is counted as failed instead (the loop ends in bounded time).
MAX_QUEUE_SECONDS = 5.0
# Customer ids the lookup draws from (at random, with replacement).
LOOKUP_ID_POOL = 20_000
# The tables GET /segments/customer/{id} reads one row of, filled up to the population asked for.
LOOKUP_TABLES = ("marts.customer_segments", "marts.customer_profiles")
_WARM_EVENT = {"event_id": "warm", "event_type": "page_view", "occurred_at": "2024-01-01T00:00:00Z"}


@dataclass
class Latencies:
    """One paced loop's outcome."""

    name: str
    rate: float
    seconds: float
    millis: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    # From the first request's due time to the last response: what the service answered per second.
    wall_seconds: float = 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.millis)
        return (
            ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]
            if ordered
            else float("nan")
        )

    @property
    def answered_per_second(self) -> float:
        return len(self.millis) / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.millis) if self.millis else float("nan")

    def line(self, budget_ms: float) -> str:
        verdict = "within" if self.percentile(0.99) < budget_ms else "OVER"
        failed = sum(self.failures.values())
        failures = "" if not failed else f"; {failed:,} failed {dict(sorted(self.failures.items()))}"
        return (
            f"  {self.name:<34} {len(self.millis):>7,} ok at {self.rate:,.0f}/s for {self.seconds:.0f}s: "
            f"median {self.median:.2f} ms, p99 {self.percentile(0.99):.2f} ms, max {max(self.millis, default=0):.1f} ms"
            f" ({verdict} the {budget_ms:.0f} ms budget); answered {self.answered_per_second:,.0f}/s{failures}"
        )


@dataclass
class StreamResult:
    subscribers: int
    saw_final: int = 0
    final_events: dict[str, int] = field(default_factory=dict)
    stream_seconds: float = 0.0
    # Per subscriber that saw it: seconds from the first subscriber's final event to theirs.
    lag_millis: list[float] = field(default_factory=list)

    def line(self) -> str:
        ordered = sorted(self.lag_millis)
        p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)] if ordered else float("nan")
        median = statistics.median(ordered) if ordered else float("nan")
        return (
            f"  SSE /product-segmentation/{{run}}/stream: {self.saw_final}/{self.subscribers} subscribers saw the "
            f"final event {dict(sorted(self.final_events.items()))}; streams open {self.stream_seconds:.1f}s; "
            f"final event delivered after the first subscriber's: median {median:.1f} ms, p99 {p99:.1f} ms"
        )


# ------------------------------------------------------------------------------------------------ the loops
async def paced_requests(
    client: LoopbackClient,
    name: str,
    rate: float,
    seconds: float,
    request: Callable[[int], tuple[str, str, dict | None]],
) -> Latencies:
    """Send request(i) at start + i / rate for `seconds`, each on its own task; their latencies.

    At most CLIENT_CONNECTIONS requests are in flight; the others wait their turn here (an HTTP client's own
    pool slows down with the number of requests queued in it), and one still waiting MAX_QUEUE_SECONDS after
    it was due is given up as `not sent`, so a server that falls behind cannot keep the loop running long
    after its duration. Times are read from time.perf_counter (uvloop's own clock counts whole milliseconds)."""
    result = Latencies(name, rate, seconds)
    total = max(1, int(rate * seconds))
    in_flight = asyncio.Semaphore(CLIENT_CONNECTIONS)
    start = time.perf_counter() + 0.05

    def failed(reason: str) -> None:
        result.failures[reason] = result.failures.get(reason, 0) + 1

    async def one(index: int, due: float) -> None:
        method, path, body = request(index)
        async with in_flight:
            if time.perf_counter() - due > MAX_QUEUE_SECONDS:
                failed(f"not sent within {MAX_QUEUE_SECONDS:.0f}s")
                return
            try:
                response = await client.request(method, path, json=body)
            except HttpClientError as error:
                failed(str(error).split(":")[0])
                return
        if response.status_code >= 300:
            failed(str(response.status_code))
            return
        result.millis.append((time.perf_counter() - due) * 1000)

    tasks = []
    with client_collector_held():
        for index in range(total):
            due = start + index / rate
            # Always yield to the loop, even when behind, so responses are read while requests are being sent.
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(index, due)))
        await asyncio.gather(*tasks)
    result.wall_seconds = time.perf_counter() - start
    return result


@contextlib.contextmanager
def client_collector_held() -> Iterator[None]:
    """No garbage collection in this client while a loop measures: a full collection of this process took up
    to 75 ms here, and every request in flight then would have been charged with it. Collected once before the
    loop; the collector is set back after it."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def subscribe_all(
    base_url: str, headers: dict[str, str], run_id: str, subscribers: int
) -> StreamResult:
    """`subscribers` clients reading the run's stream at once, each to its end."""
    import httpx

    result = StreamResult(subscribers)
    finals: list[float] = []

    async def subscriber(client: httpx.AsyncClient) -> None:
        event = None
        async with client.stream("GET", f"/product-segmentation/{run_id}/stream") as response:
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                    if event in ("done", "failed"):
                        finals.append(time.perf_counter())
                        result.final_events[event] = result.final_events.get(event, 0) + 1

    limits = httpx.Limits(max_connections=subscribers + 4)
    timeout = httpx.Timeout(600.0, connect=30.0)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=timeout
    ) as client:
        outcomes = await asyncio.gather(
            *(subscriber(client) for _ in range(subscribers)), return_exceptions=True
        )
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    if failed:
        result.final_events[f"error: {type(failed[0]).__name__}"] = len(failed)
    result.saw_final = len(finals)
    if finals:
        first = min(finals)
        result.lag_millis = [(moment - first) * 1000 for moment in finals]
    return result


# ------------------------------------------------------------------------------------------------- the setup
def _segments(args: list[str], environment: dict[str, str]) -> None:
    command = [sys.executable, "-m", "python_jobs", *args]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise RuntimeError(f"`segments {' '.join(args)}` failed:\n{tail}")


def fill_lookup_tables(warehouse: Warehouse, customers: int) -> tuple[int, int]:
    """Fill the tables the customer lookup reads up to `customers` rows with copies of the built rows under
    fresh ids (the same ids in each table); the built and the total count."""
    with warehouse.session() as session:
        (built,) = session.fetchone("select count(*) from marts.customer_segments")
        missing = max(0, customers - built)
        copies = -(-missing // built)
        for table in LOOKUP_TABLES:
            schema, name = table.split(".")
            columns = session.column_names(schema, name)
            select = ", ".join(
                "customer_id || '-copy' || cast(copy_number as varchar)"
                if c == "customer_id"
                else quote_identifier(c)
                for c in columns
            )
            if missing:
                session.execute(
                    f"insert into {table} ({', '.join(quote_identifier(c) for c in columns)}) "
                    f"select {select} from {table} cross join generate_series(1, ?) as copies(copy_number) "
                    "order by copy_number, customer_id limit ?",
                    [copies, missing],
                )
            session.execute(f"analyze {table}")
        (total,) = session.fetchone("select count(*) from marts.customer_segments")
    return built, total


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(environment: dict[str, str], echo: Callable[[str], None], workers: int = 1) -> Iterator[str]:
    """`segments serve --target postgres --workers N --no-access-log` in processes of its own; its base URL once
    /health answers."""
    import httpx

    port = _free_port()
    command = [
        *(sys.executable, "-m", "python_jobs", "serve", "--port", str(port), "--target", "postgres"),
        *("--workers", str(workers), "--no-access-log"),
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("`segments serve` did not start:\n" + log.read().decode()[-2000:])
                time.sleep(0.2)
            echo(f"  serving on {base_url} (pid {process.pid})")
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -------------------------------------------------------------------------------------------------- the bench
@dataclass
class BenchOptions:
    duration: float = 30.0
    rate: float = 500.0
    customers: int = 1_000_000
    build_customers: int = 3_000
    subscribers: int = 200
    products: int = 40
    llm_delay: float = 0.3
    database: str = BENCH_DATABASE
    workers: int = 2


@dataclass
class BenchResult:
    options: BenchOptions
    built_customers: int = 0
    lookup_customers: int = 0
    allocate: Latencies | None = None
    lookup: Latencies | None = None
    stream: StreamResult | None = None
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def report(self) -> str:
        o = self.options
        copied = self.lookup_customers - self.built_customers
        lines = [
            "",
            f"segments bench-api: the service on loopback (PostgreSQL, `segments serve --workers {o.workers} "
            f"--no-access-log` beside this client), {os.cpu_count()} CPUs, load average "
            f"{self.load_before[0]:.2f} before and {self.load_after[0]:.2f} after",
            f"  population: {self.built_customers:,} customers built, filled up to {self.lookup_customers:,} in "
            f"{' and '.join(LOOKUP_TABLES)} with {copied:,} copies of built rows under fresh ids",
        ]
        if self.allocate is not None:
            lines.append(self.allocate.line(ALLOCATE_P99_BUDGET_MS))
        if self.lookup is not None:
            lines.append(self.lookup.line(LOOKUP_P99_BUDGET_MS))
        if self.stream is not None:
            lines.append(self.stream.line())
        lines.append(
            f"  (latencies from the moment each request was due, paced at {o.rate:,.0f}/s for {o.duration:.0f}s)"
        )
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        """Every request answered and every subscriber saw the final event (the budgets are reported, not
        enforced: a loaded machine may miss them)."""
        loops = [loop for loop in (self.allocate, self.lookup) if loop is not None]
        return all(not loop.failures and loop.millis for loop in loops) and (
            self.stream is None or self.stream.saw_final == self.stream.subscribers
        )


def run_bench(options: BenchOptions, echo: Callable[[str], None] = print) -> BenchResult:
    """Build the scratch warehouse, serve it, measure; the database is dropped whatever happens."""
    result = BenchResult(options, load_before=os.getloadavg())
    api_key = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="segments-bench-api-") as scratch:
        environment = {
            **os.environ,
            "PGDATABASE": options.database,
            "SEGMENTS_DBT_DIR": str(Path(scratch) / "dbt"),
            "SEGMENTS_LLM_ARCHIVE": str(Path(scratch) / "llm"),
            "SEGMENTS_API_KEYS": "sha256:" + hashlib.sha256(api_key.encode()).hexdigest(),
        }
        environment.pop("SEGMENTS_API_KEYS_FILE", None)
        database = quote_identifier(options.database)
        postgres_admin(f"drop database if exists {database} with (force)", f"create database {database}")
        try:
            _measure(options, result, environment, api_key, echo)
        finally:
            postgres_admin(f"drop database if exists {database} with (force)")
    result.load_after = os.getloadavg()
    return result


def _measure(
    options: BenchOptions, result: BenchResult, environment: dict[str, str], api_key: str, echo: Callable
) -> None:
    import random

    from python_jobs.bench.products import BENCH_CATEGORY, generate_products
    from python_jobs.testing.fake_messages_api import FakeMessagesAPI
    from python_jobs.testing.product_responders import paced_offline_responder

    echo(
        f"  generating and building {options.build_customers:,} customers on PostgreSQL ({options.database})…"
    )
    sizes = ["--customers", str(options.build_customers), "--seed", "42", "--target", "postgres"]
    _segments(["generate", *sizes, "--experiment-scale", "0.05"], environment)
    _segments(["build", "--target", "postgres"], environment)
    previous = os.environ.get("PGDATABASE")
    os.environ["PGDATABASE"] = options.database
    try:
        warehouse = Warehouse.from_profile("postgres")
        echo(f"  filling the lookup tables up to {options.customers:,} customers…")
        result.built_customers, result.lookup_customers = fill_lookup_tables(warehouse, options.customers)
        with warehouse.session() as session:
            session.replace_table("raw", "products", generate_products(options.products))
            (experiment_id,) = session.fetchone(
                "select trim(experiment_id) from raw.experiments where trim(lower(experiment_status)) = 'running' "
                "order by experiment_id limit 1"
            )
            ids = [
                row[0]
                for row in session.fetchall(
                    "select customer_id from marts.customer_segments order by random() limit ?",
                    [LOOKUP_ID_POOL],
                )
            ]
    finally:
        if previous is None:
            os.environ.pop("PGDATABASE", None)
        else:
            os.environ["PGDATABASE"] = previous
    headers = {"Authorization": f"Bearer {api_key}"}
    draw = random.Random(42)
    with FakeMessagesAPI(paced_offline_responder(options.llm_delay), require_output_schema=True) as llm:
        served_environment = {
            **environment,
            "ANTHROPIC_API_KEY": "sk-bench-not-a-real-key",
            "ANTHROPIC_BASE_URL": llm.base_url,
        }
        with served(served_environment, echo, options.workers) as base_url:

            async def loops() -> None:
                port = int(base_url.rsplit(":", 1)[1])
                async with LoopbackClient(
                    "127.0.0.1", port, headers, connections=CLIENT_CONNECTIONS, timeout=10
                ) as client:
                    # A few unmeasured requests first, so the connections and the server's caches are warm; the
                    # first assign waits for the service to have compiled its feature models (seconds of CPU that
                    # would otherwise fall inside the measured loops).
                    warm = await client.post(
                        "/segments/assign", json={"web_events": [_WARM_EVENT]}, timeout=600
                    )
                    if warm.status_code != 200:
                        raise RuntimeError(f"POST /segments/assign answered {warm.status_code}: {warm.text}")
                    for index in range(20):
                        await client.get(f"/segments/customer/{ids[index]}")
                        await client.post(
                            f"/experiments/{experiment_id}/allocate",
                            json={"visitor_id": f"warm-{index}", "channel": "web", "context": {}},
                        )
                    echo(f"  POST /experiments/{experiment_id}/allocate at {options.rate:,.0f}/s…")
                    result.allocate = await paced_requests(
                        client,
                        "POST /experiments/{id}/allocate",
                        options.rate,
                        options.duration,
                        lambda i: (
                            "POST",
                            f"/experiments/{experiment_id}/allocate",
                            {
                                "visitor_id": f"bench-{i}",
                                "channel": "web",
                                "context": {"utm_source": "bench"},
                            },
                        ),
                    )
                    echo(f"  GET /segments/customer/{{id}} at {options.rate:,.0f}/s…")
                    result.lookup = await paced_requests(
                        client,
                        "GET /segments/customer/{id}",
                        options.rate,
                        options.duration,
                        lambda _i: ("GET", f"/segments/customer/{draw.choice(ids)}", None),
                    )
                    started = await client.post(
                        "/product-segmentation",
                        json={"product_category": BENCH_CATEGORY, "product_ids": "all"},
                    )
                    if started.status_code != 202:
                        raise RuntimeError(
                            f"POST /product-segmentation answered {started.status_code}: {started.text}"
                        )
                    run_id = started.json()["run_id"]
                echo(f"  {options.subscribers} subscribers on run {run_id}…")
                began = time.perf_counter()
                result.stream = await subscribe_all(base_url, headers, run_id, options.subscribers)
                result.stream.stream_seconds = time.perf_counter() - began

            run_client(loops())
