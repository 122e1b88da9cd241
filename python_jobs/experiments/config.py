"""The segmentation configuration of an experiment, kept as history in `ml.experiment_segmentation_config`.

Every change appends one row with when and who made it (`cli`, `auto_activation`, `recommendation <id>`); nothing
is updated or deleted, and the config in force is the latest row (the model
`int_experiment_segmentation_config_current` says which). A change names only what it changes: the other settings
carry over from the config in force, or take the defaults when the experiment has none yet.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

import pyarrow as pa

from python_jobs.experiments.definitions import (
    DEFAULT_AUTO_ACTIVATION_THRESHOLD,
    DEFAULT_MIN_SAMPLES_PER_SEGMENT,
    DEFAULT_MODE,
    MAX_SEGMENT_BY_FIELDS,
    SEGMENT_FIELDS,
    SEGMENTATION_MODES,
)
from python_jobs.warehouse.connection import Session, Warehouse
from python_jobs.warehouse.ml_tables import EXPERIMENT_TABLES, ML_SCHEMA
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

CONFIG_TABLE = "experiment_segmentation_config"


class ConfigError(ValueError):
    """A configuration change that cannot be made; the message says which setting and why."""


@dataclass(frozen=True)
class SegmentationConfig:
    experiment_id: str
    mode: str = DEFAULT_MODE
    segment_by: tuple[str, ...] = ()
    min_samples_per_segment: int = DEFAULT_MIN_SAMPLES_PER_SEGMENT
    auto_activation: bool = False
    auto_activation_threshold: int = DEFAULT_AUTO_ACTIVATION_THRESHOLD
    changed_at: dt.datetime | None = None
    changed_by: str | None = None

    def describe(self) -> str:
        fields = ", ".join(self.segment_by) if self.segment_by else "nothing"
        activation = (
            f"on at {self.auto_activation_threshold:,} visitors a day" if self.auto_activation else "off"
        )
        return (
            f"{self.experiment_id}: mode {self.mode}, segment by {fields}, at least "
            f"{self.min_samples_per_segment:,} assignments per segment, auto-activation {activation}"
        )


def parse_segment_by(text: str) -> tuple[str, ...]:
    """`source,device` as an ordered tuple of known context fields, or a ConfigError naming the bad one."""
    fields = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    for field in fields:
        if field not in SEGMENT_FIELDS:
            raise ConfigError(
                f"--segment-by: unknown context field {field!r} (one of {', '.join(SEGMENT_FIELDS)})"
            )
    twice = [field for field in fields if fields.count(field) > 1]
    if twice:
        raise ConfigError(f"--segment-by: {twice[0]!r} is named twice")
    if len(fields) > MAX_SEGMENT_BY_FIELDS:
        raise ConfigError(f"--segment-by: at most {MAX_SEGMENT_BY_FIELDS} fields, got {len(fields)}")
    return fields


def _latest(session: Session, experiment_id: str) -> SegmentationConfig | None:
    if not session.table_exists(ML_SCHEMA, CONFIG_TABLE):
        return None
    row = session.fetchone(
        "select mode, segment_by, min_samples_per_segment, auto_activation, auto_activation_threshold, "
        f"changed_at, changed_by from {ML_SCHEMA}.{CONFIG_TABLE} where experiment_id = ? "
        "order by changed_at desc limit 1",
        [experiment_id],
    )
    if row is None:
        return None
    mode, segment_by, min_samples, auto_activation, threshold, changed_at, changed_by = row
    return SegmentationConfig(
        experiment_id,
        mode,
        tuple(json.loads(segment_by or "[]")),
        min_samples,
        bool(auto_activation),
        threshold,
        changed_at,
        changed_by,
    )


def config_in_force(warehouse: Warehouse, experiment_id: str) -> SegmentationConfig:
    """The latest row for the experiment, or the defaults when it has none."""
    with warehouse.session(read_only=True) as session:
        return _latest(session, experiment_id) or SegmentationConfig(experiment_id)


def change_config(
    warehouse: Warehouse,
    experiment_id: str,
    *,
    changed_by: str,
    mode: str | None = None,
    segment_by: tuple[str, ...] | None = None,
    min_samples_per_segment: int | None = None,
    auto_activation: bool | None = None,
    auto_activation_threshold: int | None = None,
    now: dt.datetime | None = None,
) -> SegmentationConfig:
    """Append the changed config for a known experiment; the settings not given carry over."""
    if mode is not None and mode not in SEGMENTATION_MODES:
        raise ConfigError(f"--mode: {mode!r} is not one of {', '.join(SEGMENTATION_MODES)}")
    if min_samples_per_segment is not None and min_samples_per_segment < 1:
        raise ConfigError(f"--min-samples-per-segment must be at least 1, got {min_samples_per_segment}")
    if auto_activation_threshold is not None and auto_activation_threshold < 1:
        raise ConfigError(f"--auto-activation-threshold must be at least 1, got {auto_activation_threshold}")
    with warehouse.session() as session:
        known = (
            session.table_exists(RAW_SCHEMA, "experiments")
            and session.fetchone(
                f"select count(*) from {RAW_SCHEMA}.experiments where trim(experiment_id) = ?",
                [experiment_id],
            )[0]
        )
        if not known:
            raise ConfigError(f"no experiment {experiment_id!r} in {RAW_SCHEMA}.experiments")
        current = _latest(session, experiment_id) or SegmentationConfig(experiment_id)
        changed = SegmentationConfig(
            experiment_id,
            mode if mode is not None else current.mode,
            segment_by if segment_by is not None else current.segment_by,
            min_samples_per_segment
            if min_samples_per_segment is not None
            else current.min_samples_per_segment,
            auto_activation if auto_activation is not None else current.auto_activation,
            auto_activation_threshold
            if auto_activation_threshold is not None
            else current.auto_activation_threshold,
            now or dt.datetime.now(dt.UTC),
            changed_by,
        )
        if changed.mode == "manual" and not changed.segment_by:
            raise ConfigError("--mode manual needs the fields to segment by: --segment-by source,device")
        if current.changed_at is not None and changed.changed_at <= current.changed_at:
            raise ConfigError(
                f"the config in force was changed at {current.changed_at.isoformat()}, not before this change"
            )
        row = asdict(changed)
        row["segment_by"] = json.dumps(list(changed.segment_by))
        session.append_table(
            ML_SCHEMA, CONFIG_TABLE, pa.Table.from_pylist([row], EXPERIMENT_TABLES[CONFIG_TABLE])
        )
    return changed
