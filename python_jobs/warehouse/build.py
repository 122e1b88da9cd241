"""`segments build`: the whole DAG, dbt and Python jobs, in the order dbt's own manifest gives.

A Python job is wired into dbt in two places, and nowhere else:
- the tables it writes are dbt *sources* whose `meta` names it (`segments_job: <job name>`);
- the models it reads are the `depends_on` of an *exposure* of `type: ml` whose `meta` names it too.

From those, the plan is: build every dbt node not downstream of any job's output; run the jobs whose inputs are
now built; build what is downstream of their outputs (but not of a later job's); and so on. Tests run with the
nodes they test, because every dbt step is a `dbt build`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from python_jobs.warehouse.build_progress import DbtOutput, PlainProgress, StepProgress
from python_jobs.warehouse.connection import Warehouse, WarehouseError
from python_jobs.warehouse.dbt_runner import DbtRun, Echo, dbt_session, load_manifest, run_dbt
from python_jobs.warehouse.jobs import JOBS, JobContext, JobFunction
from python_jobs.warehouse.observation_end import check_observation_end
from python_jobs.warehouse.previous_build import PreviousBuild, RestoreSummary, built_relations

JOB_META_KEY = "segments_job"


class PlanError(RuntimeError):
    """The manifest describes jobs that cannot be ordered or run."""


@dataclass(frozen=True)
class DbtStep:
    description: str
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def command(self) -> list[str]:
        command = ["build"]
        if self.select:
            command += ["--select", *self.select]
        if self.exclude:
            command += ["--exclude", *self.exclude]
        return command


@dataclass(frozen=True)
class JobStep:
    job: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]

    @property
    def description(self) -> str:
        return f"python job {self.job}"


Step = DbtStep | JobStep


def _meta(node: dict[str, Any]) -> dict[str, Any]:
    return {**node.get("meta", {}), **node.get("config", {}).get("meta", {})}


def _selector(source: dict[str, Any]) -> str:
    return f"source:{source['source_name']}.{source['name']}"


def _descendants(manifest: dict[str, Any], roots: list[str]) -> set[str]:
    """The roots and everything downstream of them: a job may read another job's table directly."""
    seen: set[str] = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for child in manifest["child_map"].get(node, []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def plan_build(manifest: dict[str, Any]) -> list[Step]:
    """Order dbt and the Python jobs from the manifest's sources and `ml` exposures."""
    writes: dict[str, list[str]] = {}
    for unique_id, source in manifest["sources"].items():
        job = _meta(source).get(JOB_META_KEY)
        if job:
            writes.setdefault(job, []).append(unique_id)
    reads: dict[str, list[str]] = {}
    for exposure in manifest.get("exposures", {}).values():
        job = _meta(exposure).get(JOB_META_KEY)
        if job and exposure.get("type") == "ml":
            reads.setdefault(job, []).extend(exposure["depends_on"]["nodes"])
    jobs = sorted(set(writes) | set(reads))
    if not jobs:
        return [DbtStep("dbt build (the whole project; no Python jobs are declared)")]

    downstream = {job: _descendants(manifest, writes.get(job, [])) for job in jobs}
    upstream_jobs: dict[str, set[str]] = {}
    for job in jobs:
        upstream_jobs[job] = {
            other for other in jobs if any(node in downstream[other] for node in reads.get(job, []))
        }
        if job in upstream_jobs[job]:
            raise PlanError(f"job {job!r} reads models built from its own output")

    levels: dict[str, int] = {}

    def level_of(job: str, path: tuple[str, ...] = ()) -> int:
        if job in path:
            raise PlanError(f"jobs depend on each other in a loop: {' -> '.join((*path, job))}")
        if job not in levels:
            levels[job] = 1 + max((level_of(other, (*path, job)) for other in upstream_jobs[job]), default=0)
        return levels[job]

    for job in jobs:
        level_of(job)

    def outputs(level_filter: Callable[[int], bool]) -> tuple[str, ...]:
        return tuple(
            f"{_selector(manifest['sources'][source])}+"
            for job in jobs
            if level_filter(levels[job])
            for source in writes.get(job, [])
        )

    steps: list[Step] = [
        DbtStep("dbt build (everything upstream of the Python jobs)", exclude=outputs(lambda _: True))
    ]
    for level in range(1, max(levels.values()) + 1):
        for job in (j for j in jobs if levels[j] == level):
            steps.append(
                JobStep(
                    job,
                    reads=tuple(sorted(reads.get(job, []))),
                    writes=tuple(sorted(writes.get(job, []))),
                )
            )
        built_now = outputs(lambda lvl, level=level: lvl == level)
        if built_now:
            names = ", ".join(j for j in jobs if levels[j] == level)
            steps.append(
                DbtStep(
                    f"dbt build (models and tests downstream of {names})",
                    select=built_now,
                    exclude=outputs(lambda lvl, level=level: lvl > level),
                )
            )
    return steps


@dataclass
class StepOutcome:
    step: Step
    ok: bool
    seconds: float
    dbt_run: DbtRun | None = None
    error: str | None = None


@dataclass
class BuildReport:
    target: str
    outcomes: list[StepOutcome] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    # For a mart fed by a job that runs on demand (not inside the build): the command that fills it, shown
    # beside the mart when it is empty, so "0 rows" does not read as a failed build.
    filled_by: dict[str, str] = field(default_factory=dict)
    findings: list[tuple[str, str, list[str]]] = field(default_factory=list)
    steps: int = 0
    # How long keeping the previous build took, and, when a step failed, how it was put back.
    seconds_to_keep_previous: float = 0.0
    restored: RestoreSummary | None = None
    restore_error: str | None = None

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    def ending(self) -> str:
        """The build's last line: succeeded, or at which step it failed and what became of the warehouse."""
        if self.ok:
            return "Build succeeded."
        failed = next((number for number, o in enumerate(self.outcomes, start=1) if not o.ok), 0)
        text = f"Build FAILED at step {failed} of {self.steps or len(self.outcomes)}"
        if self.restored is not None:
            return f"{text}; {self.restored.describe()}."
        if self.restore_error is not None:
            return f"{text}, and putting the previous build back failed too: {self.restore_error}"
        return f"{text}."


MARTS_SCHEMA = "marts"
# Source meta naming the command that fills an `ml` table outside `segments build` (an on-demand LLM job).
ON_DEMAND_META_KEY = "segments_on_demand"


def summary_tables(manifest: dict[str, Any]) -> list[str]:
    """Every mart the project builds (`schema.name`), folder by folder: the tables a build's summary counts. Read
    from the manifest, so a new mart is listed without anyone remembering to add it."""
    marts = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1:2] == [MARTS_SCHEMA]
    ]
    return [f"{MARTS_SCHEMA}.{node['name']}" for node in sorted(marts, key=lambda n: n["original_file_path"])]


def on_demand_commands(manifest: dict[str, Any], tables: list[str]) -> dict[str, str]:
    """For each of `tables` (`schema.name` models) upstream of a source filled on demand (`meta.segments_on_demand`),
    the command(s) that fill it."""
    by_name = {
        f"{node['schema']}.{node['name']}": node_id
        for node_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }
    commands: dict[str, str] = {}
    for table in tables:
        found: set[str] = set()
        pending, seen = [by_name.get(table)], set()
        while pending:
            node_id = pending.pop()
            if node_id is None or node_id in seen:
                continue
            seen.add(node_id)
            source = manifest["sources"].get(node_id)
            if source is not None:
                command = (source.get("config", {}).get("meta") or source.get("meta") or {}).get(
                    ON_DEMAND_META_KEY
                )
                if command:
                    found.add(command)
                continue
            pending.extend(manifest.get("parent_map", {}).get(node_id, []))
        if found:
            commands[table] = " or ".join(sorted(found))
    return commands


def run_build(
    target: str,
    *,
    observation_end: str | None = None,
    echo: Echo = print,
    jobs: dict[str, JobFunction] | None = None,
    progress: StepProgress | None = None,
    verbose: bool = False,
) -> BuildReport:
    """Plan from the manifest, then run every step in order; stop at the first failed step.

    Progress goes to `progress` (default: plain lines through `echo`): one line per step, dbt's warnings and
    errors, and the jobs' own lines; `verbose` adds every line dbt prints.

    `observation_end` is checked against the loaded orders first: a date before the first order raises
    ObservationEndError before anything is rebuilt; a date far past the last order is a warning.

    Every relation dbt builds is kept as it was before the first step (`PreviousBuild`); when a step fails, or
    the build is interrupted, they are all put back, so the marts never disagree with each other.
    """
    registry = JOBS if jobs is None else jobs
    dbt_vars = {"observation_end": observation_end} if observation_end else {}
    warehouse = Warehouse.from_profile(target)
    report = BuildReport(target=target)
    warnings = check_observation_end(warehouse, observation_end)
    progress = progress or PlainProgress(echo)
    for warning in warnings:
        progress.line(f"WARNING: {warning}")

    _ensure_on_demand_tables(warehouse)
    progress.line(f"Planning the build from dbt's manifest ({warehouse.describe()})")
    # Every dbt command of the build in one dbt process: dbt is imported and the project parsed once.
    with dbt_session(target):
        return _plan_and_run(target, warehouse, registry, dbt_vars, report, progress, warnings, verbose)


def _plan_and_run(
    target: str,
    warehouse: Warehouse,
    registry: dict[str, JobFunction],
    dbt_vars: dict[str, Any],
    report: BuildReport,
    progress: StepProgress,
    warnings: list[str],
    verbose: bool,
) -> BuildReport:
    manifest = load_manifest(target, dbt_vars)
    steps = plan_build(manifest)
    missing = [s.job for s in steps if isinstance(s, JobStep) and s.job not in registry]
    if missing:
        raise PlanError(f"the manifest names jobs that are not registered: {', '.join(missing)}")

    report.steps = len(steps)
    previous = _keep_previous_build(warehouse, manifest)
    report.seconds_to_keep_previous = previous.seconds_to_keep
    try:
        _run_steps(steps, report, warehouse, registry, dbt_vars, progress, verbose)
    except BaseException:
        # Interrupted (Ctrl-C) or broken mid-step: the warehouse goes back as it was all the same. Should that
        # fail too, the original error is the one to show; the copy stays until the next build.
        progress.close()
        with suppress(Exception):
            previous.restore()
        raise
    finally:
        progress.close()

    _collect_problems(report, warehouse)  # the failing tests' rows, as the failed step left them
    if report.ok:
        previous.discard()
    else:
        progress.line("\nA step failed: putting the warehouse back as it was before this build…")
        try:
            report.restored = previous.restore()
        except Exception as error:
            report.restore_error = f"{error} ({previous.where()})"
    _count_rows(report, warehouse, summary_tables(manifest))
    report.filled_by = on_demand_commands(manifest, list(report.row_counts))
    report.findings[:0] = [("WARN observation_end", warning, []) for warning in warnings]
    return report


def _keep_previous_build(warehouse: Warehouse, manifest: dict[str, Any]) -> PreviousBuild:
    try:
        return PreviousBuild.keep(warehouse, built_relations(manifest))
    except WarehouseError:
        raise
    except Exception as error:
        raise WarehouseError(
            f"could not keep a copy of the previous build, so nothing was rebuilt: {error}"
        ) from error


def _run_steps(
    steps: list[Step],
    report: BuildReport,
    warehouse: Warehouse,
    registry: dict[str, JobFunction],
    dbt_vars: dict[str, Any],
    progress: StepProgress,
    verbose: bool,
) -> None:
    """Run the steps in order, into `report.outcomes`; stop at the first that fails."""
    for number, step in enumerate(steps, start=1):
        progress.start_step(number, len(steps), step.description)
        started = time.perf_counter()
        if isinstance(step, DbtStep):
            output = DbtOutput(progress, verbose=verbose)
            dbt_run = run_dbt(step.command(), target=warehouse.target, dbt_vars=dbt_vars, echo=output)
            outcome = StepOutcome(step, dbt_run.ok, time.perf_counter() - started, dbt_run=dbt_run)
            if not dbt_run.ok and not verbose:
                for line in output.failure_lines():
                    progress.line(f"    {line}")
        else:
            try:
                registry[step.job](JobContext(warehouse=warehouse, dbt_vars=dbt_vars, echo=progress.line))
                outcome = StepOutcome(step, True, time.perf_counter() - started)
            except Exception as error:
                outcome = StepOutcome(step, False, time.perf_counter() - started, error=str(error))
        progress.end_step(outcome.ok, outcome.seconds)
        report.outcomes.append(outcome)
        if not outcome.ok:
            return


def _ensure_on_demand_tables(warehouse: Warehouse) -> None:
    """Create, empty, the tables of jobs and commands that run on demand rather than in the build (product
    segmentation, deal packages, the experiments' configuration history), and the raw experiment and deal tables
    of a warehouse loaded before they existed.

    Their dbt models must build before anyone has run such a job; an empty table gives empty marts.
    """
    from python_jobs.warehouse.ml_tables import (
        DEAL_PACKAGE_TABLES,
        EXPERIMENT_TABLES,
        ML_SCHEMA,
        PRODUCT_SEGMENTATION_TABLES,
    )
    from python_jobs.warehouse.raw_tables import EXPERIMENT_RAW_TABLES, RAW_SCHEMA, RAW_TABLES

    on_demand = {
        (ML_SCHEMA, name): schema
        for name, schema in {**PRODUCT_SEGMENTATION_TABLES, **DEAL_PACKAGE_TABLES}.items()
    }
    on_demand[(ML_SCHEMA, "experiment_segmentation_config")] = EXPERIMENT_TABLES[
        "experiment_segmentation_config"
    ]
    on_demand |= {(RAW_SCHEMA, name): RAW_TABLES[name] for name in (*EXPERIMENT_RAW_TABLES, "deals")}
    with warehouse.session() as session:
        session.ensure_schema(ML_SCHEMA)
        session.ensure_schema(RAW_SCHEMA)
        for (schema_name, name), schema in on_demand.items():
            if not session.table_exists(schema_name, name):
                session.create_table(schema_name, name, schema)


def _collect_problems(report: BuildReport, warehouse: Warehouse, sample_rows: int = 5) -> None:
    """A few rows of every test that warned or failed, read before a failed build is put back."""
    problems = [p for o in report.outcomes if o.dbt_run for p in o.dbt_run.problems()]
    if not problems:
        return
    try:
        with warehouse.session(read_only=True) as session:
            for problem in problems:
                code = (problem.get("compiled_code") or "").strip().rstrip(";")
                rows: list[str] = []
                # Materialised so the LIMIT cannot talk PostgreSQL into a fast-start nested-loop plan.
                if problem["unique_id"].startswith("test.") and code:
                    try:
                        sample = session.fetch_arrow(
                            f"with finding as materialized ({code}) select * from finding limit {sample_rows}"
                        ).to_pylist()
                        rows = [", ".join(f"{k}={v}" for k, v in row.items()) for row in sample]
                    except Exception:
                        rows = []
                name = problem["unique_id"].split(".")[2]
                report.findings.append((f"{problem['status'].upper()} {name}", problem["message"], rows))
    except Exception as error:
        report.findings.append(("SUMMARY", f"could not read the warehouse: {error}", []))


def _count_rows(report: BuildReport, warehouse: Warehouse, tables: list[str]) -> None:
    """Row counts of the marts, as the build leaves them."""
    try:
        with warehouse.session(read_only=True) as session:
            for table in tables:
                schema, name = table.split(".")
                if session.table_exists(schema, name):
                    report.row_counts[table] = session.fetchone(f"select count(*) from {table}")[0]
    except Exception as error:
        report.findings.append(("SUMMARY", f"could not read the warehouse: {error}", []))


def format_report(report: BuildReport) -> str:
    lines = ["", f"Summary ({report.target})", ""]
    for outcome in report.outcomes:
        status = "ok" if outcome.ok else "FAILED"
        detail = ""
        if outcome.dbt_run is not None:
            counts = outcome.dbt_run.status_counts()
            detail = "  " + ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        if outcome.error:
            detail = f"  {outcome.error}"
        lines.append(f"  {status:<6} {outcome.seconds:7.1f}s  {outcome.step.description}{detail}")
    if report.row_counts:
        lines.append("")
        width = max(len(table) for table in report.row_counts)
        for table, count in report.row_counts.items():
            hint = (
                f"  (filled by `{report.filled_by[table]}`)"
                if not count and table in report.filled_by
                else ""
            )
            lines.append(f"  {table:<{width}} {count:>12,} rows{hint}")
    if report.findings:
        lines.append("")
        for title, message, rows in report.findings:
            lines.append(f"  {title}: {message}")
            lines.extend(f"      {row}" for row in rows)
    lines.append("")
    lines.append(report.ending())
    return "\n".join(lines)
