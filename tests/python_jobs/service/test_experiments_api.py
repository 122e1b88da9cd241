"""Experiments over HTTP on a private copy of the built warehouse (each target): allocation, config,
recommendations and metrics. Expected values are read from the warehouse before the service starts (on DuckDB the
running service is the file's only writer) or after it stops."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from python_jobs.experiments.eligibility import ELIGIBILITY_TABLES, RECOMMENDATIONS_TABLE, ensure_tables
from python_jobs.testing.service import running_service


def experiment_and_variants(warehouse) -> tuple[str, set[str]]:
    with warehouse.session(read_only=True) as session:
        experiment_id = session.fetchone(
            "select trim(experiment_id) from raw.experiments order by experiment_id limit 1"
        )[0]
        variants = {
            row[0]
            for row in session.fetchall(
                "select trim(variant_id) from raw.experiment_variants where trim(experiment_id) = ?",
                [experiment_id],
            )
        }
    return experiment_id, variants


def recorded(warehouse, experiment_id: str, visitor_id: str) -> list[tuple]:
    with warehouse.session(read_only=True) as session:
        return session.fetchall(
            "select trim(variant_id), channel, context from raw.experiment_assignments "
            "where trim(experiment_id) = ? and trim(visitor_id) = ?",
            [experiment_id, visitor_id],
        )


def test_allocation_is_sticky_deterministic_and_recorded_once(built_copy):
    warehouse = built_copy.warehouse
    experiment_id, variants = experiment_and_variants(warehouse)
    with warehouse.session(read_only=True) as session:
        known_visitor, known_variant = session.fetchone(
            "select trim(visitor_id), trim(variant_id) from raw.experiment_assignments "
            "where trim(experiment_id) = ? order by visitor_id limit 1",
            [experiment_id],
        )
    request = {"visitor_id": "api-visitor-1", "channel": "web", "context": {"utm_source": "instagram"}}
    with running_service(warehouse) as service, service.client() as client:
        first = client.post(f"/experiments/{experiment_id}/allocate", json=request)
        again = client.post(f"/experiments/{experiment_id}/allocate", json={**request, "context": {}})
        known = client.post(
            f"/experiments/{experiment_id}/allocate", json={"visitor_id": known_visitor, "channel": "web"}
        )
    assert first.status_code == 200, first.text
    assert first.json()["variant_id"] in variants
    assert first.json()["is_new"] is True
    assert again.json()["variant_id"] == first.json()["variant_id"]
    assert again.json()["is_new"] is False
    assert again.json()["weights_from"] == "existing assignment"
    assert known.json()["variant_id"] == known_variant
    assert recorded(warehouse, experiment_id, "api-visitor-1") == [
        (first.json()["variant_id"], "web", json.dumps({"utm_source": "instagram"}))
    ]
    assert len(recorded(warehouse, experiment_id, known_visitor)) == 1


def test_allocation_errors(built_copy):
    experiment_id, _variants = experiment_and_variants(built_copy.warehouse)
    with running_service(built_copy.warehouse) as service, service.client() as client:
        unknown = client.post("/experiments/no-such/allocate", json={"visitor_id": "v", "channel": "web"})
        bad_channel = client.post(
            f"/experiments/{experiment_id}/allocate", json={"visitor_id": "v", "channel": "x"}
        )
        empty = client.post(
            f"/experiments/{experiment_id}/allocate", json={"visitor_id": "", "channel": "web"}
        )
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "not_found", "detail": "no experiment 'no-such' in raw.experiments"}
    assert bad_channel.status_code == 422
    assert empty.status_code == 422


def test_a_config_changed_through_the_service_reaches_the_next_allocation_at_once(built_copy, monkeypatch):
    """The service holds each experiment's allocation inputs for a moment; its own config change drops them.
    Held for an hour here, so only the drop can make the second visitor's key follow the new config."""
    from python_jobs.service import allocation_states

    monkeypatch.setattr(allocation_states, "HOLD_SECONDS", 3600.0)
    experiment_id, _variants = experiment_and_variants(built_copy.warehouse)
    context = {"utm_source": "instagram"}
    with running_service(built_copy.warehouse) as service, service.client() as client:
        client.put(f"/segmentation/{experiment_id}/config", json={"mode": "manual", "segment_by": ["device"]})
        before = client.post(
            f"/experiments/{experiment_id}/allocate",
            json={"visitor_id": "held-1", "channel": "web", "context": context},
        ).json()
        changed = client.put(f"/segmentation/{experiment_id}/config", json={"segment_by": ["source"]})
        after = client.post(
            f"/experiments/{experiment_id}/allocate",
            json={"visitor_id": "held-2", "channel": "web", "context": context},
        ).json()
    assert changed.status_code == 200, changed.text
    assert before["segment_key"].startswith("device:")
    assert after["segment_key"] == "source:instagram"


def test_config_is_read_changed_and_validated(built_copy):
    experiment_id, _variants = experiment_and_variants(built_copy.warehouse)
    path = f"/segmentation/{experiment_id}/config"
    with running_service(built_copy.warehouse) as service, service.client() as client:
        before = client.get(path).json()
        changed = client.put(path, json={"mode": "manual", "segment_by": ["source", "device"]})
        after = client.get(path).json()
        unknown_field = client.put(path, json={"segment_by": ["shoe_size"]})
        manual_without_fields = client.put(path, json={"mode": "manual", "segment_by": []})
        nothing = client.put(path, json={})
        unknown_experiment = client.get("/segmentation/no-such/config")
    assert changed.status_code == 200, changed.text
    assert after["mode"] == "manual"
    assert after["segment_by"] == ["source", "device"]
    assert after["changed_by"] == "api"
    assert after["min_samples_per_segment"] == before["min_samples_per_segment"]
    assert unknown_field.status_code == 400
    assert "shoe_size" in unknown_field.json()["detail"]
    assert manual_without_fields.status_code == 400
    assert nothing.status_code == 400
    assert unknown_experiment.status_code == 404
    with built_copy.warehouse.session(read_only=True) as session:
        rows = session.fetchall(
            "select mode, segment_by, changed_by from ml.experiment_segmentation_config "
            "where experiment_id = ? and changed_by = 'api'",
            [experiment_id],
        )
    assert rows == [("manual", json.dumps(["source", "device"]), "api")]


def add_recommendation(warehouse, experiment_id: str, recommendation_id: str) -> None:
    row = dict.fromkeys(ELIGIBILITY_TABLES[RECOMMENDATIONS_TABLE].names)
    row |= {
        "recommendation_id": recommendation_id,
        "experiment_id": experiment_id,
        "recommended_at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        "is_eligible": True,
        "recommended_mode": "manual",
        "segment_by": json.dumps(["device"]),
        "expected_lift": 0.12,
        "reason": "hand-made for the test",
    }
    with warehouse.session() as session:
        ensure_tables(session)
        session.insert_arrow(
            "ml",
            RECOMMENDATIONS_TABLE,
            pa.Table.from_pylist([row], ELIGIBILITY_TABLES[RECOMMENDATIONS_TABLE]),
        )


def test_a_recommendation_is_listed_accepted_once_and_applied(built_copy):
    experiment_id, _variants = experiment_and_variants(built_copy.warehouse)
    add_recommendation(built_copy.warehouse, experiment_id, "rec-api-1")
    add_recommendation(built_copy.warehouse, experiment_id, "rec-api-2")
    base = f"/segmentation/{experiment_id}"
    with running_service(built_copy.warehouse) as service, service.client() as client:
        listed = client.get(f"{base}/recommendations").json()["recommendations"]
        accepted = client.post(f"{base}/recommendations/rec-api-1/accept")
        twice = client.post(f"{base}/recommendations/rec-api-1/dismiss")
        dismissed = client.post(f"{base}/recommendations/rec-api-2/dismiss")
        unknown = client.post(f"{base}/recommendations/rec-none/accept")
        config = client.get(f"{base}/config").json()
        statuses = {
            r["recommendation_id"]: r["status"]
            for r in client.get(f"{base}/recommendations").json()["recommendations"]
        }
    mine = next(r for r in listed if r["recommendation_id"] == "rec-api-1")
    assert mine["status"] == "pending"
    assert mine["segment_by"] == ["device"]
    assert accepted.status_code == 200, accepted.text
    assert twice.status_code == 409
    assert "already accepted" in twice.json()["detail"]
    assert dismissed.status_code == 200
    assert unknown.status_code == 404
    assert (config["mode"], config["segment_by"], config["changed_by"]) == (
        "manual",
        ["device"],
        "recommendation rec-api-1",
    )
    assert statuses["rec-api-1"] == "accepted"
    assert statuses["rec-api-2"] == "dismissed"


def test_metrics_give_the_marts_counts_and_weights(built_copy):
    experiment_id, _variants = experiment_and_variants(built_copy.warehouse)
    with built_copy.warehouse.session(read_only=True) as session:
        expected = {
            (segment, variant): (assignments, conversions, weight)
            for segment, variant, assignments, conversions, weight in session.fetchall(
                "select segment_key, variant_id, assignments, conversions, current_weight "
                "from marts.experiment_segment_performance where experiment_id = ?",
                [experiment_id],
            )
        }
    with running_service(built_copy.warehouse) as service, service.client() as client:
        response = client.get(f"/segmentation/{experiment_id}/metrics")
        unknown = client.get("/segmentation/no-such/metrics")
    assert response.status_code == 200
    got = {
        (row["segment_key"], row["variant_id"]): (
            row["assignments"],
            row["conversions"],
            row["current_weight"],
        )
        for row in response.json()["metrics"]
    }
    assert expected
    assert got == expected
    assert unknown.status_code == 404


def test_a_new_visitor_asked_for_at_once_is_recorded_once(built_copy):
    from concurrent.futures import ThreadPoolExecutor

    experiment_id, _variants = experiment_and_variants(built_copy.warehouse)
    request = {"visitor_id": "api-visitor-race", "channel": "web", "context": {}}
    with running_service(built_copy.warehouse) as service, service.client() as client:

        def ask(_index: int) -> tuple[str, bool]:
            answer = client.post(f"/experiments/{experiment_id}/allocate", json=request).json()
            return answer["variant_id"], answer["is_new"]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(16)))
    assert len({variant for variant, _is_new in answers}) == 1
    # On PostgreSQL the requests run in parallel, taking turns in the database: exactly one of them recorded it.
    assert sum(is_new for _variant, is_new in answers) == 1
    assert len(recorded(built_copy.warehouse, experiment_id, "api-visitor-race")) == 1
