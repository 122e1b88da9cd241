"""Auto clustering of one experiment's visitors: `segments experiments cluster EXP`, and the `cluster_experiments`
job of `segments build` for the experiments in `auto` mode.

The contexts of `intermediate.int_experiment_assignment_outcomes` are encoded (one column per categorical value
held by at least `MIN_VALUE_SHARE` of the visitors, 1 when the visitor has it; each numeric channel field that is
filled for the experiment centred and scaled, 0 when missing), k-means is fitted for k from 2 to `MAX_K` and k is
chosen by silhouette (on a seeded sample). Nothing is pickled: the model is rows in `ml` under one model version
with its `trained_at`: the encoding (`experiment_cluster_features`), the centroids (`experiment_cluster_centroids`,
one row per cluster and feature), and each cluster with its size and a description from its dominant features
(`experiment_clusters`: `instagram · mobile · evenings`). The model `int_experiment_cluster_assignments` assigns
every visitor to the nearest centroid in SQL, from those rows.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from python_jobs.experiments.definitions import (
    CLUSTER_CATEGORICAL_FIELDS,
    CLUSTER_DISTANCE_DECIMALS,
    CLUSTER_NUMERIC_FIELDS,
    MISSING_SEGMENT_VALUE,
)
from python_jobs.warehouse.connection import Session, Warehouse
from python_jobs.warehouse.ml_tables import ML_SCHEMA

if TYPE_CHECKING:
    from python_jobs.warehouse.jobs import JobContext

JOB_NAME = "cluster_experiments"
MIN_ASSIGNMENTS = 1_000
MAX_K = 8
MIN_VALUE_SHARE = 0.01
SILHOUETTE_SAMPLE = 3_000
FIT_SAMPLE = 20_000
SEED = 0
CATEGORICAL_FIELDS = CLUSTER_CATEGORICAL_FIELDS
NUMERIC_FIELDS = CLUSTER_NUMERIC_FIELDS
# Values read as "evenings", "saturdays" in a description.
PLURAL_FIELDS = ("hour_bucket", "day_of_week")

_TS = pa.timestamp("us", tz="UTC")
MODELS_TABLE = "experiment_cluster_models"
FEATURES_TABLE = "experiment_cluster_features"
CENTROIDS_TABLE = "experiment_cluster_centroids"
CLUSTERS_TABLE = "experiment_clusters"
CLUSTERING_TABLES: dict[str, pa.Schema] = {
    MODELS_TABLE: pa.schema(
        [
            ("model_version", pa.string()),
            ("experiment_id", pa.string()),
            ("clusters", pa.int64()),
            ("silhouette", pa.float64()),
            ("assignments_used", pa.int64()),
            ("trained_at", _TS),
            ("run_id", pa.string()),
        ]
    ),
    FEATURES_TABLE: pa.schema(
        [
            ("model_version", pa.string()),
            ("feature_index", pa.int64()),
            ("field", pa.string()),
            ("encoding", pa.string()),  # one_hot | scaled
            ("field_value", pa.string()),  # one_hot: the value that gives 1
            ("center", pa.float64()),  # scaled: (value - center) / scale, 0 when missing
            ("scale", pa.float64()),
        ]
    ),
    CENTROIDS_TABLE: pa.schema(
        [
            ("model_version", pa.string()),
            ("cluster_id", pa.int64()),
            ("feature_index", pa.int64()),
            ("centroid_value", pa.float64()),
        ]
    ),
    CLUSTERS_TABLE: pa.schema(
        [
            ("model_version", pa.string()),
            ("cluster_id", pa.int64()),
            ("visitors", pa.int64()),
            ("description", pa.string()),
        ]
    ),
}
_OUTCOMES = (
    f"select visitor_id, {', '.join(CATEGORICAL_FIELDS + NUMERIC_FIELDS)} "
    "from intermediate.int_experiment_assignment_outcomes where experiment_id = ? order by visitor_id"
)


class ClusteringError(ValueError):
    """An experiment that cannot be clustered; the message says which and why."""


@dataclass(frozen=True)
class Feature:
    field: str
    encoding: str  # one_hot | scaled
    field_value: str | None = None
    center: float | None = None
    scale: float | None = None


def category(value: object) -> str:
    """A categorical value as the encoding and the SQL model compare it: lower-cased text, `unknown` if missing."""
    return MISSING_SEGMENT_VALUE if value is None or str(value).strip() == "" else str(value).strip().lower()


def fit_encoding(columns: dict[str, list]) -> list[Feature]:
    """The features: frequent enough categorical values, then the numeric fields that are filled at all."""
    n = len(columns["visitor_id"])
    features = []
    for field in CATEGORICAL_FIELDS:
        values, counts = np.unique([category(v) for v in columns[field]], return_counts=True)
        features += [
            Feature(field, "one_hot", str(value))
            for value, count in zip(values, counts, strict=True)
            if count >= MIN_VALUE_SHARE * n
        ]
    for field in NUMERIC_FIELDS:
        filled = np.array([v for v in columns[field] if v is not None], dtype=float)
        if len(filled) and filled.std() > 0:
            features.append(Feature(field, "scaled", None, float(filled.mean()), float(filled.std())))
    return features


def encode(columns: dict[str, list], features: list[Feature]) -> np.ndarray:
    """One row per visitor, one column per feature, as the SQL model encodes them."""
    n = len(columns["visitor_id"])
    matrix = np.zeros((n, len(features)))
    categories = {field: np.array([category(v) for v in columns[field]]) for field in CATEGORICAL_FIELDS}
    for index, feature in enumerate(features):
        if feature.encoding == "one_hot":
            matrix[:, index] = categories[feature.field] == feature.field_value
        else:
            raw = np.array([np.nan if v is None else float(v) for v in columns[feature.field]])
            matrix[:, index] = np.nan_to_num((raw - feature.center) / feature.scale, nan=0.0)
    return matrix


def nearest_centroid(encoded: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The index of each row's nearest centroid (the lowest index on a tie), as the SQL model chooses it: squared
    distance as |x|^2 - 2 x.c + |c|^2, rounded."""
    distances = (
        (encoded**2).sum(axis=1)[:, None] - 2 * encoded @ centroids.T + (centroids**2).sum(axis=1)[None, :]
    )
    return np.round(distances, CLUSTER_DISTANCE_DECIMALS).argmin(axis=1)


def describe_cluster(centroid: np.ndarray, overall: np.ndarray, features: list[Feature]) -> str:
    """Up to three features that set the cluster apart: values most of it has and more than everyone does, and
    numeric fields well above or below the mean."""
    candidates = []
    for index, feature in enumerate(features):
        value = centroid[index]
        telling = feature.field_value not in (MISSING_SEGMENT_VALUE, "none", "other")
        if feature.encoding == "one_hot" and telling and value >= 0.5 and value > overall[index] * 1.1:
            word = feature.field_value + ("s" if feature.field in PLURAL_FIELDS else "")
            candidates.append((value / max(overall[index], 1e-9), word))
        elif feature.encoding == "scaled" and abs(value) >= 0.5:
            candidates.append(
                (abs(value), f"{'high' if value > 0 else 'low'} {feature.field.replace('_', ' ')}")
            )
    # An Instagram visitor is often in Instagram's in-app browser too: a word is said once.
    words = list(dict.fromkeys(word for _, word in sorted(candidates, key=lambda c: -c[0])))[:3]
    return " · ".join(words) if words else "like everyone"


def _fit(encoded: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if len(encoded) > FIT_SAMPLE:
        # Centroids settle long before every visitor is seen; the SQL model still assigns all of them.
        encoded = encoded[np.random.default_rng(SEED).choice(len(encoded), FIT_SAMPLE, replace=False)]
    best = None
    for k in range(2, min(MAX_K, len(np.unique(encoded, axis=0))) + 1):
        kmeans = KMeans(n_clusters=k, n_init=4, random_state=SEED).fit(encoded)
        score = float(
            silhouette_score(
                encoded, kmeans.labels_, sample_size=min(SILHOUETTE_SAMPLE, len(encoded)), random_state=SEED
            )
        )
        if best is None or score > best[2]:
            best = (kmeans.cluster_centers_, kmeans.labels_, score)
    if best is None:
        raise ClusteringError("every visitor has the same context: there is nothing to cluster")
    return best


def _read(session: Session, experiment_id: str) -> dict[str, list]:
    return session.fetch_arrow(_OUTCOMES, [experiment_id]).to_pydict()


def train(
    session: Session, experiment_id: str, columns: dict[str, list], now: dt.datetime, run_id: str
) -> str:
    """Fit and write one model for the experiment in this transaction; returns its version."""
    n = len(columns["visitor_id"])
    if n < MIN_ASSIGNMENTS:
        raise ClusteringError(
            f"experiment {experiment_id!r} has {n:,} assignments; clustering needs at least {MIN_ASSIGNMENTS:,}"
        )
    features = fit_encoding(columns)
    encoded = encode(columns, features)
    centroids, _, silhouette = _fit(encoded)
    # Sizes and descriptions from the assignment the SQL model will make, not from k-means' last labels.
    labels = nearest_centroid(encoded, centroids)
    overall = encoded.mean(axis=0)
    version = f"{experiment_id}@{now:%Y%m%dT%H%M%S}"
    tables = {
        MODELS_TABLE: [
            {
                "model_version": version,
                "experiment_id": experiment_id,
                "clusters": len(centroids),
                "silhouette": silhouette,
                "assignments_used": n,
                "trained_at": now,
                "run_id": run_id,
            }
        ],
        FEATURES_TABLE: [
            {"model_version": version, "feature_index": i, **feature.__dict__}
            for i, feature in enumerate(features)
        ],
        CENTROIDS_TABLE: [
            {"model_version": version, "cluster_id": k, "feature_index": i, "centroid_value": float(value)}
            for k, centroid in enumerate(centroids)
            for i, value in enumerate(centroid)
        ],
        CLUSTERS_TABLE: [
            {
                "model_version": version,
                "cluster_id": k,
                "visitors": int((labels == k).sum()),
                "description": describe_cluster(centroid, overall, features),
            }
            for k, centroid in enumerate(centroids)
        ],
    }
    for name, table_rows in tables.items():
        session.insert_arrow(ML_SCHEMA, name, pa.Table.from_pylist(table_rows, CLUSTERING_TABLES[name]))
    return version


def ensure_tables(session: Session) -> None:
    session.ensure_schema(ML_SCHEMA)
    for name, schema in CLUSTERING_TABLES.items():
        if not session.table_exists(ML_SCHEMA, name):
            session.create_table(ML_SCHEMA, name, schema)


def cluster_experiment(
    warehouse: Warehouse, experiment_id: str, echo=print, now: dt.datetime | None = None
) -> str:
    """Train a model for one experiment (whatever its mode); returns the model version."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    with warehouse.session() as session:
        ensure_tables(session)
        version = train(session, experiment_id, _read(session, experiment_id), now, str(uuid.uuid4()))
        clusters = session.fetchall(
            f"select cluster_id, visitors, description from {ML_SCHEMA}.{CLUSTERS_TABLE} "
            "where model_version = ? order by cluster_id",
            [version],
        )
    echo(f"  {version}: {len(clusters)} clusters in {time.perf_counter() - started:.1f}s")
    for cluster_id, visitors, description in clusters:
        echo(f"    {cluster_id}: {visitors:>7,} visitors  {description}")
    return version


def cluster_auto_experiments(warehouse: Warehouse, echo=print) -> list[str]:
    """The job: a new model for each `auto` experiment whose assignments changed since its latest model."""
    now = dt.datetime.now(dt.UTC)
    run_id = str(uuid.uuid4())
    versions = []
    with warehouse.session() as session:
        ensure_tables(session)
        auto = [
            row[0]
            for row in session.fetchall(
                "select experiment_id from ("
                " select experiment_id, mode, row_number() over (partition by experiment_id order by changed_at desc)"
                f" as r from {ML_SCHEMA}.experiment_segmentation_config) as ranked where r = 1 and mode = 'auto' "
                "order by experiment_id"
            )
        ]
        for experiment_id in auto:
            columns = _read(session, experiment_id)
            latest = session.fetchone(
                f"select assignments_used from {ML_SCHEMA}.{MODELS_TABLE} where experiment_id = ? "
                "order by trained_at desc limit 1",
                [experiment_id],
            )
            if latest is not None and latest[0] == len(columns["visitor_id"]):
                continue
            if len(columns["visitor_id"]) < MIN_ASSIGNMENTS:
                echo(
                    f"  {experiment_id}: {len(columns['visitor_id']):,} assignments, under {MIN_ASSIGNMENTS:,}"
                )
                continue
            versions.append(train(session, experiment_id, columns, now, run_id))
    echo(f"  {len(versions)} experiment model(s) trained")
    return versions


def run_job(context: JobContext) -> list[str]:
    return cluster_auto_experiments(context.warehouse, context.echo)
