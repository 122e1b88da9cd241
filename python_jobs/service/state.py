"""The warehouse as the service holds it while it runs.

DuckDB allows one writing process per file, so on DuckDB the service is that process for as long as it runs: it
holds the writing lock of `python_jobs.warehouse.locks` (a `segments build` started meanwhile waits, then stops
naming `segments serve`), it opens every connection read-write so that reads and the writes of its own jobs
share one DuckDB instance (DuckDB isolates their transactions), and it keeps one connection open so that
instance is not closed and checkpointed between requests. Writes of the service are serialised by one mutex.

On PostgreSQL nothing is held: reads are read-only transactions, writes short transactions, and several
service processes may share one database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from python_jobs.warehouse.connection import Session, Warehouse
from python_jobs.warehouse.locks import duckdb_access, writing

SERVE_COMMAND = "segments serve"


@dataclass
class ServiceWarehouse(Warehouse):
    """A Warehouse whose DuckDB sessions are all read-write connections of the one process that holds it."""

    write_mutex: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def of(cls, warehouse: Warehouse) -> ServiceWarehouse:
        return cls(target=warehouse.target, settings=warehouse.settings)

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        with super().session(read_only=read_only and self.kind != "duckdb") as session:
            yield session

    @contextmanager
    def writes(self) -> Iterator[None]:
        """One write of the service at a time (the jobs' and the requests' alike)."""
        with self.write_mutex:
            yield


@contextmanager
def held(warehouse: ServiceWarehouse, notify: Any) -> Iterator[None]:
    """Hold the warehouse for the service's lifetime (on DuckDB; nothing on PostgreSQL)."""
    if warehouse.kind != "duckdb":
        yield
        return
    import duckdb

    with ExitStack() as stack:
        stack.enter_context(writing(warehouse, SERVE_COMMAND, notify=notify))
        warehouse.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        stack.enter_context(duckdb_access(warehouse.duckdb_path, read_only=False))
        keeper = duckdb.connect(str(warehouse.duckdb_path), config=warehouse.settings.get("settings", {}))
        stack.callback(keeper.close)
        yield
