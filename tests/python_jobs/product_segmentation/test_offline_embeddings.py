"""The offline provider's embedding clusters, over both backends: extraction recovers groups of products with
distinct vocabularies and names them from their distinctive words, consolidation merges close segments and keeps
distant ones, refinement places each product at its nearest segment, and the cache key names backend and logic."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from python_jobs.embeddings import minilm_available
from python_jobs.llm.config import LLMConfig
from python_jobs.product_segmentation import offline_embeddings, prompts
from python_jobs.product_segmentation.job import job_config

OUT = "__OUT_OF_SCOPE__"

# Three kinds of hot drink, each with words of its own.
COFFEE = {
    11: ("Espresso coffee beans", "Whole coffee beans, dark espresso roast."),
    12: ("Arabica coffee beans", "Whole arabica coffee beans, medium roast."),
    13: ("Dark roast coffee beans", "Coffee beans roasted dark for filter coffee."),
    14: ("Decaf coffee beans", "Decaffeinated whole coffee beans, smooth roast."),
}
TEA = {
    21: ("Green tea bags", "Japanese sencha green tea in 40 tea bags."),
    22: ("Earl Grey black tea", "Black tea with bergamot, 50 tea bags."),
    23: ("Chamomile herbal tea", "Caffeine-free chamomile tea bags."),
    24: ("Loose leaf green tea", "Loose leaf green tea from Darjeeling."),
}
COCOA = {
    31: ("Hot chocolate powder", "Rich cocoa drinking chocolate, just add milk."),
    32: ("Dark chocolate cocoa drink", "Dark cocoa hot chocolate mix."),
    33: ("Milk chocolate drinking powder", "Creamy hot chocolate powder with cocoa."),
    34: ("Cocoa powder for hot chocolate", "Pure cocoa powder for a hot chocolate drink."),
}
GROUPS = {"coffee": COFFEE, "tea": TEA, "chocolate": COCOA}


def products(*groups: dict) -> list[dict]:
    """Payload products; each says it is a hot drink, so none is out of scope for the category 'Hot drinks'."""
    return [
        {
            "product_id": pid,
            "title": title,
            "brand": "Acme",
            "price": 4.5,
            "description": f"{text} A hot drink.",
        }
        for group in groups
        for pid, (title, text) in group.items()
    ]


@pytest.fixture(params=["tfidf", "minilm"])
def backend(request) -> str:
    if request.param == "minilm" and not minilm_available():
        # CI installs the extra and sets this, so MiniLM is tested there, never skipped.
        if os.environ.get("SEGMENTS_REQUIRE_EMBEDDINGS") == "1":
            pytest.fail("the `embeddings` extra is not installed, and SEGMENTS_REQUIRE_EMBEDDINGS=1")
        pytest.skip("the `embeddings` extra is not installed")
    return request.param


def handlers(backend: str) -> dict:
    return offline_embeddings.offline_handlers(backend)


def partition(assignments: list[dict]) -> set[frozenset]:
    groups: dict[str, set] = {}
    for row in assignments:
        groups.setdefault(row["segment"], set()).add(row["product_id"])
    return {frozenset(members) for members in groups.values()}


# ------------------------------------------------------------------------------------------------ extraction


def test_extraction_recovers_the_groups_and_names_them_from_their_distinctive_words(backend):
    # Interleaved, so the answer cannot follow the input order.
    batch = [p for trio in zip(*(products(g) for g in GROUPS.values()), strict=True) for p in trio]
    payload = prompts.extraction_payload("Hot drinks", batch, max_segments=8)
    answer = handlers(backend)[prompts.EXTRACT_TASK](payload)
    prompts.ExtractionOutput.model_validate(answer)
    assert partition(answer["assignments"]) == {frozenset(g) for g in GROUPS.values()}
    # Answers come in the batch's order, with the ids as they were given.
    assert [row["product_id"] for row in answer["assignments"]] == [p["product_id"] for p in batch]
    placed = {row["product_id"]: row["segment"] for row in answer["assignments"]}
    definitions = {s["name"]: s["definition"] for s in answer["segments"]}
    for word, group in GROUPS.items():
        # The word every product of the group uses and no other group does leads the name...
        name = placed[next(iter(group))]
        assert name.split()[0].casefold() == word, name
        assert name.endswith(" hot drinks")
        # ...and the definition shows products of the group and its distinctive words.
        assert definitions[name].startswith("Hot drinks such as ")
        assert any(title in definitions[name] for title, _ in group.values())
        assert word in definitions[name].split("Distinctive words:")[1].casefold()


def test_products_not_mentioning_the_category_are_out_of_scope(kit, backend):
    payload = prompts.extraction_payload(kit.category, kit.rows(), max_segments=5)
    answer = handlers(backend)[prompts.EXTRACT_TASK](payload)
    placed = {row["product_id"]: row["segment"] for row in answer["assignments"]}
    assert [placed[i] for i in kit.out_of_scope_ids] == [OUT, OUT]
    assert all(placed[i] != OUT for i in kit.product_ids if i not in kit.out_of_scope_ids)


def test_a_batch_of_one_kind_stays_one_segment(backend):
    same = [
        {"product_id": i, "title": "Green tea bags", "brand": "", "price": None, "description": ""}
        for i in (1, 2)
    ]
    answer = handlers(backend)[prompts.EXTRACT_TASK](prompts.extraction_payload("Tea", same, max_segments=8))
    assert len(answer["segments"]) == 1
    assert {row["segment"] for row in answer["assignments"]} == {answer["segments"][0]["name"]}


def test_clusters_follow_the_vectors_and_the_limit():
    # Two tight pairs far apart: two clusters, whatever the limit above that.
    vectors = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0], [0.14, 0.99]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert offline_embeddings.cluster_labels(vectors, 8).tolist() == [0, 0, 1, 1]
    assert offline_embeddings.cluster_labels(vectors, 1).tolist() == [0, 0, 0, 0]


def test_distinctive_terms_rank_words_frequent_in_the_cluster_and_rare_elsewhere():
    documents = [
        ["tea", "green", "bag"],
        ["tea", "black", "bag"],
        ["coffee", "bean", "bag"],
        ["coffee", "ground"],
    ]
    labels = np.array([0, 0, 1, 1])
    ranked = offline_embeddings.distinctive_terms(documents, labels)
    # Cluster 0: tea 2/6 * log(1 + 5.5/2) = 0.4406; bag 2/6 * log(1 + 5.5/3) = 0.3473; green and black are used by
    # one product only and left out. Cluster 1: coffee 2/5 * log(1 + 5.5/2) = 0.5287.
    assert [term for term, _ in ranked[0]] == ["tea", "bag"]
    assert ranked[0][0][1] == pytest.approx(2 / 6 * np.log(1 + 5.5 / 2))
    assert ranked[0][1][1] == pytest.approx(2 / 6 * np.log(1 + 5.5 / 3))
    assert ranked[1][0] == ("coffee", pytest.approx(2 / 5 * np.log(1 + 5.5 / 2)))


# --------------------------------------------------------------------------------------------- consolidation


def _segment(name: str, examples: str, words: str) -> dict[str, str]:
    return {"name": name, "definition": f"Hot drinks such as {examples}. Distinctive words: {words}."}


COFFEE_BEANS = _segment(
    "Coffee beans hot drinks", "Espresso coffee beans; Arabica coffee beans", "coffee, beans, roast, espresso"
)
GROUND_COFFEE = _segment(
    "Coffee hot drinks",
    "Ground coffee beans, medium roast; Espresso coffee beans",
    "coffee, roast, ground, beans",
)
GREEN_TEA = _segment("Green tea hot drinks", "Green tea bags; Loose leaf green tea", "tea, green, leaf, bags")
HOT_CHOCOLATE = _segment(
    "Hot chocolate drinks",
    "Hot chocolate powder; Milk chocolate drinking powder",
    "chocolate, cocoa, powder, milk",
)


def test_consolidation_merges_close_segments_and_keeps_distant_ones(backend):
    payload = prompts.consolidation_payload(
        "Hot drinks", [COFFEE_BEANS, GREEN_TEA], [GROUND_COFFEE, HOT_CHOCOLATE], max_segments=12
    )
    answer = handlers(backend)[prompts.CONSOLIDATE_TASK](payload)
    prompts.ConsolidationOutput.model_validate(answer)
    # The ground coffee joins the coffee beans (the earlier one's name and definition stay); the rest stay apart.
    assert answer["segments"] == [COFFEE_BEANS, GREEN_TEA, HOT_CHOCOLATE]


def test_consolidation_over_the_limit_merges_the_closest_pair(backend, monkeypatch):
    # No threshold merge, so the limit alone decides: the two coffee segments are the closest pair.
    monkeypatch.setitem(offline_embeddings.MERGE_SIMILARITY, backend, 1.01)
    payload = prompts.consolidation_payload(
        "Hot drinks", [COFFEE_BEANS, GREEN_TEA], [GROUND_COFFEE], max_segments=2
    )
    answer = handlers(backend)[prompts.CONSOLIDATE_TASK](payload)
    assert answer["segments"] == [COFFEE_BEANS, GREEN_TEA]
    unlimited = prompts.consolidation_payload("Hot drinks", [COFFEE_BEANS, GREEN_TEA], [GROUND_COFFEE], 12)
    assert len(handlers(backend)[prompts.CONSOLIDATE_TASK](unlimited)["segments"]) == 3


def test_segments_with_the_same_name_are_one_segment(backend):
    renamed = {**GREEN_TEA, "name": COFFEE_BEANS["name"].upper()}
    payload = prompts.consolidation_payload("Hot drinks", [COFFEE_BEANS], [renamed], max_segments=12)
    assert handlers(backend)[prompts.CONSOLIDATE_TASK](payload)["segments"] == [COFFEE_BEANS]


# ------------------------------------------------------------------------------------------------ refinement


def test_refinement_places_each_product_at_its_nearest_segment(backend):
    segments = [GREEN_TEA, HOT_CHOCOLATE, COFFEE_BEANS]
    batch = products(COFFEE, TEA, COCOA)
    answer = handlers(backend)[prompts.REFINE_TASK](prompts.refinement_payload("Hot drinks", segments, batch))
    prompts.RefinementOutput.model_validate(answer)
    placed = {row["product_id"]: row["segment"] for row in answer["assignments"]}
    expected = {COFFEE_BEANS["name"]: COFFEE, GREEN_TEA["name"]: TEA, HOT_CHOCOLATE["name"]: COCOA}
    for name, group in expected.items():
        assert {placed[pid] for pid in group} == {name}


def test_nearest_segments_moves_centroids_to_their_products():
    # Product 2 is nearer segment 0's own vector, but nearer segment 1 once the centroids move to the products
    # first placed there (products 0 and 1 pull segment 0 away from product 2; product 3 pulls segment 1 to it).
    segments = np.array([[1.0, 0.0], [0.0, 1.0]])
    unit = lambda x, y: np.array([x, y]) / np.hypot(x, y)  # noqa: E731
    products_ = np.array([unit(1, -0.6), unit(1, -0.6), unit(1, 0.9), unit(0.8, 1)])
    nearest, closeness = offline_embeddings.nearest_segments(products_, segments)
    assert nearest.tolist() == [0, 0, 1, 1]
    # Closeness is to the segments as they were: product 2's best cosine is to segment 0 (1 / hypot(1, 0.9)).
    expected = [1 / np.hypot(1, 0.6), 1 / np.hypot(1, 0.6), 1 / np.hypot(1, 0.9), 1 / np.hypot(0.8, 1)]
    np.testing.assert_allclose(closeness, expected)


@pytest.mark.parametrize("batch", [slice(None), slice(8, 10)], ids=["whole catalogue", "only the strays"])
def test_refinement_sets_aside_what_neither_names_the_category_nor_comes_close(kit, backend, batch):
    segments = [
        {
            "name": "Smart Wi-Fi dimmer switches",
            "definition": "Dimmer switches such as Smart Wi-Fi dimmer switch.",
        },
        {"name": "Rotary dimmer switches", "definition": "Dimmer switches such as Rotary dimmer switch."},
    ]
    rows = kit.rows()[batch]
    answer = handlers(backend)[prompts.REFINE_TASK](prompts.refinement_payload(kit.category, segments, rows))
    placed = {row["product_id"]: row["segment"] for row in answer["assignments"]}
    # The two strays alone in a batch must not pull a segment to themselves and so look close to it.
    assert [placed[i] for i in kit.out_of_scope_ids] == [OUT, OUT]
    if len(rows) == len(kit.rows()):
        assert placed[101] == "Smart Wi-Fi dimmer switches"
        assert placed[104] == "Rotary dimmer switches"


# ------------------------------------------------------------------------------------------- cache and label


def test_the_cache_key_names_the_backend_and_the_logic_version(monkeypatch):
    tfidf, minilm = (
        offline_embeddings.offline_model_name("tfidf"),
        offline_embeddings.offline_model_name("minilm"),
    )
    assert tfidf == "offline-embeddings-v2:tfidf:tfidf-svd-v1:64"
    assert minilm == "offline-embeddings-v2:minilm:sentence-transformers/all-MiniLM-L6-v2:384"
    monkeypatch.setattr(offline_embeddings, "OFFLINE_LOGIC_VERSION", "offline-embeddings-v2")
    assert offline_embeddings.offline_model_name("tfidf") == "offline-embeddings-v2:tfidf:tfidf-svd-v1:64"


def test_an_offline_run_is_labelled_offline_with_the_backend_it_used():
    config = job_config(LLMConfig(provider="offline"))
    expected = "minilm" if minilm_available() else "tfidf"
    assert config.public_dict()["provider"] == "offline"
    assert config.public_dict()["model"] == offline_embeddings.offline_model_name(expected)
    assert f":{expected}:" in config.public_dict()["model"]
    # An Anthropic run keeps its own model name.
    anthropic = dataclasses.replace(LLMConfig(provider="offline"), provider="anthropic", model="claude-x")
    assert job_config(anthropic).public_dict()["model"] == "claude-x"


def test_text_ids_pass_through_every_phase_as_given(backend):
    batch = [{**p, "product_id": f"SKU-{p['product_id']:04d}-BLK"} for p in products(COFFEE, TEA)]
    payload = prompts.extraction_payload("Hot drinks", batch, max_segments=8, integer_ids=False)
    extracted = handlers(backend)[prompts.EXTRACT_TASK](payload)
    skus = [p["product_id"] for p in batch]
    assert [row["product_id"] for row in extracted["assignments"]] == skus
    refine = prompts.refinement_payload("Hot drinks", extracted["segments"], batch, integer_ids=False)
    refined = handlers(backend)[prompts.REFINE_TASK](refine)
    assert [row["product_id"] for row in refined["assignments"]] == skus
    assert partition(refined["assignments"]) == {frozenset(skus[:4]), frozenset(skus[4:])}
