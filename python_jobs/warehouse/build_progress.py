"""What `segments build` shows while it runs: one progress line per step, and the lines that matter.

dbt prints a line per node (about 190 for this project); a person needs how far the step is, how long it has
taken, and the warnings and errors. `StepProgress` is what `run_build` reports to; `PlainProgress` writes plain
lines (a start line, at most one line per `PLAIN_LINE_SECONDS` while it runs, an end line), for logs and pipes.
The live terminal line lives with the command line (`python_jobs.cli.build_display`). `--verbose` passes
dbt's own lines through as well.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

Echo = Callable[[str], None]

# `14:00:01  65 of 193 WARN 5 relationships_stg_raw__order_items_... ......  [WARN 5 in 0.41s]`
_RESULT_LINE = re.compile(
    r"^\d\d:\d\d:\d\d\s+(?P<index>\d+) of (?P<total>\d+) (?P<status>[A-Z][A-Z-]*)\b(?P<rest>.*)$"
)
_TIMING = re.compile(r"\s*\[[^\]]*\]\s*$")
_DOTS = re.compile(r"\s*\.{2,}\s*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Node results a person should see while the step runs (the summary shows the rows behind them later).
NOTABLE_STATUSES = {"WARN", "ERROR", "FAIL"}
PLAIN_LINE_SECONDS = 10.0
FAILURE_TAIL_LINES = 20


@dataclass(frozen=True)
class NodeResult:
    index: int
    total: int
    status: str
    text: str


def parse_result_line(line: str) -> NodeResult | None:
    """A dbt node's result line (`N of M STATUS ...`), or None for anything else (START lines included)."""
    match = _RESULT_LINE.match(_ANSI.sub("", line).strip())
    if not match or match["status"] == "START":
        return None
    rest = _DOTS.sub(" ", _TIMING.sub("", match["rest"])).strip()
    return NodeResult(
        int(match["index"]), int(match["total"]), match["status"], f"{match['status']} {rest}".strip()
    )


class StepProgress:
    """Receives a build's progress; subclasses decide how to show it."""

    def start_step(self, number: int, total: int, description: str) -> None: ...

    def nodes(self, done: int, total: int) -> None: ...

    def line(self, text: str) -> None: ...

    def end_step(self, ok: bool, seconds: float) -> None: ...

    def close(self) -> None: ...


class DbtOutput:
    """Reads one dbt step's log lines: counts finished nodes, passes on the notable ones (all when verbose)."""

    def __init__(self, progress: StepProgress, *, verbose: bool = False) -> None:
        self.progress = progress
        self.verbose = verbose
        self.done = 0
        self.total = 0
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        result = parse_result_line(line)
        if self.verbose and " START " not in line:
            self.progress.line(f"    {line}")
        if result is None:
            return
        # dbt numbers its nodes; results come back out of order across threads, and not every number gets a
        # result line, so the highest number seen is how far the step has got.
        self.done = max(self.done, result.index)
        self.total = max(self.total, result.total)
        self.progress.nodes(self.done, self.total)
        if result.status in NOTABLE_STATUSES and not self.verbose:
            self.progress.line(f"    {result.text}")

    def failure_lines(self) -> list[str]:
        """dbt's own account of a failed step: from its `Completed with` summary on, else its last lines."""
        for index, line in enumerate(self.lines):
            if "Completed with" in line:
                return self.lines[index:]
        return [line for line in self.lines if line.strip()][-FAILURE_TAIL_LINES:]


class PlainProgress(StepProgress):
    """Plain lines through `echo`: no escape codes, no carriage returns, a line at most every few seconds."""

    def __init__(self, echo: Echo = print, *, every_seconds: float = PLAIN_LINE_SECONDS) -> None:
        self.echo = echo
        self.every_seconds = every_seconds
        self._started = 0.0
        self._last_line = 0.0
        self._done = 0
        self._total = 0

    def start_step(self, number: int, total: int, description: str) -> None:
        self._started = self._last_line = time.monotonic()
        self._done = self._total = 0
        self.echo(f"\n[{number}/{total}] {description}")

    def nodes(self, done: int, total: int) -> None:
        first = not self._total
        self._done, self._total = done, total
        now = time.monotonic()
        if first:  # dbt's own start-up (a few seconds) is not the step's progress: count from its first node
            self._last_line = now
        elif now - self._last_line >= self.every_seconds and done < total:
            self._last_line = now
            self.echo(f"  … {done} of {total} nodes, {now - self._started:.1f}s")

    def line(self, text: str) -> None:
        self.echo(text)

    def end_step(self, ok: bool, seconds: float) -> None:
        # dbt's "of M" counts nodes it never reports on (about 28 of 193 here), so the end says what ran.
        nodes = f"{self._done} nodes " if self._total else ""
        self.echo(f"  {'done' if ok else 'FAILED'}: {nodes}in {seconds:.1f}s")
