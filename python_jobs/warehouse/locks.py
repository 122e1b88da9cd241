"""Who may use the warehouse, and when: one writing command at a time, and readers that never break a writer.

DuckDB lets a file be opened by one read-write process or by any number of read-only processes, never both (a
process that tries gets an IO error at once). So on DuckDB two advisory lock files sit beside the database:

- `<file>.writer.lock`, held exclusively for the whole of a writing command (`generate`, `load-*`, `build`,
  `run cluster-customers`, `product-segmentation run`, `dbt`), its dbt subprocesses included; it holds the
  holder's command, pid and start time, so whoever waits can say what for.
- `<file>.access.lock`, held around every open of the DuckDB file: exclusively by a writing connection or a dbt
  subprocess, shared by a read-only connection. A writer waits for readers' short holds to pass; a reader waits
  briefly for the writer, then stops with a message naming it. Neither ever meets DuckDB's own lock error.

On PostgreSQL readers and writers never block each other (MVCC); the writing command holds a session advisory
lock on a fixed key for its whole run, its connection named after the command so others can name the holder.

How long a writer waits: `SEGMENTS_LOCK_TIMEOUT` seconds (default 60); a reader: `SEGMENTS_READ_TIMEOUT`
(default 5).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from python_jobs.warehouse.connection import WarehouseError

if TYPE_CHECKING:
    from python_jobs.warehouse.connection import Warehouse

LOCK_TIMEOUT_ENV = "SEGMENTS_LOCK_TIMEOUT"
READ_TIMEOUT_ENV = "SEGMENTS_READ_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 60.0
DEFAULT_READ_TIMEOUT = 5.0
# The session advisory lock of writing commands on PostgreSQL (scoped to the database by PostgreSQL itself).
POSTGRES_LOCK_KEY = 7_242_001

Notify = Callable[[str], None]


class WarehouseBusyError(WarehouseError):
    """Another process holds the warehouse for longer than we were allowed to wait."""


def _seconds_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise WarehouseError(f"{name}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise WarehouseError(f"{name}={raw!r} must not be negative")
    return value


def lock_timeout() -> float:
    """Seconds a writer waits for the warehouse ($SEGMENTS_LOCK_TIMEOUT, default 60)."""
    return _seconds_from_env(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT)


def read_timeout() -> float:
    """Seconds a reader waits for a writer to let go ($SEGMENTS_READ_TIMEOUT, default 5)."""
    return _seconds_from_env(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT)


@dataclass(frozen=True)
class Holder:
    """The writing command that holds a warehouse."""

    command: str
    pid: int
    since: dt.datetime

    def describe(self) -> str:
        return f"`{self.command}` (pid {self.pid})"

    @property
    def since_text(self) -> str:
        return self.since.astimezone().strftime("%H:%M:%S")


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ flock files


class _FileLock:
    """A flock(2) lock on one file, shared by the threads of this process (counted, so holds may nest)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._exclusive = False
        self._count = 0
        self._mutex = threading.Lock()

    @property
    def holds(self) -> int:
        return self._count

    def try_acquire(self, exclusive: bool) -> bool:
        with self._mutex:
            if self._count and (self._exclusive or not exclusive):
                self._count += 1
                return True
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # a+: opening must never empty a file whose holder info another process is reading.
                self._file = open(self.path, "a+")  # noqa: SIM115 - kept open while the lock is held
            try:
                fcntl.flock(self._file, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except BlockingIOError:
                if not self._count:
                    self._file.close()
                    self._file = None
                return False
            self._exclusive = exclusive or self._exclusive
            self._count += 1
            return True

    def release(self) -> bool:
        """Returns True when this process no longer holds the lock at all."""
        with self._mutex:
            self._count -= 1
            if self._count:
                return False
            assert self._file is not None
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
            self._exclusive = False
            return True

    def write_holder(self, holder: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps(holder))
        self._file.flush()

    def clear_holder(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.flush()


_FILE_LOCKS: dict[Path, _FileLock] = {}
_FILE_LOCKS_MUTEX = threading.Lock()


def _file_lock(path: Path) -> _FileLock:
    with _FILE_LOCKS_MUTEX:
        return _FILE_LOCKS.setdefault(path, _FileLock(path))


def _wait_for(try_once: Callable[[], bool], timeout: float, on_first_miss: Callable[[], None]) -> bool:
    """Call `try_once` until it succeeds or `timeout` seconds have passed; `on_first_miss` after the first no."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    if try_once():
        return True
    on_first_miss()
    while time.monotonic() < deadline:
        time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
        pause = min(pause * 2, 0.25)
        if try_once():
            return True
    return False


def writer_lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".writer.lock")


def access_lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".access.lock")


def duckdb_writer(database: Path) -> Holder | None:
    """The writing command holding this DuckDB file, from its lock file (None when nobody says so)."""
    try:
        payload = json.loads(writer_lock_path(database).read_text() or "null")
    except (OSError, ValueError):
        return None
    if not payload:
        return None
    return Holder(payload["command"], int(payload["pid"]), dt.datetime.fromisoformat(payload["since"]))


@contextmanager
def duckdb_access(database: Path, *, read_only: bool) -> Iterator[None]:
    """Hold the access lock of a DuckDB file while it is open: shared for a reader, exclusive for a writer."""
    lock = _file_lock(access_lock_path(database))
    timeout = read_timeout() if read_only else lock_timeout()

    def busy_message() -> str:
        holder = duckdb_writer(database)
        if read_only:
            if holder is None:
                return f"the warehouse {database} is being written by another process; try again when it finishes"
            return (
                f"the warehouse is being written by {holder.describe()} since {holder.since_text}; "
                "try again when it finishes"
            )
        return (
            f"the warehouse {database} stayed open in another process for {timeout:g} s "
            f"({LOCK_TIMEOUT_ENV}); is a reader stuck?"
        )

    if not _wait_for(lambda: lock.try_acquire(exclusive=not read_only), timeout, lambda: None):
        raise WarehouseBusyError(busy_message())
    try:
        yield
    finally:
        lock.release()


# ------------------------------------------------------------------------------------------------ the writer


@contextmanager
def writing(warehouse: Warehouse, command: str, *, notify: Notify = _stderr) -> Iterator[None]:
    """Hold the warehouse for a writing command (`segments build`...) for the whole block.

    Waits up to $SEGMENTS_LOCK_TIMEOUT seconds for another writing command, saying so in one line, then stops
    with a WarehouseBusyError naming it. Nested holds in one process are free.
    """
    timeout = lock_timeout()
    if warehouse.kind == "duckdb":
        with _duckdb_writing(warehouse.duckdb_path, command, timeout, notify):
            yield
    elif warehouse.kind == "postgres":
        with _postgres_writing(warehouse, command, timeout, notify):
            yield
    else:
        yield


def _waiting_line(holder: Holder | None, timeout: float) -> str:
    who = f"another {holder.describe()}, writing since {holder.since_text}," if holder else "another process"
    return f"Waiting for {who} to finish with this warehouse (up to {timeout:g} s, {LOCK_TIMEOUT_ENV})…"


def _busy_line(holder: Holder | None, timeout: float) -> str:
    if holder is None:
        return f"another process held this warehouse for more than {timeout:g} s ({LOCK_TIMEOUT_ENV})"
    return (
        f"another {holder.describe()} has held this warehouse since {holder.since_text}; "
        f"gave up after {timeout:g} s ({LOCK_TIMEOUT_ENV})"
    )


@contextmanager
def _duckdb_writing(database: Path, command: str, timeout: float, notify: Notify) -> Iterator[None]:
    lock = _file_lock(writer_lock_path(database))
    if not lock.try_acquire(exclusive=True):
        acquired = _wait_for(
            lambda: lock.try_acquire(exclusive=True),
            timeout,
            lambda: notify(_waiting_line(duckdb_writer(database), timeout)),
        )
        if not acquired:
            raise WarehouseBusyError(_busy_line(duckdb_writer(database), timeout))
    nested = lock.holds > 1
    if not nested:
        lock.write_holder(
            {
                "command": command,
                "pid": os.getpid(),
                "since": dt.datetime.now(dt.UTC).isoformat(),
                "argv": sys.argv,
            }
        )
    try:
        yield
    finally:
        if not nested:
            lock.clear_holder()
        lock.release()


_PG_HOLDS: dict[tuple[str, ...], tuple[Any, int]] = {}
_PG_MUTEX = threading.Lock()
_APPLICATION_NAME = re.compile(r"^(?P<command>.+) \(pid (?P<pid>\d+)\)$")


def postgres_writer(connection: Any) -> Holder | None:
    """The writing command holding the advisory lock of this connection's database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "select a.application_name, a.pid, a.backend_start from pg_locks as l "
            "join pg_stat_activity as a on a.pid = l.pid "
            "where l.locktype = 'advisory' and l.granted and l.classid = 0 and l.objid = %s "
            "and l.database = (select oid from pg_database where datname = current_database())",
            [POSTGRES_LOCK_KEY],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    name, backend_pid, started = row
    match = _APPLICATION_NAME.match(name or "")
    if match:
        return Holder(match["command"], int(match["pid"]), started)
    return Holder(name or "a PostgreSQL session", int(backend_pid), started)


@contextmanager
def _postgres_writing(warehouse: Warehouse, command: str, timeout: float, notify: Notify) -> Iterator[None]:
    settings = warehouse.settings
    key = (str(settings["host"]), str(settings["port"]), str(settings["dbname"]))
    with _PG_MUTEX:
        held = _PG_HOLDS.get(key)
        if held is not None:
            _PG_HOLDS[key] = (held[0], held[1] + 1)
    if held is not None:
        try:
            yield
        finally:
            _release_postgres(key)
        return

    import psycopg2

    try:
        connection = warehouse.postgres_connection(autocommit=True)
    except psycopg2.OperationalError as error:
        raise WarehouseError(f"cannot connect to {warehouse.describe()}: {error}") from error
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select set_config('application_name', %s, false)", [f"{command} (pid {os.getpid()})"]
            )

        def try_once() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("select pg_try_advisory_lock(%s)", [POSTGRES_LOCK_KEY])
                return bool(cursor.fetchone()[0])

        acquired = _wait_for(
            try_once, timeout, lambda: notify(_waiting_line(postgres_writer(connection), timeout))
        )
        if not acquired:
            raise WarehouseBusyError(_busy_line(postgres_writer(connection), timeout))
    except BaseException:
        connection.close()
        raise
    with _PG_MUTEX:
        _PG_HOLDS[key] = (connection, 1)
    try:
        yield
    finally:
        _release_postgres(key)


def _release_postgres(key: tuple[str, ...]) -> None:
    with _PG_MUTEX:
        connection, count = _PG_HOLDS[key]
        if count > 1:
            _PG_HOLDS[key] = (connection, count - 1)
            return
        del _PG_HOLDS[key]
    # Closing the session releases its advisory lock.
    connection.close()
