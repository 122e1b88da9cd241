"""The Python jobs `segments build` can run, by the name dbt's manifest gives them.

A job is registered here once: its name is the `meta.segments_job` of the `ml` sources it writes and of the
exposure listing the models it reads (see `python_jobs.warehouse.build`). Each entry imports its capability
only when the job runs, so planning a build needs neither scikit-learn nor the LLM layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import Echo


@dataclass
class JobContext:
    """What a job is handed: where to read and write, and how to report progress."""

    warehouse: Warehouse
    dbt_vars: dict[str, Any]
    echo: Echo


JobFunction = Callable[[JobContext], Any]


def _cluster_customers(context: JobContext) -> Any:
    # Imported when the job runs: the planner and the CLI's other commands need no scikit-learn.
    from python_jobs.segmentation.job import run_job

    return run_job(context)


def _fit_clv(context: JobContext) -> Any:
    from python_jobs.clv.job import run_job

    return run_job(context)


def _parse_user_agents(context: JobContext) -> Any:
    from python_jobs.experiments.user_agent_job import run_job

    return run_job(context)


def _check_eligibility(context: JobContext) -> Any:
    from python_jobs.experiments.eligibility import run_job

    return run_job(context)


def _cluster_experiments(context: JobContext) -> Any:
    from python_jobs.experiments.clustering import run_job

    return run_job(context)


def _update_experiment_weights(context: JobContext) -> Any:
    from python_jobs.experiments.weights_job import run_job

    return run_job(context)


def _explain_segments(context: JobContext) -> Any:
    from python_jobs.insights.job import run_job

    return run_job(context)


# Jobs by name; the names are what the manifest's `meta.segments_job` refers to.
JOBS: dict[str, JobFunction] = {
    "cluster_customers": _cluster_customers,
    "fit_clv": _fit_clv,
    "parse_user_agents": _parse_user_agents,
    "check_eligibility": _check_eligibility,
    "cluster_experiments": _cluster_experiments,
    "update_experiment_weights": _update_experiment_weights,
    "explain_segments": _explain_segments,
}
