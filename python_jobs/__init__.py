"""Segment Warehouse: the Python side of the dbt project (jobs, CLI and shared definitions).

Keep this module free of heavy imports: dbt-py imports `python_jobs.definitions` into every dbt run.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
