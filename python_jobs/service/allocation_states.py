"""Each experiment's allocation inputs, held by the service for a moment.

Allocating a visitor reads the experiment's time zone, its weights in force, its segmentation config and (auto
mode) its clustering model: five to eight queries, the same for every visitor of the experiment. The service keeps
them per experiment for `HOLD_SECONDS` and reads only the visitor's own earlier assignment per request, which is
what lets one process allocate hundreds of visitors a second. A change made through the service itself (a config
PUT, an accepted recommendation) is seen at once (`forget`); weights written by a job are seen within
`HOLD_SECONDS`, while a visitor already assigned keeps their variant whatever the weights say.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from python_jobs.experiments.visitor_allocation import ExperimentState, load_experiment_state
from python_jobs.service.state import ServiceWarehouse
from python_jobs.warehouse.connection import WarehouseError
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

HOLD_SECONDS = 1.0


class ExperimentStates:
    def __init__(self, hold_seconds: float | None = None) -> None:
        self.hold_seconds = HOLD_SECONDS if hold_seconds is None else hold_seconds
        self._held: dict[str, tuple[float, ExperimentState]] = {}
        self._mutex = threading.Lock()

    def get(self, warehouse: ServiceWarehouse, experiment_id: str) -> ExperimentState:
        """The experiment's state, read from the warehouse when not held or held too long (AllocationError when
        the experiment cannot be allocated: never held)."""
        now = time.monotonic()
        with self._mutex:
            held = self._held.get(experiment_id)
        if held is not None and now - held[0] < self.hold_seconds:
            return held[1]
        with warehouse.session(read_only=True) as session:
            state = load_experiment_state(session, experiment_id)
        with self._mutex:
            self._held[experiment_id] = (now, state)
        return state

    def forget(self, experiment_id: str) -> None:
        with self._mutex:
            self._held.pop(experiment_id, None)


# The visitor's earlier assignment is looked up by the trimmed ids (raw rows may carry spaces): on PostgreSQL an
# index on those expressions turns the lookup from a scan of every assignment into one probe.
ASSIGNMENT_INDEX = (
    f"create index if not exists experiment_assignments_trimmed_ids on {RAW_SCHEMA}.experiment_assignments "
    "((trim(experiment_id)), (trim(visitor_id)))"
)


def index_assignments(warehouse: ServiceWarehouse, notify: Callable[[str], None]) -> None:
    """Create the assignment lookup's index on PostgreSQL when the table exists (DuckDB scans fast enough and
    keeps one writer); a failure is reported, not fatal: allocation still works, only slower."""
    if warehouse.kind != "postgres":
        return
    try:
        with warehouse.writes(), warehouse.session() as session:
            if session.table_exists(RAW_SCHEMA, "experiment_assignments"):
                # Service processes starting together (`--workers`) take turns: two concurrent `create index if
                # not exists` of one name collide in the catalogue.
                session.execute("select pg_advisory_xact_lock(hashtextextended(?, 0))", [ASSIGNMENT_INDEX])
                session.execute(ASSIGNMENT_INDEX)
    except WarehouseError as error:
        notify(f"could not index {RAW_SCHEMA}.experiment_assignments for allocation lookups: {error}")
