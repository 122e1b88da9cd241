"""`segments load-deals` and the deal generator: good files load, a bad line refuses the file whole with its
line named, and generated deals have the variety packages need."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from python_jobs.cli.data import load_deals_command
from python_jobs.ingest.deals import read_deals
from python_jobs.ingest.generate.deals import VERTICALS, generate_deals
from python_jobs.ingest.raw_loading import LoadError
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

GOOD = {
    "deal_id": " DL-1 ",
    "deal_name": "Soccer Video Premium",
    "ssp": "Magnite",
    "format": "Video",
    "taxonomy_tier1": "Sports",
    "concepts": ["football", " match "],
    "garm_risk_rating": "low",
    "family_safe": True,
    "quality_tier": "premium",
    "floor_price": 12.5,
    "publishers": ["goalzone.com"],
}


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_a_good_file_is_read_trimmed_with_lists_as_json_and_enums_lower_case(tmp_path):
    table = read_deals(
        write_jsonl(tmp_path / "d.jsonl", [GOOD, "", {"deal_id": "DL-2", "deal_name": "Bare"}])
    )
    first, second = table.to_pylist()
    assert first["deal_id"] == "DL-1"
    assert first["format"] == "video"
    assert json.loads(first["concepts"]) == ["football", "match"]
    assert first["family_safe"] is True
    assert first["floor_price"] == 12.5
    assert second == {**dict.fromkeys(first), "deal_id": "DL-2", "deal_name": "Bare"}


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ({"deal_name": "No id"}, "`deal_id` is missing"),
        ({**GOOD, "deal_id": "DL-9", "format": "hologram"}, "`format` must be one of display"),
        ({**GOOD, "deal_id": "DL-9", "floor_price": "cheap"}, "`floor_price` must be a number"),
        ({**GOOD, "deal_id": "DL-9", "floor_price": -1}, "outside 0..10,000"),
        ({**GOOD, "deal_id": "DL-9", "concepts": "football"}, "`concepts` must be a list of strings"),
        ({**GOOD, "deal_id": "DL-9", "family_safe": "yes"}, "`family_safe` must be true or false"),
        ({**GOOD, "deal_id": "DL-1"}, "duplicate deal id 'DL-1' (first on line 1)"),
    ],
)
def test_a_bad_line_refuses_the_file_with_its_line(tmp_path, bad_line, message):
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, {"deal_id": "DL-3", "deal_name": "Fine"}, bad_line])
    with pytest.raises(LoadError) as caught:
        read_deals(path)
    assert f"{path}, line 3: " in str(caught.value)
    assert message in str(caught.value)


def test_refused_file_leaves_the_warehouse_as_it_was(tmp_path, warehouse):
    good = write_jsonl(tmp_path / "good.jsonl", [GOOD])
    assert CliRunner().invoke(load_deals_command, [str(good), "--target", warehouse.target]).exit_code == 0
    bad = write_jsonl(tmp_path / "bad.jsonl", [{**GOOD, "deal_id": "DL-7"}, {"deal_id": "DL-8"}])
    result = CliRunner().invoke(load_deals_command, [str(bad), "--target", warehouse.target])
    assert result.exit_code == 1
    assert "line 2: `deal_name` is missing" in result.output
    assert "Nothing was loaded" in result.output
    with warehouse.session() as session:
        assert session.fetchall(f"select deal_id from {RAW_SCHEMA}.deals") == [("DL-1",)]


def test_generated_deals_have_verticals_formats_safety_levels_duplicates_and_outliers():
    deals = generate_deals(240, seed=7)
    assert deals == generate_deals(240, seed=7)
    assert len({d["deal_id"] for d in deals}) == 240
    assert len(Counter(d["taxonomy_tier1"] for d in deals)) == 7
    assert len(Counter(d["format"] for d in deals)) >= 4
    assert set(Counter(d["garm_risk_rating"] for d in deals)) >= {"floor", "low", "medium", "high"}
    relisted = [d for d in deals if d["deal_name"].endswith(" - Relisted")]
    assert len(relisted) == 19
    originals = {(d["deal_name"], d["publishers"]) for d in deals if not d["deal_name"].endswith("Relisted")}
    assert all((d["deal_name"].removesuffix(" - Relisted"), d["publishers"]) in originals for d in relisted)
    # Outliers: one vertical's taxonomy with another's concepts.
    concepts_of = {tier1: set(concepts) for tier1, _, _, concepts, *_ in VERTICALS.values()}
    mixed = [d for d in deals if not set(json.loads(d["concepts"])) <= concepts_of[d["taxonomy_tier1"]]]
    assert len(mixed) == 9
    assert all(d["garm_risk_rating"] == "high" for d in mixed)
