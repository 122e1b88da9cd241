"""Which process owns a running job's run, and whether that process is still there.

A run row records its owner (host name, pid and the process's start time, so a pid the system has since given
to another process is not mistaken for the owner) and a heartbeat timestamp the job refreshes while it works.
A run whose owner is gone is *abandoned*:

- on the owner's own host: no process has that pid, or the process that has it started at another time;
- from another host (where the pid cannot be checked): the heartbeat is older than `HEARTBEAT_TIMEOUT_SECONDS`.

Both jobs with long runs (the clustering job, the product segmentation job) use this; the next command that
looks at such a run marks it `abandoned`, with the reason, instead of showing it as in progress forever.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from python_jobs.warehouse.connection import quote_identifier

if TYPE_CHECKING:
    from python_jobs.warehouse.connection import Session

# How often a running job refreshes its heartbeat, at least.
HEARTBEAT_SECONDS = 2.0
# A run seen from another host is abandoned when its heartbeat is older than this.
HEARTBEAT_TIMEOUT_SECONDS = 60.0
# Two readings of one process's start time differ by less than this (clock ticks are 1/100 s).
_START_TOLERANCE_SECONDS = 0.5

OWNER_COLUMNS = ("owner_host", "owner_pid", "owner_started_at", "heartbeat_at")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def process_started_at(pid: int) -> dt.datetime | None:
    """When process `pid` started (UTC), or None when there is no such process (or it cannot be told)."""
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            stat = stat_file.read()
        with open("/proc/stat") as system_file:
            boot = next(int(line.split()[1]) for line in system_file if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None
    # Field 22 (starttime, in clock ticks since boot) counted after the command name, which may hold spaces.
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return dt.datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), dt.UTC)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class ProcessOwner:
    """A process that owns a run."""

    host: str
    pid: int
    started_at: dt.datetime | None

    @classmethod
    def current(cls) -> ProcessOwner:
        return cls(socket.gethostname(), os.getpid(), process_started_at(os.getpid()))

    def columns(self, heartbeat_at: dt.datetime | None = None) -> dict[str, Any]:
        """The run-row columns that name this owner, with a fresh heartbeat."""
        return {
            "owner_host": self.host,
            "owner_pid": self.pid,
            "owner_started_at": self.started_at,
            "heartbeat_at": heartbeat_at or utc_now(),
        }


def why_abandoned(
    owner_host: str | None,
    owner_pid: int | None,
    owner_started_at: dt.datetime | None,
    heartbeat_at: dt.datetime | None,
    *,
    now: dt.datetime | None = None,
    timeout_seconds: float = HEARTBEAT_TIMEOUT_SECONDS,
) -> str | None:
    """Why a run that says it is running has no owner any more, or None while its owner may still be at work.

    A row written before owners were recorded (no host, no heartbeat) cannot be judged and is left alone.
    """
    now = now or utc_now()
    if owner_host is not None and owner_pid is not None and owner_host == socket.gethostname():
        if not _pid_exists(owner_pid):
            return f"its process (pid {owner_pid} on {owner_host}) is gone"
        started = process_started_at(owner_pid)
        if owner_started_at is None or started is None:
            return None
        if abs((_aware(started) - _aware(owner_started_at)).total_seconds()) > _START_TOLERANCE_SECONDS:
            return f"its process (pid {owner_pid} on {owner_host}) is gone; the pid now belongs to another"
        return None
    if heartbeat_at is None:
        return None
    silent = (now - _aware(heartbeat_at)).total_seconds()
    if silent > timeout_seconds:
        return (
            f"no heartbeat for {silent:.0f}s (timeout {timeout_seconds:.0f}s) from its process "
            f"(pid {owner_pid} on {owner_host})"
        )
    return None


def _aware(timestamp: dt.datetime) -> dt.datetime:
    """Timestamps read back from a warehouse may come without a zone; they are stored in UTC."""
    return timestamp if timestamp.tzinfo is not None else timestamp.replace(tzinfo=dt.UTC)


def mark_abandoned_runs(session: Session, schema: str, table: str, ended_column: str) -> dict[str, str]:
    """Mark 'abandoned' every 'running' row of a job's runs table whose owner process is gone, stamping
    `ended_column` and the reason; run id -> reason. (The clustering and CLV jobs share this rule.)"""
    runs = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    running = session.fetch_arrow(
        f"select run_id, owner_host, owner_pid, owner_started_at, heartbeat_at from {runs} where status = 'running'"
    ).to_pylist()
    reasons: dict[str, str] = {}
    for run in running:
        reason = why_abandoned(
            run["owner_host"], run["owner_pid"], run["owner_started_at"], run["heartbeat_at"]
        )
        if reason is not None:
            reasons[run["run_id"]] = reason
            values = {
                "status": "abandoned",
                ended_column: utc_now(),
                "error_message": f"abandoned: {reason}"[:1000],
            }
            session.update_rows(schema, table, values, {"run_id": run["run_id"], "status": "running"})
    return reasons
