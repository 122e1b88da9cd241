"""The `check_eligibility` job and the decisions on its recommendations.

For every experiment it reads the latest trailing 7-day mean of daily visitors (`marts.experiment_traffic_stats`),
the config in force, and the assignments with their context and conversion
(`intermediate.int_experiment_assignment_outcomes`); `python_jobs.experiments.recommendations` says what the
traffic supports and the lift to expect. A recommendation is appended to `ml.experiment_segmentation_recommendations`
only when it differs (mode or fields) from the experiment's latest one, so a rebuild on the same data adds nothing.
An experiment with auto-activation on, still disabled, that reaches its threshold is switched to the recommended
mode (a config row by `auto_activation`), and `ml.experiment_auto_activations` says when and why. Everything is
written in one transaction tagged with the run's id: a failure writes nothing.

`segments experiments accept ID` / `dismiss ID` append to `ml.experiment_recommendation_decisions`; accepting a
manual or auto recommendation also appends the config it recommends (changed_by `recommendation <id>`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from python_jobs.experiments.config import CONFIG_TABLE, SegmentationConfig, _latest
from python_jobs.experiments.recommendations import (
    CANDIDATE_FIELDS,
    LIFT_METHOD,
    Recommendation,
    recommend,
    visitor_halves,
)
from python_jobs.warehouse.connection import Session, Warehouse
from python_jobs.warehouse.ml_tables import EXPERIMENT_TABLES, ML_SCHEMA

if TYPE_CHECKING:
    from python_jobs.warehouse.jobs import JobContext

JOB_NAME = "check_eligibility"
RECOMMENDATIONS_TABLE = "experiment_segmentation_recommendations"
DECISIONS_TABLE = "experiment_recommendation_decisions"
ACTIVATIONS_TABLE = "experiment_auto_activations"
_TS = pa.timestamp("us", tz="UTC")
ELIGIBILITY_TABLES: dict[str, pa.Schema] = {
    RECOMMENDATIONS_TABLE: pa.schema(
        [
            ("recommendation_id", pa.string()),
            ("experiment_id", pa.string()),
            ("traffic_as_of", pa.date32()),  # the last day of traffic the recommendation saw
            ("trailing_7_day_mean_visitors", pa.float64()),
            ("auto_activation_threshold", pa.int64()),
            ("is_eligible", pa.bool_()),
            ("recommended_mode", pa.string()),  # disabled (insights only) | manual | auto
            ("segment_by", pa.string()),  # JSON list, as in the config
            ("best_single_variant_rate", pa.float64()),
            ("per_segment_rate", pa.float64()),
            ("expected_lift", pa.float64()),  # per_segment_rate / best_single_variant_rate - 1
            ("lift_method", pa.string()),
            ("field_scores", pa.string()),  # JSON: chi-square and p-value per candidate field
            ("reason", pa.string()),
            ("run_id", pa.string()),
            ("recommended_at", _TS),
        ]
    ),
    DECISIONS_TABLE: pa.schema(
        [
            ("recommendation_id", pa.string()),
            ("decision", pa.string()),  # accepted | dismissed
            ("decided_at", _TS),
            ("decided_by", pa.string()),
        ]
    ),
    ACTIVATIONS_TABLE: pa.schema(
        [
            ("experiment_id", pa.string()),
            ("recommendation_id", pa.string()),
            ("activated_at", _TS),
            ("traffic_as_of", pa.date32()),
            ("trailing_7_day_mean_visitors", pa.float64()),
            ("auto_activation_threshold", pa.int64()),
            ("mode", pa.string()),
            ("segment_by", pa.string()),
            ("reason", pa.string()),
            ("run_id", pa.string()),
        ]
    ),
}

_LATEST_TRAFFIC = (
    "select experiment_id, activity_date, trailing_7_day_mean_visitors from ("
    " select *, row_number() over (partition by experiment_id order by activity_date desc) as recency"
    " from marts.experiment_traffic_stats where is_whole_experiment) as ranked "
    "where recency = 1 order by experiment_id"
)
_OUTCOMES = (
    f"select visitor_id, variant_id, converted, {', '.join(CANDIDATE_FIELDS)} "
    "from intermediate.int_experiment_assignment_outcomes where experiment_id = ? order by visitor_id"
)


class RecommendationError(ValueError):
    """A decision that cannot be made; the message says which recommendation and why."""


def ensure_tables(session: Session) -> None:
    session.ensure_schema(ML_SCHEMA)
    for name, schema in ELIGIBILITY_TABLES.items():
        if not session.table_exists(ML_SCHEMA, name):
            session.create_table(ML_SCHEMA, name, schema)


def _append_config(session: Session, config: SegmentationConfig) -> None:
    row = dataclasses.asdict(config)
    row["segment_by"] = json.dumps(list(config.segment_by))
    session.append_table(
        ML_SCHEMA, CONFIG_TABLE, pa.Table.from_pylist([row], EXPERIMENT_TABLES[CONFIG_TABLE])
    )


def _recommendation_for(session: Session, experiment_id: str, mean: float, config) -> Recommendation:
    outcomes = session.fetch_arrow(_OUTCOMES, [experiment_id]).to_pydict()
    visitors = outcomes["visitor_id"]
    return recommend(
        experiment_id,
        mean,
        config.auto_activation_threshold,
        {field: outcomes[field] for field in CANDIDATE_FIELDS},
        outcomes["variant_id"],
        np.array(outcomes["converted"], dtype=bool),
        visitor_halves(visitors),
        config.min_samples_per_segment,
    )


def check_eligibility(warehouse: Warehouse, echo=print, now: dt.datetime | None = None) -> dict[str, int]:
    """Recommend for every experiment with traffic, and auto-activate; returns how many rows were added."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    run_id = str(uuid.uuid4())
    added = {"recommendations": 0, "auto_activations": 0}
    with warehouse.session() as session:
        ensure_tables(session)
        latest = {
            row[0]: (row[1], row[2])
            for row in session.fetchall(
                f"select experiment_id, recommended_mode, segment_by from ("
                f" select *, row_number() over (partition by experiment_id order by recommended_at desc) as r"
                f" from {ML_SCHEMA}.{RECOMMENDATIONS_TABLE}) as ranked where r = 1"
            )
        }
        for experiment_id, as_of, mean in session.fetchall(_LATEST_TRAFFIC):
            config = _latest(session, experiment_id) or SegmentationConfig(experiment_id)
            found = _recommendation_for(session, experiment_id, mean, config)
            segment_by = json.dumps(list(found.segment_by))
            recommendation_id = hashlib.sha256(
                f"{experiment_id}|{found.recommended_mode}|{segment_by}|{as_of}".encode()
            ).hexdigest()[:12]
            if latest.get(experiment_id) != (found.recommended_mode, segment_by):
                row = {
                    "recommendation_id": recommendation_id,
                    "experiment_id": experiment_id,
                    "traffic_as_of": as_of,
                    "trailing_7_day_mean_visitors": mean,
                    "auto_activation_threshold": config.auto_activation_threshold,
                    "is_eligible": found.is_eligible,
                    "recommended_mode": found.recommended_mode,
                    "segment_by": segment_by,
                    "best_single_variant_rate": found.lift.best_single_variant_rate,
                    "per_segment_rate": found.lift.per_segment_rate,
                    "expected_lift": found.lift.relative_lift,
                    "lift_method": LIFT_METHOD,
                    "field_scores": json.dumps(
                        {
                            s.field: {"chi_square": s.chi_square, "p_value": s.p_value}
                            for s in found.field_scores
                        }
                    ),
                    "reason": found.reason,
                    "run_id": run_id,
                    "recommended_at": now,
                }
                session.insert_arrow(
                    ML_SCHEMA,
                    RECOMMENDATIONS_TABLE,
                    pa.Table.from_pylist([row], ELIGIBILITY_TABLES[RECOMMENDATIONS_TABLE]),
                )
                latest[experiment_id] = (found.recommended_mode, segment_by)
                added["recommendations"] += 1
                echo(f"  {experiment_id}: {found.reason}")
            if config.auto_activation and config.mode == "disabled" and found.is_eligible:
                switched = dataclasses.replace(
                    config,
                    mode=found.recommended_mode,
                    segment_by=found.segment_by,
                    changed_at=now,
                    changed_by="auto_activation",
                )
                _append_config(session, switched)
                why = (
                    f"{mean:,.0f} visitors a day (trailing 7-day mean to {as_of}) reached the auto-activation "
                    f"threshold of {config.auto_activation_threshold:,}; switched to {switched.mode}"
                    + (f" by {', '.join(switched.segment_by)}" if switched.segment_by else "")
                )
                activation = {
                    "experiment_id": experiment_id,
                    "recommendation_id": recommendation_id,
                    "activated_at": now,
                    "traffic_as_of": as_of,
                    "trailing_7_day_mean_visitors": mean,
                    "auto_activation_threshold": config.auto_activation_threshold,
                    "mode": switched.mode,
                    "segment_by": json.dumps(list(switched.segment_by)),
                    "reason": why,
                    "run_id": run_id,
                }
                session.insert_arrow(
                    ML_SCHEMA,
                    ACTIVATIONS_TABLE,
                    pa.Table.from_pylist([activation], ELIGIBILITY_TABLES[ACTIVATIONS_TABLE]),
                )
                added["auto_activations"] += 1
                echo(f"  {experiment_id}: auto-activated: {why}")
    echo(
        f"  {added['recommendations']} new recommendation(s), {added['auto_activations']} auto-activation(s) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return added


def decide(
    warehouse: Warehouse,
    recommendation_id: str,
    decision: str,
    *,
    decided_by: str = "cli",
    now: dt.datetime | None = None,
) -> str:
    """Record `accepted` or `dismissed`; accepting applies the recommended config. Returns what was done."""
    now = now or dt.datetime.now(dt.UTC)
    with warehouse.session() as session:
        ensure_tables(session)
        row = session.fetchone(
            f"select experiment_id, recommended_mode, segment_by from {ML_SCHEMA}.{RECOMMENDATIONS_TABLE} "
            "where recommendation_id = ?",
            [recommendation_id],
        )
        if row is None:
            raise RecommendationError(
                f"no recommendation {recommendation_id!r} (`segments experiments recommendations` lists them)"
            )
        earlier = session.fetchone(
            f"select decision, decided_at from {ML_SCHEMA}.{DECISIONS_TABLE} where recommendation_id = ?",
            [recommendation_id],
        )
        if earlier is not None:
            raise RecommendationError(
                f"recommendation {recommendation_id} was already {earlier[0]} at {earlier[1]:%Y-%m-%d %H:%M}"
            )
        experiment_id, mode, segment_by = row
        session.insert_arrow(
            ML_SCHEMA,
            DECISIONS_TABLE,
            pa.Table.from_pylist(
                [
                    {
                        "recommendation_id": recommendation_id,
                        "decision": decision,
                        "decided_at": now,
                        "decided_by": decided_by,
                    }
                ],
                ELIGIBILITY_TABLES[DECISIONS_TABLE],
            ),
        )
        if decision != "accepted":
            return f"Dismissed {recommendation_id} ({experiment_id}); the config is unchanged."
        current = _latest(session, experiment_id) or SegmentationConfig(experiment_id)
        fields = tuple(json.loads(segment_by))
        if current.mode == mode and current.segment_by == fields:
            return f"Accepted {recommendation_id}; {experiment_id} already runs that config."
        if current.changed_at is not None and now <= current.changed_at:
            raise RecommendationError(
                f"the config of {experiment_id} in force was changed at {current.changed_at.isoformat()}, "
                "not before this decision"
            )
        applied = dataclasses.replace(
            current,
            mode=mode,
            segment_by=fields,
            changed_at=now,
            changed_by=f"recommendation {recommendation_id}",
        )
        _append_config(session, applied)
        return f"Accepted {recommendation_id}; now in force: {applied.describe()}."


def list_recommendations(warehouse: Warehouse, experiment_id: str | None = None) -> list[dict]:
    """The recommendations, newest first, with their decision (pending when none)."""
    with warehouse.session(read_only=True) as session:
        if not session.table_exists(ML_SCHEMA, RECOMMENDATIONS_TABLE):
            return []
        decisions = session.table_exists(ML_SCHEMA, DECISIONS_TABLE)
        decision = "coalesce(decisions.decision, 'pending')" if decisions else "'pending'"
        join = (
            f"left join {ML_SCHEMA}.{DECISIONS_TABLE} as decisions "
            "on recommendations.recommendation_id = decisions.recommendation_id"
            if decisions
            else ""
        )
        where, params = (
            ("where recommendations.experiment_id = ?", [experiment_id]) if experiment_id else ("", [])
        )
        table = session.fetch_arrow(
            f"select recommendations.*, {decision} as status "
            f"from {ML_SCHEMA}.{RECOMMENDATIONS_TABLE} as recommendations {join} {where} "
            "order by recommendations.recommended_at desc, recommendations.experiment_id",
            params,
        )
    return table.to_pylist()


def run_job(context: JobContext) -> dict[str, int]:
    return check_eligibility(context.warehouse, context.echo)
