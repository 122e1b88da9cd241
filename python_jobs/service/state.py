"""The warehouse as the service holds it while it runs.

DuckDB allows one writing process per file, so on DuckDB the service is that process for as long as it runs: it
holds the writing lock of `python_jobs.warehouse.locks` (a `segments build` started meanwhile waits, then stops
naming `segments serve`), it opens every connection read-write so that reads and the writes of its own jobs
share one DuckDB instance (DuckDB isolates their transactions), and it keeps one connection open so that
instance is not closed and checkpointed between requests. Writes of the service are serialised by one mutex.

On PostgreSQL nothing is held: reads are read-only transactions, writes short transactions, and several
service processes may share one database. The service keeps its connections open in a pool (at most
POSTGRES_POOL_SIZE a process; a session beyond them waits for one): opening a connection costs more than the
primary-key reads most requests make.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from python_jobs.warehouse.connection import Session, Warehouse, WarehouseError
from python_jobs.warehouse.locks import duckdb_access, writing
from python_jobs.warehouse.postgres import postgres_session_on

SERVE_COMMAND = "segments serve"
# Connections a service process keeps to PostgreSQL: its request threads and its job workers share them.
POSTGRES_POOL_SIZE = 16


@dataclass
class ServiceWarehouse(Warehouse):
    """A Warehouse whose DuckDB sessions are all read-write connections of the one process that holds it."""

    write_mutex: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _idle: list[Any] = field(default_factory=list, repr=False, compare=False)
    _idle_mutex: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Tables the service's sessions found to exist, looked up once per process (`postgres_session_on`).
    _known_tables: set[tuple[str, str]] = field(default_factory=set, repr=False, compare=False)
    _slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(POSTGRES_POOL_SIZE), repr=False, compare=False
    )

    @classmethod
    def of(cls, warehouse: Warehouse) -> ServiceWarehouse:
        return cls(target=warehouse.target, settings=warehouse.settings)

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        if self.kind != "postgres":
            with super().session(read_only=read_only and self.kind != "duckdb") as session:
                yield session
            return
        import psycopg2

        with self._slots:
            with self._idle_mutex:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                try:
                    connection = self.postgres_connection()
                except psycopg2.OperationalError as error:
                    raise WarehouseError(f"cannot connect to {self.describe()}: {error}") from error
            reusable = False
            try:
                connection.set_session(readonly=read_only)
                with postgres_session_on(connection, self._known_tables) as session:
                    yield session
                reusable = True
            finally:
                # A connection whose session failed may be broken: it is closed rather than handed on.
                if reusable and not connection.closed:
                    with self._idle_mutex:
                        self._idle.append(connection)
                else:
                    connection.close()

    def close(self) -> None:
        """Close the idle PostgreSQL connections (when the service stops)."""
        with self._idle_mutex:
            idle, self._idle[:] = list(self._idle), []
        for connection in idle:
            connection.close()

    @contextmanager
    def writes(self) -> Iterator[None]:
        """One write of the service at a time (the jobs' and the requests' alike)."""
        with self.write_mutex:
            yield


@contextmanager
def held(warehouse: ServiceWarehouse, notify: Any) -> Iterator[None]:
    """Hold the warehouse for the service's lifetime (on DuckDB; on PostgreSQL, its pool of connections)."""
    if warehouse.kind != "duckdb":
        try:
            yield
        finally:
            warehouse.close()
        return
    import duckdb

    with ExitStack() as stack:
        stack.enter_context(writing(warehouse, SERVE_COMMAND, notify=notify))
        warehouse.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        stack.enter_context(duckdb_access(warehouse.duckdb_path, read_only=False))
        keeper = duckdb.connect(str(warehouse.duckdb_path), config=warehouse.settings.get("settings", {}))
        stack.callback(keeper.close)
        yield
