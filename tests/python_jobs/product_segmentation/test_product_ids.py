"""Product ids are text; a run of integer ids keeps the prompts, cache keys and JSON numbers it always had.

The cache keys below were computed by the code as it was before ids became text (product ids `bigint`, prompts
carrying `int(product_id)`), for the same two products: an integer run must hash to exactly them, or every
answer archived before would be paid for again.
"""

from __future__ import annotations

import json

import pytest

from python_jobs.llm.client import cache_key, with_json_only_instruction
from python_jobs.llm.providers import LLMRequest
from python_jobs.product_segmentation import prompts
from python_jobs.product_segmentation.plan import CallPlan, SegmentationParams
from python_jobs.product_segmentation.product_ids import (
    ProductIdError,
    all_integer_ids,
    as_json,
    checked_id,
    id_order,
    is_integer_id,
)

PRODUCTS = [
    {"product_id": "101", "title": "Smart Wi-Fi dimmer switch", "brand": "Acme", "price": 19.5,
     "description": "Wi-Fi dimmer."},
    {"product_id": "7", "title": "Rotary dimmer switch", "brand": None, "price": None, "description": None},
]  # fmt: skip
SEGMENTS = [{"name": "Smart", "definition": "Smart ones."}]
# Computed by the code before ids were text, with the ids as integers 101 and 7.
KEYS_BEFORE_TEXT_IDS = {
    prompts.EXTRACT_TASK: "610ae017fd2487f6f063b2dd925f86b30724ac317c41ef671e0cc90885845909",
    prompts.REFINE_TASK: "bfa3e09590a29ef8f0c6bc1d14d5bebafc0433a61018ef57c2cc353dede892b0",
}


def _key(task: str, products: list[dict], integer_ids: bool) -> str:
    if task == prompts.EXTRACT_TASK:
        payload = prompts.extraction_payload("Dimmer Switches", products, 8, integer_ids=integer_ids)
    else:
        payload = prompts.refinement_payload("Dimmer Switches", SEGMENTS, products, integer_ids=integer_ids)
    request = LLMRequest(
        task=task,
        system=prompts.SYSTEM_PROMPT,
        prompt=prompts.render_prompt(task, payload),
        output_model=prompts.output_model(task, integer_ids),
        schema_version=prompts.SCHEMA_VERSION,
        payload=payload,
    )
    system = with_json_only_instruction(request.system)
    return cache_key(
        "anthropic",
        "claude-test",
        0.0,
        system,
        request.prompt,
        request.schema_version,
        request.output_schema(),
    )


@pytest.mark.parametrize("task", [prompts.EXTRACT_TASK, prompts.REFINE_TASK])
def test_an_integer_run_keeps_its_cache_keys(task):
    assert _key(task, PRODUCTS, integer_ids=True) == KEYS_BEFORE_TEXT_IDS[task]


@pytest.mark.parametrize("task", [prompts.EXTRACT_TASK, prompts.REFINE_TASK])
def test_a_text_run_asks_for_string_ids_and_carries_them_as_given(task):
    products = [{**PRODUCTS[0], "product_id": "B07XJ8C8F5"}, {**PRODUCTS[1], "product_id": "SKU-0042-BLK"}]

    model = prompts.output_model(task, integer_ids=False)
    payload = prompts.extraction_payload("Dimmer Switches", products, 8, integer_ids=False)
    schema = model.model_json_schema()

    assert [p["product_id"] for p in payload["products"]] == ["B07XJ8C8F5", "SKU-0042-BLK"]
    placement = next(d for d in schema["$defs"].values() if "product_id" in d["properties"])
    assert placement["properties"]["product_id"]["type"] == "string"
    # The same answer as far as a reader of the schema can tell: titles unchanged, descriptions unchanged.
    assert schema["title"] == prompts.output_model(task, integer_ids=True).model_json_schema()["title"]
    assert _key(task, products, integer_ids=False) != KEYS_BEFORE_TEXT_IDS[task]


def test_a_text_run_reads_an_id_written_as_a_number_as_its_digits():
    answer = {
        "assignments": [
            {"product_id": 42, "segment": "Smart"},
            {"product_id": " SKU-0042-BLK ", "segment": "Smart"},
        ]
    }

    parsed = prompts.output_model(prompts.REFINE_TASK, integer_ids=False).model_validate(answer)

    assert [placement.product_id for placement in parsed.assignments] == ["42", "SKU-0042-BLK"]
    for not_an_id in (True, 4.2):
        with pytest.raises(ValueError, match="product_id"):
            prompts.TextRefinementOutput.model_validate(
                {"assignments": [{"product_id": not_an_id, "segment": "x"}]}
            )


def test_integer_ids_are_those_a_bigint_gives_back_unchanged():
    assert all(is_integer_id(value) for value in ["0", "42", "-7", str(2**63 - 1), str(-(2**63))])
    assert not any(
        is_integer_id(value) for value in ["007", "+5", "-0", "1e3", "1_000", "12.0", "٣", str(2**63), "B07"]
    )
    assert all_integer_ids(["1", "2"])
    assert all_integer_ids([])
    assert not all_integer_ids(["1", "SKU-1"])
    assert as_json("42", True) == 42
    assert as_json("42", False) == "42"


def test_integer_ids_sort_by_value_and_text_ids_after_them():
    ids = ["SKU-2", "10", "9", "B07", "-3", "007"]

    assert sorted(ids, key=id_order) == ["-3", "9", "10", "007", "B07", "SKU-2"]
    # So an integer run's batches are those of the bigint column's numeric order.
    plan = CallPlan.for_products(["10", "9", "100", "1"], SegmentationParams(batch_size=2))
    assert plan.extraction_batches == (("1", "9"), ("10", "100"))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("   ", "empty product id"),
        ("x" * 257, "a product id of 257 characters, longer than the 256 allowed"),
        ("SKU\x0742", "a control character (\\x07) in product id 'SKU\\x0742'"),
        (1.5, "1.5 is not a product id (a string or an integer)"),
        (True, "True is not a product id (a string or an integer)"),
    ],
)
def test_checked_ids_are_trimmed_and_refused_with_the_reason(value, problem):
    assert checked_id(" SKU-0042-BLK ") == "SKU-0042-BLK"
    assert checked_id(42) == "42"
    assert checked_id("x" * 256) == "x" * 256
    with pytest.raises(ProductIdError) as refused:
        checked_id(value)
    assert str(refused.value) == problem
    assert "\n" not in json.dumps(str(refused.value))
