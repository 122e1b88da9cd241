"""The `parse_user_agents` job: every distinct user agent parsed once, into `ml.user_agent_lookup`.

It reads `intermediate.int_experiment_user_agents` (its `ml` exposure), keeps the strings the lookup does not
hold yet, parses each with `python_jobs.experiments.user_agents` and appends them, tagged with the run's id, in
one transaction: ten million assignments with ten thousand distinct agents cost ten thousand parses, and a
rebuild with no new agent costs none. A failure writes nothing.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import TYPE_CHECKING

import pyarrow as pa

from python_jobs.experiments.user_agents import parse_user_agent, parser_version
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.ml_tables import EXPERIMENT_TABLES, ML_SCHEMA

if TYPE_CHECKING:
    from python_jobs.warehouse.jobs import JobContext

JOB_NAME = "parse_user_agents"
LOOKUP_TABLE = "user_agent_lookup"
_NEW_AGENTS = (
    "select agents.user_agent from intermediate.int_experiment_user_agents as agents "
    f"where not exists (select 1 from {ML_SCHEMA}.{LOOKUP_TABLE} as lookup "
    "where lookup.user_agent = agents.user_agent) order by agents.user_agent"
)


def parse_new_user_agents(warehouse: Warehouse, echo=print) -> int:
    """Parse and append the agents not yet in the lookup; returns how many were added."""
    started = time.perf_counter()
    schema = EXPERIMENT_TABLES[LOOKUP_TABLE]
    with warehouse.session() as session:
        session.ensure_schema(ML_SCHEMA)
        if not session.table_exists(ML_SCHEMA, LOOKUP_TABLE):
            session.create_table(ML_SCHEMA, LOOKUP_TABLE, schema)
        agents = [row[0] for row in session.fetchall(_NEW_AGENTS)]
        parsed = [parse_user_agent(agent) for agent in agents]
        run_id, now, parser = str(uuid.uuid4()), dt.datetime.now(dt.UTC), parser_version()
        table = pa.Table.from_pydict(
            {
                "user_agent": agents,
                "device": [p.device for p in parsed],
                "os": [p.os for p in parsed],
                "browser": [p.browser for p in parsed],
                "parser": [parser] * len(agents),
                "run_id": [run_id] * len(agents),
                "parsed_at": [now] * len(agents),
            },
            schema=schema,
        )
        if agents:
            session.insert_arrow(ML_SCHEMA, LOOKUP_TABLE, table)
    echo(f"  parsed {len(agents):,} new user agents in {time.perf_counter() - started:.1f}s")
    return len(agents)


def run_job(context: JobContext) -> int:
    return parse_new_user_agents(context.warehouse, context.echo)
