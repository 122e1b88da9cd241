"""The prompts' round trip and output models, and the keyword handlers' answers to them (the benchmark's baseline;
the offline provider's embedding clusters are tested in test_offline_embeddings.py)."""

from __future__ import annotations

import json

import pydantic
import pytest

from python_jobs.product_segmentation import offline, offline_embeddings, prompts


def _products(kit) -> list[dict]:
    return kit.rows()


def test_a_prompt_carries_its_task_and_payload_for_anyone_to_read_back(kit):
    payload = prompts.extraction_payload(kit.category, _products(kit), max_segments=5)
    prompt = prompts.render_prompt(prompts.EXTRACT_TASK, payload)
    assert prompts.parse_prompt(prompt) == (prompts.EXTRACT_TASK, json.loads(json.dumps(payload)))
    # Equal inputs, byte-identical prompts: what makes the cache work.
    assert prompt == prompts.render_prompt(prompts.EXTRACT_TASK, dict(reversed(payload.items())))
    with pytest.raises(prompts.PromptError):
        prompts.parse_prompt("no task and no payload here")


def test_output_models_refuse_what_would_lose_products():
    valid = {"segments": [{"name": "Rotary", "definition": "Knob dimmers."}], "assignments": []}
    prompts.ExtractionOutput.model_validate(valid)
    unknown_segment = {**valid, "assignments": [{"product_id": 1, "segment": "Slide"}]}
    duplicate = {
        "segments": [valid["segments"][0], {"name": "rotary", "definition": "Again."}],
        "assignments": [],
    }
    reserved = {"segments": [{"name": "__UNASSIGNED__", "definition": "No."}], "assignments": []}
    for document in (unknown_segment, duplicate, reserved):
        with pytest.raises(pydantic.ValidationError):
            prompts.ExtractionOutput.model_validate(document)
    prompts.ExtractionOutput.model_validate(
        {**valid, "assignments": [{"product_id": 1, "segment": "__OUT_OF_SCOPE__"}]}
    )


def test_extraction_groups_by_distinctive_keyword_and_sets_aside_other_categories(kit):
    payload = prompts.extraction_payload(kit.category, _products(kit), max_segments=5)
    answer = offline.extract_taxonomy(payload)
    prompts.ExtractionOutput.model_validate(answer)
    placed = {row["product_id"]: row["segment"] for row in answer["assignments"]}
    assert sorted(placed) == list(kit.product_ids)
    assert [placed[i] for i in kit.out_of_scope_ids] == ["__OUT_OF_SCOPE__"] * 2
    names = [segment["name"] for segment in answer["segments"]]
    assert names == ["Rotary dimmer switches", "Wi-Fi dimmer switches", "Slide dimmer switches"]
    assert answer["segments"][1]["definition"].startswith(
        "Dimmer Switches distinguished by Wi-Fi; typical terms:"
    )
    # The Wi-Fi dimmers land together, and apart from the rotary ones.
    assert placed[101] == placed[102] == placed[103]
    assert placed[104] == placed[105] == placed[106] != placed[101]


def test_consolidation_merges_alike_segments_and_keeps_the_rest(kit):
    a = [
        {
            "name": "Rotary dimmer switches",
            "definition": "Dimmer switches distinguished by Rotary; typical terms: knob.",
        },
        {
            "name": "Slide dimmer switches",
            "definition": "Dimmer switches distinguished by Slide; typical terms: slider.",
        },
    ]
    b = [
        {
            "name": "Rotary dimmer switches",
            "definition": "Dimmer switches distinguished by Rotary; typical terms: turn.",
        },
        {
            "name": "Z-Wave dimmer switches",
            "definition": "Dimmer switches distinguished by Z-Wave; typical terms: hub.",
        },
    ]
    merged = offline.consolidate_taxonomy(prompts.consolidation_payload(kit.category, a, b, max_segments=12))
    prompts.ConsolidationOutput.model_validate(merged)
    assert [s["name"] for s in merged["segments"]] == [
        "Rotary dimmer switches",
        "Slide dimmer switches",
        "Z-Wave dimmer switches",
    ]
    capped = offline.consolidate_taxonomy(prompts.consolidation_payload(kit.category, a, b, max_segments=2))
    assert [s["name"] for s in capped["segments"]] == ["Rotary dimmer switches", "General dimmer switches"]


def test_refinement_places_by_similarity_and_out_of_scope_when_close_to_nothing(kit):
    segments = [
        {"name": "Smart Wi-Fi dimmer switches", "definition": "Wi-Fi dimmers with app and voice control."},
        {"name": "Rotary dimmer switches", "definition": "Dimmers turned with a rotary knob."},
    ]
    answer = offline.refine_assignments(prompts.refinement_payload(kit.category, segments, _products(kit)))
    prompts.RefinementOutput.model_validate(answer)
    placed = {row["product_id"]: row["segment"] for row in answer["assignments"]}
    assert placed[101] == placed[103] == "Smart Wi-Fi dimmer switches"
    assert placed[104] == placed[105] == "Rotary dimmer switches"
    assert placed[109] == placed[110] == "__OUT_OF_SCOPE__"


def test_the_offline_answer_to_a_prompt_is_the_providers_handlers_answer_to_its_payload(kit):
    payload = prompts.extraction_payload(kit.category, _products(kit), max_segments=8)
    prompt = prompts.render_prompt(prompts.EXTRACT_TASK, payload)
    assert json.loads(offline_embeddings.answer_prompt(prompt)) == offline_embeddings.offline_handlers()[
        prompts.EXTRACT_TASK
    ](json.loads(json.dumps(payload)))
