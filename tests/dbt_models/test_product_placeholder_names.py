"""The product placeholder segment names are defined once, in python_jobs/definitions.py.

The SQL reads them through dbt-py (`modules.segments.OUT_OF_SCOPE_SEGMENT`), so no model or dbt test may spell
them out, and the job's table module must agree with the definitions until it imports them from there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from python_jobs.definitions import OUT_OF_SCOPE_SEGMENT, UNASSIGNED_SEGMENT

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_FOLDERS = ("models", "macros", "tests/dbt")
# Comments may name them; code may not.
_COMMENTS = re.compile(r"--[^\n]*|\{#.*?#\}", re.DOTALL)


def sql_code(path: Path) -> str:
    return _COMMENTS.sub("", path.read_text())


@pytest.mark.parametrize("name", [OUT_OF_SCOPE_SEGMENT, UNASSIGNED_SEGMENT])
def test_no_sql_file_spells_out_a_placeholder_name(name):
    spelled_out = [
        str(path.relative_to(PROJECT_ROOT))
        for folder in SQL_FOLDERS
        for path in sorted((PROJECT_ROOT / folder).rglob("*.sql"))
        if name in sql_code(path)
    ]
    assert spelled_out == []


def test_python_takes_the_names_from_definitions_only():
    """No module defines the names again: `definitions` is the one place (and dbt reads them from there)."""
    defined_again = [
        str(path.relative_to(PROJECT_ROOT))
        for path in sorted((PROJECT_ROOT / "python_jobs").rglob("*.py"))
        if path.name != "definitions.py"
        and any(f"{name} = " in path.read_text() for name in ("OUT_OF_SCOPE_SEGMENT", "UNASSIGNED_SEGMENT"))
    ]
    assert defined_again == []
