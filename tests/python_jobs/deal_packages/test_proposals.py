"""What a model proposes for a cluster is validated against the cluster: invented ids dropped and counted,
empty packages, duplicate names and a deal in two packages refused; the prompt template's placeholder."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from python_jobs.deal_packages.proposals import (
    PromptTemplateError,
    deals_in_prompt,
    load_template,
    proposals_for_cluster,
    render_prompt,
)

CLUSTER = ["DL-1", "DL-2", "DL-3"]


def package(name: str, *deal_ids: str) -> dict:
    return {"package_name": name, "deal_ids": list(deal_ids), "reasoning": "because"}


def test_invented_ids_are_dropped_and_counted():
    model = proposals_for_cluster(CLUSTER, soft_assignments=False)
    parsed = model.model_validate(
        {"packages": [package("A", "DL-1", "DL-99", "DL-2"), package("B", "X", "DL-3")]}
    )
    assert [p.deal_ids for p in parsed.packages] == [["DL-1", "DL-2"], ["DL-3"]]
    assert parsed.invented_deal_ids == 2


@pytest.mark.parametrize(
    ("packages", "problem"),
    [
        ([package("A", "DL-404")], "package 'A' has no deal of this cluster"),
        ([package("A")], "package 'A' has no deal of this cluster"),
        ([package("A", "DL-1"), package("a", "DL-2")], "two packages are named 'a'"),
        ([package("A", "DL-1", "DL-2"), package("B", "DL-2")], "deal 'DL-2' is in more than one package"),
        ([], "at least 1 item"),
    ],
)
def test_bad_proposals_are_invalid(packages, problem):
    with pytest.raises(ValidationError, match=problem):
        proposals_for_cluster(CLUSTER, soft_assignments=False).model_validate({"packages": packages})


def test_with_soft_assignments_a_deal_may_be_in_two_packages():
    model = proposals_for_cluster(CLUSTER, soft_assignments=True)
    parsed = model.model_validate({"packages": [package("A", "DL-1", "DL-2"), package("B", "DL-2")]})
    assert [p.deal_ids for p in parsed.packages] == [["DL-1", "DL-2"], ["DL-2"]]


def test_each_cluster_gets_its_own_checks():
    first = proposals_for_cluster(["DL-1"], soft_assignments=False)
    proposals_for_cluster(["DL-2"], soft_assignments=False)
    with pytest.raises(ValidationError):
        first.model_validate({"packages": [package("A", "DL-2")]})


def test_the_prompt_carries_the_deals_where_the_placeholder_was(tmp_path):
    deal = {"deal_id": "DL-1", "deal_name": "Soccer Video", "concepts": '["football"]', "family_safe": True}
    prompt = render_prompt("Before\n{enriched_deals}\nAfter", [deal])
    assert prompt.startswith("Before\n```json\n")
    assert prompt.endswith("```\nAfter")
    (carried,) = deals_in_prompt(prompt)
    assert (carried["deal_id"], carried["concepts"], carried["safety"]["family_safe"]) == (
        "DL-1",
        ["football"],
        True,
    )
    assert "{enriched_deals}" in load_template(None)


def test_a_template_without_the_placeholder_is_refused(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("Group these deals: {deals}")
    with pytest.raises(PromptTemplateError, match=r"has no \{enriched_deals\} placeholder"):
        load_template(path)
