"""An experiment's eligibility, segments and clustering over HTTP, on a private copy of the built warehouse (each
target). Expected values are read with SQL of the test's own before the service starts (on DuckDB the running
service is the file's only writer) or after it stops."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import pyarrow as pa
import pytest

from python_jobs.testing.service import running_service
from python_jobs.warehouse.raw_tables import RAW_TABLES

EMPTY_EXPERIMENT = "api-no-traffic"


def add_experiment_without_traffic(warehouse) -> None:
    row = {
        "experiment_id": EMPTY_EXPERIMENT,
        "experiment_name": "added by the test",
        "experiment_status": "running",
        "created_at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        "time_zone": None,
    }
    with warehouse.session() as session:
        session.insert_arrow("raw", "experiments", pa.Table.from_pylist([row], RAW_TABLES["experiments"]))


def smallest_clusterable_experiment(session) -> tuple[str, int]:
    """The experiment with the fewest assignments that can still be clustered (at least 1,000)."""
    counts = session.fetchall(
        "select experiment_id, count(*) from intermediate.int_experiment_assignment_outcomes "
        "group by experiment_id order by count(*), experiment_id"
    )
    return next((experiment, n) for experiment, n in counts if n >= 1000)


def expected_of(session, experiment_id: str) -> dict:
    traffic = session.fetchall(
        "select activity_date, trailing_7_day_mean_visitors from marts.experiment_traffic_stats "
        "where experiment_id = ? and segment_key = 'all'",
        [experiment_id],
    )
    as_of, mean = max(traffic)
    threshold = session.fetchone(
        "select auto_activation_threshold from ml.experiment_segmentation_config where experiment_id = ? "
        "order by changed_at desc limit 1",
        [experiment_id],
    )
    recommendation = session.fetchone(
        "select recommendation_id, recommended_mode, segment_by from ml.experiment_segmentation_recommendations "
        "where experiment_id = ? order by recommended_at desc limit 1",
        [experiment_id],
    )
    segments: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for segment, assignments, conversions in session.fetchall(
        "select segment_key, assignments, conversions from marts.experiment_segment_performance "
        "where experiment_id = ?",
        [experiment_id],
    ):
        segments[segment][0] += assignments
        segments[segment][1] += conversions
        segments[segment][2] += 1
    models = session.fetchall(
        "select model_version, trained_at from ml.experiment_cluster_models where experiment_id = ?",
        [experiment_id],
    )
    return {
        "as_of": as_of.isoformat(),
        "mean": mean,
        "threshold": threshold[0] if threshold else 1000,
        "recommendation": recommendation,
        "segments": dict(segments),
        "latest_model": max(models, key=lambda row: row[1])[0] if models else None,
    }


def test_eligibility_segments_and_clustering_of_an_experiment(built_copy):
    warehouse = built_copy.warehouse
    add_experiment_without_traffic(warehouse)
    with warehouse.session(read_only=True) as session:
        experiment_id, assignments = smallest_clusterable_experiment(session)
        expected = expected_of(session, experiment_id)
    base = f"/segmentation/{experiment_id}"
    empty = f"/segmentation/{EMPTY_EXPERIMENT}"
    with running_service(warehouse) as service, service.client() as client:
        eligibility = client.get(f"{base}/eligibility").json()
        segments = client.get(f"{base}/segments").json()
        status_before = client.get(f"{base}/clustering/status")
        trained = client.post(f"{base}/clustering/train")
        status_after = client.get(f"{base}/clustering/status").json()
        client.put(f"{base}/config", json={"auto_activation_threshold": 1})
        eligible_at_1 = client.get(f"{base}/eligibility").json()["is_eligible"]
        client.put(f"{base}/config", json={"auto_activation_threshold": 1_000_000_000})
        eligible_at_a_billion = client.get(f"{base}/eligibility").json()["is_eligible"]
        empty_eligibility = client.get(f"{empty}/eligibility").json()
        empty_segments = client.get(f"{empty}/segments").json()
        empty_status = client.get(f"{empty}/clustering/status")
        empty_train = client.post(f"{empty}/clustering/train")
        unknown = [
            client.get(f"/segmentation/no-such/{path}").status_code
            for path in ("eligibility", "segments", "clustering/status")
        ]
        unknown.append(client.post("/segmentation/no-such/clustering/train").status_code)

    assert eligibility["traffic_as_of"] == expected["as_of"]
    assert eligibility["trailing_7_day_mean_visitors"] == pytest.approx(expected["mean"])
    assert eligibility["auto_activation_threshold"] == expected["threshold"]
    assert eligibility["is_eligible"] is (expected["mean"] >= expected["threshold"])
    if expected["recommendation"] is not None:
        recommendation_id, mode, segment_by = expected["recommendation"]
        assert eligibility["recommendation_id"] == recommendation_id
        assert eligibility["recommended_mode"] == mode
        assert eligibility["recommended_segment_by"] == json.loads(segment_by)
        assert eligibility["recommendation_status"] == "pending"
    assert (eligible_at_1, eligible_at_a_billion) == (True, False)

    got = {
        s["segment_key"]: [s["assignments"], s["conversions"], s["variants"]] for s in segments["segments"]
    }
    assert got == expected["segments"]
    assert sum(counts[0] for counts in got.values()) == assignments

    if expected["latest_model"] is None:
        assert status_before.status_code == 404
    else:
        assert status_before.json()["model_version"] == expected["latest_model"]
    assert trained.status_code == 200, trained.text
    model = trained.json()
    assert model["model_version"] != expected["latest_model"]
    assert model["assignments_used"] == assignments
    assert len(model["clusters"]) >= 2
    assert sum(cluster["visitors"] for cluster in model["clusters"]) == assignments
    assert all(cluster["description"] for cluster in model["clusters"])
    assert status_after == model

    assert empty_eligibility["trailing_7_day_mean_visitors"] is None
    assert empty_eligibility["is_eligible"] is False
    assert empty_eligibility["recommended_mode"] is None
    assert empty_segments == {"experiment_id": EMPTY_EXPERIMENT, "segments": []}
    assert empty_status.status_code == 404
    assert empty_status.json()["error"] == "not_found"
    assert empty_train.status_code == 409
    assert empty_train.json() == {
        "error": "conflict",
        "detail": f"experiment '{EMPTY_EXPERIMENT}' has 0 assignments; clustering needs at least 1,000",
    }
    assert unknown == [404, 404, 404, 404]

    with warehouse.session(read_only=True) as session:
        written = session.fetchall(
            "select models.experiment_id, models.assignments_used, count(*) "
            "from ml.experiment_cluster_models as models "
            "join ml.experiment_clusters as clusters on models.model_version = clusters.model_version "
            "where models.model_version = ? group by models.experiment_id, models.assignments_used",
            [model["model_version"]],
        )
    assert written == [(experiment_id, assignments, len(model["clusters"]))]
