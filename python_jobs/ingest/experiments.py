"""`segments load-experiments`: an A/B testing tool's export into the four raw experiment tables.

The assignments file has the columns `experiment_id, variant_id, visitor_id, assigned_at, channel, context`
(the context is one JSON object per row, the channel `web`, `email`, `funnel` or `push` in any case); the optional
conversions file has `experiment_id, visitor_id, converted_at` and may have `value`. Both files are read and
checked whole before anything is written: a missing column, an empty or unstorable id, a time that is not ISO
8601, an unknown channel, a context that is not a JSON object, a visitor assigned twice in one experiment, a
conversion of a visitor the assignments do not have, or a value that does not parse refuses the load with the
file, line and column named, and the warehouse stays as it was. A context's keys are not checked against the
channel's: unknown keys are kept as they came. An empty context is an empty object.

The experiments and their variants are derived from the assignments (name = id, status `running`, created at the
first assignment, no time zone). A good load replaces the four experiment tables in one transaction and leaves
the other raw tables as they are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from python_jobs.ingest.checked_csv import MAX_ID_CHARACTERS, CheckedCsv, control_character
from python_jobs.ingest.raw_loading import LoadError, replace_raw_tables
from python_jobs.ingest.transaction_lines import MAX_AMOUNT, parse_timestamp
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import EXPERIMENT_CHANNELS, RAW_TABLES

ASSIGNMENT_COLUMNS = ["experiment_id", "variant_id", "visitor_id", "assigned_at", "channel", "context"]
CONVERSION_COLUMNS = ["experiment_id", "visitor_id", "converted_at"]
VALUE_COLUMN = "value"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


@dataclass
class ExperimentLoad:
    """The checked tables, and what they hold."""

    tables: dict[str, pa.Table]

    def count(self, name: str) -> int:
        return self.tables[name].num_rows


def _id(source: CheckedCsv, line: int, column: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise source.error(line, column, f"empty {column.replace('_', ' ')}")
    if len(value) > MAX_ID_CHARACTERS:
        raise source.error(line, column, f"an id longer than {MAX_ID_CHARACTERS} characters")
    bad = control_character(value)
    if bad:
        raise source.error(line, column, f"a control character ({bad}) in the id")
    return value


def _time(source: CheckedCsv, line: int, column: str, value: str) -> dt.datetime:
    value = value.strip()
    try:
        return parse_timestamp(value, None)
    except (ValueError, OverflowError):
        raise source.error(
            line, column, f"cannot parse {value[:40]!r} as an ISO 8601 time (like 2026-06-01T09:30:00+02:00)"
        ) from None


def _context(source: CheckedCsv, line: int, value: str) -> str:
    text = value.strip()
    if not text:
        return "{}"
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError) as error:
        problem = (
            f"{error.msg} at character {error.pos + 1}" if isinstance(error, json.JSONDecodeError) else error
        )
        raise source.error(line, "context", f"the context is not valid JSON ({problem})") from None
    if not isinstance(parsed, dict):
        raise source.error(
            line, "context", f"the context must be a JSON object ({{...}}), found a {type(parsed).__name__}"
        )
    return text


def read_assignments(path: Path, delimiter: str = ",") -> tuple[pa.Table, dict[tuple[str, str], int]]:
    """The checked `raw.experiment_assignments` table, and the line of each (experiment, visitor)."""
    source = CheckedCsv(Path(path), delimiter, ASSIGNMENT_COLUMNS)
    at = source.position
    rows: list[dict] = []
    line_of: dict[tuple[str, str], int] = {}
    for line, fields in source:
        experiment_id = _id(source, line, "experiment_id", fields[at["experiment_id"]])
        variant_id = _id(source, line, "variant_id", fields[at["variant_id"]])
        visitor_id = _id(source, line, "visitor_id", fields[at["visitor_id"]])
        assigned_at = _time(source, line, "assigned_at", fields[at["assigned_at"]])
        channel = fields[at["channel"]].strip().lower()
        if channel not in EXPERIMENT_CHANNELS:
            raise source.error(
                line,
                "channel",
                f"unknown channel {fields[at['channel']][:40]!r} (one of {', '.join(EXPERIMENT_CHANNELS)})",
            )
        context = _context(source, line, fields[at["context"]])
        key = (experiment_id, visitor_id)
        if key in line_of:
            raise source.error(
                line,
                "visitor_id",
                f"visitor {visitor_id!r} is assigned twice in experiment {experiment_id!r} "
                f"(first on line {line_of[key]}); a visitor keeps one variant",
            )
        line_of[key] = line
        rows.append(
            {
                "experiment_id": experiment_id,
                "variant_id": variant_id,
                "visitor_id": visitor_id,
                "assigned_at": assigned_at,
                "channel": channel,
                "context": context,
            }
        )
    if not rows:
        raise LoadError(f"{source.path}: no assignments after the header")
    return pa.Table.from_pylist(rows, schema=RAW_TABLES["experiment_assignments"]), line_of


def read_conversions(path: Path, assigned: dict[tuple[str, str], int], delimiter: str = ",") -> pa.Table:
    """The checked `raw.experiment_conversions` table; every conversion's visitor must have an assignment."""
    header = CheckedCsv(Path(path), delimiter, CONVERSION_COLUMNS).header
    wanted = CONVERSION_COLUMNS + ([VALUE_COLUMN] if VALUE_COLUMN in header else [])
    source = CheckedCsv(Path(path), delimiter, wanted)
    at = source.position
    rows: list[dict] = []
    for line, fields in source:
        experiment_id = _id(source, line, "experiment_id", fields[at["experiment_id"]])
        visitor_id = _id(source, line, "visitor_id", fields[at["visitor_id"]])
        if (experiment_id, visitor_id) not in assigned:
            raise source.error(
                line,
                "visitor_id",
                f"visitor {visitor_id!r} converted in experiment {experiment_id!r} but has no assignment there",
            )
        converted_at = _time(source, line, "converted_at", fields[at["converted_at"]])
        value = None
        if VALUE_COLUMN in at:
            raw = fields[at[VALUE_COLUMN]].strip()
            if raw:
                if not _NUMBER.fullmatch(raw):
                    raise source.error(
                        line, VALUE_COLUMN, f"cannot parse value {raw[:40]!r} as a number (like 19.99)"
                    )
                if abs(Decimal(raw)) > MAX_AMOUNT:
                    raise source.error(
                        line,
                        VALUE_COLUMN,
                        f"value {raw!r} is beyond the largest the warehouse stores ({MAX_AMOUNT:,})",
                    )
                value = float(raw)
        rows.append(
            {
                "experiment_id": experiment_id,
                "visitor_id": visitor_id,
                "converted_at": converted_at,
                "conversion_value": value,
            }
        )
    return pa.Table.from_pylist(rows, schema=RAW_TABLES["experiment_conversions"])


def _derived_experiments(assignments: pa.Table) -> tuple[pa.Table, pa.Table]:
    first_assigned: dict[str, dt.datetime] = {}
    variants: dict[tuple[str, str], None] = {}
    for row in assignments.select(["experiment_id", "variant_id", "assigned_at"]).to_pylist():
        experiment = row["experiment_id"]
        if experiment not in first_assigned or row["assigned_at"] < first_assigned[experiment]:
            first_assigned[experiment] = row["assigned_at"]
        variants[(experiment, row["variant_id"])] = None
    experiments = [
        {
            "experiment_id": experiment,
            "experiment_name": experiment,
            "experiment_status": "running",
            "created_at": created_at,
            "time_zone": None,
        }
        for experiment, created_at in sorted(first_assigned.items())
    ]
    variant_rows = [
        {"experiment_id": experiment, "variant_id": variant, "variant_name": variant}
        for experiment, variant in sorted(variants)
    ]
    return (
        pa.Table.from_pylist(experiments, schema=RAW_TABLES["experiments"]),
        pa.Table.from_pylist(variant_rows, schema=RAW_TABLES["experiment_variants"]),
    )


def check_experiment_files(
    assignments_path: Path, conversions_path: Path | None = None, delimiter: str = ","
) -> ExperimentLoad:
    """Read and check both files whole; raise LoadError naming the file, line and column of the first problem."""
    assignments, assigned = read_assignments(assignments_path, delimiter)
    conversions = (
        read_conversions(conversions_path, assigned, delimiter)
        if conversions_path is not None
        else RAW_TABLES["experiment_conversions"].empty_table()
    )
    experiments, variants = _derived_experiments(assignments)
    return ExperimentLoad(
        {
            "experiments": experiments,
            "experiment_variants": variants,
            "experiment_assignments": assignments,
            "experiment_conversions": conversions,
        }
    )


def write_experiments(warehouse: Warehouse, load: ExperimentLoad) -> dict[str, int]:
    """Replace the four experiment tables in one transaction; the other raw tables are created empty if missing."""
    return replace_raw_tables(warehouse, load.tables)
