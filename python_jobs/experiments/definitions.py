"""What the experiment models and jobs share, written once: the context fields a segment can be cut by, the
segment-key format, and the configuration's defaults.

dbt-py injects this module into dbt's Jinja context as `modules.experiments` (see `[tool.dbt-py]` in
pyproject.toml): `int_experiment_segment_keys` builds its keys from `SEGMENT_FIELDS` and the separators below,
and `segments experiments config` checks `--segment-by` against the same list. Keep it import-light: every dbt
invocation loads it.
"""

from __future__ import annotations

# The columns of int_experiment_contexts a segment can be cut by, in the order they are listed to a user.
UNIFORM_CONTEXT_FIELDS = (
    "channel",
    "source",
    "medium",
    "device",
    "os",
    "browser",
    "country",
    "hour",
    "day_of_week",
    "is_weekend",
)
# Each channel's own fields, typed in int_experiment_contexts (text unless listed in NUMERIC_CONTEXT_FIELDS).
CHANNEL_FIELDS = {
    "web": ("utm_source", "utm_medium", "referrer", "user_agent", "country_code"),
    "email": ("list_id", "engagement_score", "previous_opens", "campaign_id"),
    "funnel": ("funnel_id", "current_stage", "drop_risk", "time_in_funnel_minutes"),
    "push": ("app", "platform", "os_version"),
}
DOUBLE_CONTEXT_FIELDS = ("engagement_score", "drop_risk", "time_in_funnel_minutes")
INTEGER_CONTEXT_FIELDS = ("previous_opens",)
# A raw user agent or referrer can be kilobytes long and a continuous score has no values to group by (the auto
# clustering handles those): neither is a segment field.
SEGMENT_FIELDS = UNIFORM_CONTEXT_FIELDS + tuple(
    name
    for fields in CHANNEL_FIELDS.values()
    for name in fields
    if name not in ("user_agent", "referrer") and name not in DOUBLE_CONTEXT_FIELDS
)
# A segment key: `source:instagram|device:mobile`, the fields in their configured order, values trimmed and
# lower-cased, a separator inside a value replaced by `_` so that a key always splits back into its fields.
SEGMENT_KEY_FIELD_SEPARATOR = "|"
SEGMENT_KEY_VALUE_SEPARATOR = ":"
MISSING_SEGMENT_VALUE = "unknown"
# The key of an experiment that is not segmented: everyone is in one segment.
POOLED_SEGMENT_KEY = "all"
# In auto mode a visitor's segment is their cluster under the experiment's latest clustering model: `cluster:3`.
# Not a context field, so never a `--segment-by` choice.
CLUSTER_SEGMENT_FIELD = "cluster"
MAX_SEGMENT_BY_FIELDS = 4

SEGMENTATION_MODES = ("disabled", "manual", "auto")
DEFAULT_MODE = "disabled"
DEFAULT_MIN_SAMPLES_PER_SEGMENT = 100
DEFAULT_AUTO_ACTIVATION_THRESHOLD = 1_000  # visitors a day, as a trailing 7-day mean
# Every variant keeps at least this share of a segment's new visitors, so that none stops being measured.
ALLOCATION_WEIGHT_FLOOR = 0.01
# A segment's weights add up to 1 within this tolerance (they are floats).
ALLOCATION_WEIGHT_TOLERANCE = 1e-6
# A sample-ratio check under this p-value raises an alert (python_jobs/experiments/srm.py, marts.experiment_alerts).
SAMPLE_RATIO_ALERT_P_VALUE = 0.001
# What marts.experiment_alerts can say, in the order they are listed.
EXPERIMENT_ALERT_TYPES = (
    "low_converting_segment",
    "sample_ratio_mismatch",
    "stale_clustering_model",
    "auto_activation_due",
)
# An auto experiment's latest clustering model trained more than this many days before its last assignment is
# stale (marts.experiment_alerts).
CLUSTER_MODEL_MAX_AGE_DAYS = 7
DEVICE_CLASSES = ("mobile", "tablet", "desktop", "bot", "unknown")
DAYS_OF_WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def segment_key(values: list[tuple[str, object]]) -> str:
    """The key of one visitor's segment from its (field, value) pairs in configured order; the SQL model makes the
    same string (a test holds them to it)."""
    if not values:
        return POOLED_SEGMENT_KEY
    parts = []
    for field, value in values:
        text = (
            MISSING_SEGMENT_VALUE if value is None or str(value).strip() == "" else str(value).strip().lower()
        )
        for separator in (SEGMENT_KEY_FIELD_SEPARATOR, SEGMENT_KEY_VALUE_SEPARATOR):
            text = text.replace(separator, "_")
        parts.append(f"{field}{SEGMENT_KEY_VALUE_SEPARATOR}{text}")
    return SEGMENT_KEY_FIELD_SEPARATOR.join(parts)


def cluster_segment_key(cluster_id: int) -> str:
    """The segment key of a cluster in auto mode; int_experiment_segment_counts makes the same string."""
    return f"{CLUSTER_SEGMENT_FIELD}{SEGMENT_KEY_VALUE_SEPARATOR}{int(cluster_id)}"


# Parts of the day (in the experiment's time zone) a recommendation or a cluster can be told by: name, first hour
# and last hour, inclusive. int_experiment_assignment_outcomes turns `hour` into `hour_bucket` with these.
HOUR_BUCKETS = (("night", 0, 5), ("morning", 6, 11), ("afternoon", 12, 17), ("evening", 18, 23))
# The context fields the auto clustering encodes (int_experiment_assignment_outcomes columns): categorical ones
# one-hot, numeric ones centred and scaled. A categorical value is compared lower-cased and trimmed, `unknown`
# when missing, in Python and in int_experiment_cluster_assignments alike.
CLUSTER_CATEGORICAL_FIELDS = (
    "source",
    "medium",
    "device",
    "os",
    "browser",
    "country",
    "hour_bucket",
    "day_of_week",
)
CLUSTER_NUMERIC_FIELDS = ("engagement_score", "drop_risk", "time_in_funnel_minutes", "previous_opens")
# Distances are compared rounded to this many decimals, so SQL and Python break near-ties the same way.
CLUSTER_DISTANCE_DECIMALS = 9
