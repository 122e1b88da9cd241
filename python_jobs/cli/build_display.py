"""`segments build` on a terminal: a live line per step (rich), and the summary as tables.

Anywhere else (CI logs, pipes, files) the build writes plain lines (`PlainProgress`, `format_report`): no
escape codes, no carriage returns.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from python_jobs.warehouse.build import BuildReport
from python_jobs.warehouse.build_progress import StepProgress


class LiveProgress(StepProgress):
    """One live line per step: spinner, step, bar, nodes done of total, the step's time. Lines that matter
    (warnings, the jobs' own lines) are printed above it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[nodes]}"),
            TimeElapsedColumn(),
            console=console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task: TaskID | None = None
        self._description = ""
        self._total = 0
        self._done = 0
        self._live = False

    def start_step(self, number: int, total: int, description: str) -> None:
        if not self._live:
            self._progress.start()
            self._live = True
        self._description = escape(f"[{number}/{total}] {description}")
        self._done = self._total = 0
        self._task = self._progress.add_task(self._description, total=None, nodes="")

    def nodes(self, done: int, total: int) -> None:
        self._done, self._total = done, total
        if self._task is not None:
            self._progress.update(self._task, completed=done, total=total, nodes=f"{done}/{total} nodes")

    def line(self, text: str) -> None:
        self._progress.console.print(Text(text), soft_wrap=True)

    def end_step(self, ok: bool, seconds: float) -> None:
        if self._task is None:
            return
        nodes = f"{self._done} nodes" if self._total else ""
        mark = "[green]ok[/green]" if ok else "[bold red]FAILED[/bold red]"
        self._progress.update(
            self._task,
            description=f"{self._description} {mark}",
            completed=self._total or 1,
            total=self._total or 1,
            nodes=nodes,
        )
        self._progress.stop_task(self._task)
        self._task = None

    def close(self) -> None:
        if self._live:
            self._progress.stop()
            self._live = False


def render_report(report: BuildReport, console: Console) -> None:
    """The same content as `format_report`, as tables."""
    steps = Table(title=f"Summary ({report.target})", title_justify="left", show_edge=False, pad_edge=False)
    steps.add_column("status")
    steps.add_column("time", justify="right")
    steps.add_column("step")
    steps.add_column("results")
    for outcome in report.outcomes:
        status = "[green]ok[/green]" if outcome.ok else "[bold red]FAILED[/bold red]"
        detail = ""
        if outcome.dbt_run is not None:
            counts = outcome.dbt_run.status_counts()
            detail = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
        if outcome.error:
            detail = outcome.error
        steps.add_row(status, f"{outcome.seconds:.1f}s", escape(outcome.step.description), escape(detail))
    console.print()
    console.print(steps)
    if report.row_counts:
        rows = Table(show_edge=False, pad_edge=False)
        rows.add_column("table")
        rows.add_column("rows", justify="right")
        rows.add_column("")
        for table, count in report.row_counts.items():
            hint = f"filled by `{report.filled_by[table]}`" if not count and table in report.filled_by else ""
            rows.add_row(table, f"{count:,}", Text(hint, style="dim"))
        console.print()
        console.print(rows)
    if report.findings:
        console.print()
        for title, message, sample in report.findings:
            style = "yellow" if title.startswith("WARN") else "red"
            console.print(Text(f"  {title}", style=style) + Text(f": {message}"), soft_wrap=True)
            for row in sample:
                console.print(Text(f"      {row}", style="dim"), soft_wrap=True)
    console.print()
    style = "bold green" if report.ok else "bold red"
    console.print(Text(report.ending(), style=style), soft_wrap=True)
