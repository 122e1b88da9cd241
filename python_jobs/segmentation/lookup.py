"""`segments assign`: one customer's memberships, read from the warehouse.

The mart `marts.customer_segments` is the answer when it holds the customer (a primary-key lookup). When it does
not (the customer's features were rebuilt after the segments, or only the features were), the customer is placed
from their `marts.customer_features` row and the centroids of the run the marts were built from
(`intermediate.int_segmentation_runs_latest`), with the same nearest-centroid
rule as the SQL, so nobody waits for the clustering job.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from python_jobs.definitions import AXES, UNCLUSTERED_AXIS_SEGMENTS, Axis
from python_jobs.warehouse.connection import Session, Warehouse


class CustomerNotFoundError(LookupError):
    """Neither the segments nor the features know the customer."""


def _canonical_id(session: Session, customer_id: str) -> str:
    """A merged-away account id answers for the customer it was merged into."""
    if not session.table_exists("intermediate", "int_customer_merges_resolved"):
        return customer_id
    row = session.fetchone(
        "select canonical_customer_id from intermediate.int_customer_merges_resolved where customer_id = ?",
        [customer_id],
    )
    return row[0] if row else customer_id


def _from_mart(session: Session, customer_id: str) -> dict[str, Any] | None:
    if not session.table_exists("marts", "customer_segments"):
        return None
    rows = session.fetch_dicts("select * from marts.customer_segments where customer_id = ?", [customer_id])
    if not rows:
        return None
    row = rows[0]
    return {
        "source": "marts.customer_segments",
        "segmentation_run_id": row["segmentation_run_id"],
        "memberships": {
            axis.name: {"segment": row[axis.name], "strength": _rounded(row[f"{axis.name}_strength"])}
            for axis in AXES
        },
    }


def _rounded(strength: float | None) -> float | None:
    """Strengths to four places; None (an explicit, unclustered segment has no strength) stays None."""
    return None if strength is None else round(float(strength), 4)


def unclustered_segment(axis: Axis, features: dict[str, Any], axis_status: str | None) -> str | None:
    """The explicit segment of a customer the axis cannot place, or of an axis the run did not cluster.

    The same rule as `int_customers_assigned_to_segments.sql`: the segment of the first requirement the customer
    misses, in priority order; then the axis's own status. None when the customer is placed by the centroids.
    """
    for requirement in axis.requirements:
        if not features[requirement.flag]:
            return requirement.segment_name
    if axis_status in UNCLUSTERED_AXIS_SEGMENTS:
        return UNCLUSTERED_AXIS_SEGMENTS[axis_status][0]
    return None


def _latest_run(session: Session) -> str | None:
    """The run the marts were built from: the dbt model `int_segmentation_runs_latest` is the one definition of
    "the latest succeeded run", so a live placement and the mart always use the same centroids."""
    if not session.table_exists("intermediate", "int_segmentation_runs_latest"):
        return None
    row = session.fetchone("select run_id from intermediate.int_segmentation_runs_latest")
    return row[0] if row else None


class NoClusteringRunError(LookupError):
    """No clustering run has succeeded yet: there are no centroids to place anyone by."""


def _computed(session: Session, customer_id: str) -> dict[str, Any] | None:
    if not session.table_exists("marts", "customer_features"):
        return None
    features = session.fetch_dicts(
        "select * from marts.customer_features where customer_id = ?", [customer_id]
    )
    if not features:
        return None
    try:
        run_id, memberships = place_by_latest_run(session, features[0])
    except NoClusteringRunError:
        raise CustomerNotFoundError(
            f"customer {customer_id!r} has features but no clustering run has succeeded yet: "
            "run `segments build` (or `segments run cluster-customers`)"
        ) from None
    return {
        "source": f"computed from marts.customer_features and the centroids of run {run_id}",
        "segmentation_run_id": run_id,
        "memberships": memberships,
    }


def place_by_latest_run(session: Session, features: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    """A customer's segment and membership strength on every axis, from one row shaped like
    `marts.customer_features` and the centroids of the latest succeeded run: the run id and the memberships.

    Raises NoClusteringRunError when no run has succeeded yet.
    """
    # Imported here: scikit-learn comes with it, and the common case (the mart) should not pay for that.
    from python_jobs.segmentation.clustering import nearest_centroids

    run_id = _latest_run(session)
    if run_id is None:
        raise NoClusteringRunError("no clustering run has succeeded yet")
    scaling = session.fetch_arrow(
        "select axis_name, feature_name, feature_mean, feature_scale "
        "from ml.segment_feature_scaling where run_id = ?",
        [run_id],
    ).to_pylist()
    centroids = session.fetch_arrow(
        "select axis_name, segment_id, feature_name, centroid_value from ml.segment_centroids where run_id = ?",
        [run_id],
    ).to_pylist()
    names = session.fetch_arrow(
        "select axis_name, segment_id, segment_name from ml.segment_definitions where run_id = ?", [run_id]
    ).to_pylist()
    statuses = {}
    if "axis_status" in session.column_names(
        "ml", "segment_axes"
    ):  # runs written before it were all clustered
        statuses = dict(
            session.fetchall("select axis_name, axis_status from ml.segment_axes where run_id = ?", [run_id])
        )
    memberships = {}
    for axis in AXES:
        explicit = unclustered_segment(axis, features, statuses.get(axis.name))
        if explicit is not None:
            memberships[axis.name] = {"segment": explicit, "strength": None}
            continue
        features_of_axis = axis.feature_names
        means = np.array([_pick(scaling, axis.name, f, "feature_mean") for f in features_of_axis])
        scales = np.array([_pick(scaling, axis.name, f, "feature_scale") for f in features_of_axis])
        segment_ids = sorted({c["segment_id"] for c in centroids if c["axis_name"] == axis.name})
        centroid_matrix = np.array(
            [
                [
                    next(
                        c["centroid_value"]
                        for c in centroids
                        if c["axis_name"] == axis.name
                        and c["segment_id"] == segment
                        and c["feature_name"] == f
                    )
                    for f in features_of_axis
                ]
                for segment in segment_ids
            ]
        )
        values = np.array([[features[f] for f in features_of_axis]], dtype=float)
        index, nearest, second = nearest_centroids(values, means, scales, centroid_matrix)
        segment = segment_ids[int(index[0])]
        strength = 1 - nearest[0] / second[0] if second[0] > 0 else 0.0
        memberships[axis.name] = {
            "segment": next(
                n["segment_name"] for n in names if n["axis_name"] == axis.name and n["segment_id"] == segment
            ),
            "strength": round(float(strength), 4),
        }
    return run_id, memberships


def _pick(rows: list[dict[str, Any]], axis: str, feature: str, column: str) -> float:
    return next(r[column] for r in rows if r["axis_name"] == axis and r["feature_name"] == feature)


def memberships_in(session: Session, customer_id: str) -> dict[str, Any] | None:
    """`lookup_memberships` within a session the caller holds; None for a customer the warehouse does not know."""
    customer_id = customer_id.strip()
    canonical = _canonical_id(session, customer_id)
    found = _from_mart(session, canonical) or _computed(session, canonical)
    if found is None:
        return None
    return {"customer_id": canonical, "requested_id": customer_id, **found}


def unknown_customer_message(customer_id: str) -> str:
    return (
        f"customer {customer_id.strip()!r} is in neither marts.customer_segments nor marts.customer_features"
    )


def lookup_memberships(warehouse: Warehouse, customer_id: str) -> dict[str, Any]:
    """The customer's segment on every axis, with the membership strength, and where the answer came from."""
    with warehouse.session(read_only=True) as session:
        found = memberships_in(session, customer_id)
    if found is None:
        raise CustomerNotFoundError(f"{unknown_customer_message(customer_id)} on {warehouse.describe()}")
    return found
