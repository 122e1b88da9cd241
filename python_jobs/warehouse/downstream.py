"""After a Python job run on its own, rebuild the dbt models downstream of the tables it wrote.

`segments build` rebuilds them as a step of its plan; `segments run cluster-customers` and `segments
product-segmentation run` run outside it, so without this the marts would show the previous run until the next
build. The selection is the planner's (`source:<its tables>+`); a parent of those models that was never built
(a fresh warehouse) is built too, with what it needs, so the rebuild also works before the first build.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from python_jobs.warehouse.build import JOB_META_KEY, DbtStep, _descendants, _meta, _selector
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import DbtRun, Echo, load_manifest, run_dbt

_RELATIONS = {"model", "seed", "snapshot"}


def job_output_sources(manifest: dict[str, Any], job: str) -> list[str]:
    """The sources a registered job writes (their meta names it)."""
    return sorted(
        uid for uid, source in manifest["sources"].items() if _meta(source).get(JOB_META_KEY) == job
    )


def table_sources(manifest: dict[str, Any], schema: str, tables: Iterable[str]) -> list[str]:
    """The sources of the given tables of one schema (for on-demand jobs, whose sources name no job)."""
    wanted = set(tables)
    return sorted(
        uid
        for uid, source in manifest["sources"].items()
        if source.get("schema") == schema and source["name"] in wanted
    )


def plan_rebuild(manifest: dict[str, Any], sources: list[str], is_built) -> DbtStep | None:
    """`dbt build` of everything downstream of `sources`, plus (with their ancestors) the parents of those
    models that `is_built(schema, name)` says do not exist yet."""
    if not sources:
        return None
    downstream = _descendants(manifest, sources)
    select = [f"{_selector(manifest['sources'][uid])}+" for uid in sources]
    missing: set[str] = set()
    for node_id in downstream:
        for parent in manifest.get("parent_map", {}).get(node_id, []):
            node = manifest["nodes"].get(parent)
            if parent in downstream or node is None or node.get("resource_type") not in _RELATIONS:
                continue
            if node.get("config", {}).get("materialized") == "ephemeral":
                continue
            if not is_built(node["schema"], node.get("alias") or node["name"]):
                missing.add(node["name"])
    select += [f"+{name}" for name in sorted(missing)]
    names = ", ".join(manifest["sources"][uid]["name"] for uid in sources)
    return DbtStep(f"dbt build (models and tests downstream of {names})", select=tuple(select))


def rebuild_downstream(
    warehouse: Warehouse,
    *,
    job: str | None = None,
    schema: str | None = None,
    tables: Iterable[str] = (),
    echo: Echo | None = None,
) -> DbtRun | None:
    """Rebuild the models downstream of a job's output tables: by its registered name (`job`) or by the
    tables it writes (`schema`, `tables`). Returns dbt's run, or None when nothing is downstream."""
    manifest = load_manifest(warehouse.target)
    sources = job_output_sources(manifest, job) if job else table_sources(manifest, schema or "", tables)
    with warehouse.session(read_only=True) as session:
        step = plan_rebuild(manifest, sources, session.table_exists)
    if step is None:
        return None
    if echo:
        echo(step.description)
    # `buildable`: the tests of the rebuilt models, and not those that also read a model left as it is (a
    # data-quality test over every raw table, say), which an earlier build ran and a later one will.
    command = [*step.command(), "--indirect-selection", "buildable"]
    return run_dbt(command, target=warehouse.target, echo=None)
