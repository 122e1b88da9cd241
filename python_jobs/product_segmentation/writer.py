"""The background writer: every write of a running run, committed in order from a thread of its own.

Each response hands its counters over at once and they are committed in a short transaction of their own
(opened and closed around the update). Counters that arrive while a commit is under way are merged into the one
queued behind it (the newest counters, all their interaction rows), so what the table shows trails the job by at
most the commit under way and the one queued behind it. A phase's results go through the same queue as one
transaction, so the stage they set is never overtaken by an older progress commit. Either way the event loop
never waits for the database: the next phase's calls go out while the last one's results are being written.

When nothing has been committed for `heartbeat_seconds` (a long LLM call), the writer commits a heartbeat of its
own, so a run that is alive always says so (see `python_jobs.warehouse.run_owner`). `flush` waits until
everything handed over is committed, and raises the first error the thread met (after which it writes nothing
more).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ProgressCommit = Callable[[dict[str, Any], list[dict[str, Any]]], None]


@dataclass
class _Pending:
    """One queued write: a phase's transaction (`write`), or the latest counters and their interaction rows."""

    write: Callable[[], None] | None = None
    columns: dict[str, Any] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


class BackgroundWriter:
    """See the module docstring."""

    def __init__(
        self,
        commit_progress: ProgressCommit,
        heartbeat: Callable[[], None],
        *,
        heartbeat_seconds: float,
        name: str,
    ) -> None:
        self._commit_progress = commit_progress
        self._heartbeat = heartbeat
        self._heartbeat_seconds = heartbeat_seconds
        self._condition = threading.Condition()
        self._queue: collections.deque[_Pending] = collections.deque()
        self._busy = False
        self._closed = False
        self._error: BaseException | None = None
        self._last_commit = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def progress(self, columns: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        with self._condition:
            self._raise_error()
            last = self._queue[-1] if self._queue else None
            if last is not None and last.write is None:
                last.columns = columns
                last.rows += rows
            else:
                self._queue.append(_Pending(columns=columns, rows=list(rows)))
            self._condition.notify_all()

    def transaction(self, write: Callable[[], None]) -> None:
        with self._condition:
            self._raise_error()
            self._queue.append(_Pending(write=write))
            self._condition.notify_all()

    def flush(self) -> None:
        with self._condition:
            while (self._queue or self._busy) and self._error is None:
                self._condition.wait()
            self._raise_error()

    def close(self) -> None:
        """Stop the thread once what was handed over is committed (or has failed)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _next(self) -> _Pending | None:
        """The next write, a heartbeat (`_Pending()`) when one is due, or None when the writer is to stop."""
        with self._condition:
            while not self._queue and not self._closed and self._error is None:
                due = self._last_commit + self._heartbeat_seconds - time.monotonic()
                if due <= 0:
                    self._busy = True
                    return _Pending()
                self._condition.wait(timeout=due)
            if not self._queue or self._error is not None:
                return None
            self._busy = True
            return self._queue.popleft()

    def _loop(self) -> None:
        while True:
            pending = self._next()
            if pending is None:
                return
            try:
                if pending.write is not None:
                    pending.write()
                elif pending.columns is not None:
                    self._commit_progress(pending.columns, pending.rows)
                else:
                    self._heartbeat()
            except BaseException as error:
                with self._condition:
                    self._error = error
                    self._queue.clear()
            finally:
                with self._condition:
                    self._busy = False
                    self._last_commit = time.monotonic()
                    self._condition.notify_all()
