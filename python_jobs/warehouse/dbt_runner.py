"""Runs dbt the one way this project runs it: through `dbt-py`, so `modules.segments` exists in Jinja.

Each target gets its own target path (`target/<target>/`), so a DuckDB build and a PostgreSQL build never
overwrite each other's manifest or run results.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_jobs import PROJECT_ROOT
from python_jobs.warehouse.connection import PROFILES_DIR

Echo = Callable[[str], None]
# dbt commands that write target/<target>/run_results.json.
RESULT_COMMANDS = {"build", "run", "test", "seed", "snapshot"}


class DbtError(RuntimeError):
    """dbt did not succeed; the message says which command."""


@dataclass
class DbtRun:
    """What one dbt command did."""

    args: list[str]
    returncode: int
    results: list[dict[str, Any]] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result["status"]] = counts.get(result["status"], 0) + 1
        return counts

    def problems(self) -> list[dict[str, Any]]:
        """Nodes that warned, failed or errored."""
        return [r for r in self.results if r["status"] in {"warn", "fail", "error", "runtime error"}]

    def problem_summary(self) -> str:
        """One line per problem node, `STATUS unique_id: message`: readable in an assertion or a log."""
        return "\n".join(
            f"{r['status'].upper()} {r['unique_id']}: {r.get('message') or ''}" for r in self.problems()
        )


def dbt_py_executable() -> str:
    """The `dbt-py` installed beside the running interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt-py"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt-py")
    if not found:
        raise DbtError("dbt-py is not installed: run `pip install -e .` in the project first")
    return found


def dbt_work_dir() -> Path:
    """Where dbt writes its target/ and logs/: the project folder, or `$SEGMENTS_DBT_DIR` (so that several
    processes, such as parallel test workers, can run dbt on the same project without sharing a manifest)."""
    return Path(os.environ.get("SEGMENTS_DBT_DIR") or PROJECT_ROOT)


def target_path(target: str) -> Path:
    return dbt_work_dir() / "target" / target


def _dbt_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["NO_COLOR"] = "1"
    env["DBT_USE_COLORS"] = "false"
    return env


def run_dbt(
    command: Sequence[str],
    *,
    target: str,
    dbt_vars: dict[str, Any] | None = None,
    echo: Echo | None = None,
) -> DbtRun:
    """Run `dbt-py <command>` against `target`, streaming dbt's log lines to `echo` as they come."""
    args = [
        *command,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target",
        target,
        "--target-path",
        str(target_path(target)),
        "--log-path",
        str(dbt_work_dir() / "logs"),
    ]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    env = _dbt_environment()
    results_file = target_path(target) / "run_results.json"
    started = time.time()
    session = _SESSIONS.get(target)
    with _warehouse_access(target, command):
        if _runs_in_this_process(target):
            returncode = _run_in_this_process(args, target)
        elif session is not None and session.serves(env):
            returncode = session.run(args, echo)
        else:
            returncode = _run_process([dbt_py_executable(), *args], env, echo)
    run = DbtRun(args=list(command), returncode=returncode)
    # A run_results.json older than this command is an earlier command's: a dbt that failed before running
    # anything writes none, and its step must not report someone else's counts.
    if (
        command
        and command[0] in RESULT_COMMANDS
        and results_file.exists()
        and results_file.stat().st_mtime >= started
    ):
        payload = json.loads(results_file.read_text())
        run.results = payload.get("results", [])
        run.elapsed_seconds = float(payload.get("elapsed_time", 0.0))
    return run


def _runs_in_this_process(target: str) -> bool:
    """A local Spark session's catalog admits one process: dbt must run in the process of the jobs."""
    from python_jobs.warehouse.connection import Warehouse

    settings = Warehouse.from_profile(target).settings
    return settings["type"] == "spark" and settings.get("method") == "session"


def _run_in_this_process(args: list[str], target: str) -> int:
    """dbt in this process, on the Spark session `python_jobs.warehouse.spark` starts with the profile's
    settings (dbt-spark's `getOrCreate()` returns it). dbt prints its own lines to stdout."""
    from dbt.cli.main import dbtRunner

    from python_jobs.warehouse.connection import Warehouse
    from python_jobs.warehouse.dbt_worker import _exit_code, install_context_modules_once
    from python_jobs.warehouse.spark import spark_session

    spark_session(Warehouse.from_profile(target).settings)
    install_context_modules_once()
    for name, value in _dbt_environment().items():
        os.environ.setdefault(name, value)
    try:
        return _exit_code(dbtRunner().invoke(args))
    except Exception as error:  # dbt raised instead of reporting: the command failed
        print(f"dbt failed: {error}", flush=True)
        return 2


def _run_process(command: list[str], env: dict[str, str], echo: Echo | None) -> int:
    """One `dbt-py` process for one command, its lines streamed to `echo`."""
    # dbt-py reads `[tool.dbt-py]` from pyproject.toml in the working directory.
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if echo is not None:
                echo(line.rstrip("\n"))
    except BaseException:
        # Interrupted (Ctrl-C): dbt stops before whoever called us touches the warehouse again.
        _stop(process)
        raise
    return process.wait()


# The settings a dbt process reads from its environment once, when it starts: a session serves only commands
# run with the same ones.
_SESSION_SETTINGS = (
    "SEGMENTS_DUCKDB_PATH",
    "SEGMENTS_DUCKDB_MEMORY_LIMIT",
    "DBT_THREADS",
    "SEGMENTS_DBT_DIR",
)


def _settings_of(env: dict[str, str]) -> tuple[tuple[str, str | None], ...]:
    names = sorted({*_SESSION_SETTINGS, *(name for name in env if name.startswith("PG"))})
    return tuple((name, env.get(name)) for name in names)


class _DbtSession:
    """One dbt worker process (python_jobs/warehouse/dbt_worker.py) serving the commands of a session."""

    def __init__(self, env: dict[str, str]) -> None:
        self.settings = _settings_of(env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "python_jobs.warehouse.dbt_worker"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def serves(self, env: dict[str, str]) -> bool:
        return self.process.poll() is None and _settings_of(env) == self.settings

    def run(self, args: list[str], echo: Echo | None) -> int:
        from python_jobs.warehouse.dbt_worker import DONE_MARKER

        assert self.process.stdin is not None
        assert self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(args) + "\n")
            self.process.stdin.flush()
            for line in self.process.stdout:
                if line.startswith(DONE_MARKER):
                    return int(line.split()[-1])
                if echo is not None:
                    echo(line.rstrip("\n"))
        except BaseException:
            _stop(self.process)
            raise
        # The worker died mid-command (killed, out of memory): dbt did not succeed.
        return self.process.wait() or 2

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            with suppress(OSError):
                self.process.stdin.close()
        _stop(self.process)


_SESSIONS: dict[str, _DbtSession] = {}


@contextmanager
def dbt_session(target: str) -> Iterator[None]:
    """Within it, `run_dbt` on `target` (with the environment as it is now) runs in one dbt process, which
    imports dbt and parses the project once instead of once per command. Sessions do not nest. A local Spark
    target needs no worker: its commands already run in this process."""
    if target in _SESSIONS or _runs_in_this_process(target):
        yield
        return
    _SESSIONS[target] = _DbtSession(_dbt_environment())
    try:
        yield
    finally:
        _SESSIONS.pop(target).close()


def _stop(process: subprocess.Popen, grace_seconds: float = 30.0) -> None:
    """Ask dbt to stop, wait for it, and kill it if it will not."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def _warehouse_access(target: str, command: Sequence[str]) -> Iterator[None]:
    """A dbt command that may open the DuckDB file holds it the way a writing session does, so a reader
    polling meanwhile waits instead of making dbt fail. `parse` never opens it."""
    from python_jobs.warehouse.connection import Warehouse
    from python_jobs.warehouse.locks import duckdb_access

    warehouse = Warehouse.from_profile(target)
    if warehouse.kind != "duckdb" or (command and command[0] in {"parse", "--help", "--version"}):
        yield
        return
    with duckdb_access(warehouse.duckdb_path, read_only=False):
        yield


def load_manifest(target: str, dbt_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """Parse the project and return dbt's manifest."""
    run = run_dbt(["parse", "--quiet"], target=target, dbt_vars=dbt_vars, echo=None)
    if not run.ok:
        raise DbtError("`dbt-py parse` failed: run it by hand to see why")
    return json.loads((target_path(target) / "manifest.json").read_text())
