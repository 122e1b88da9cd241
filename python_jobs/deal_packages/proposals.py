"""The per-cluster LLM call: the prompt, the output contract and its validation.

The prompt is a template with an `{enriched_deals}` placeholder (the repository's `default_prompt.txt`, or the
user's own with `--prompt-template`), filled with the cluster's deals as one fenced JSON block, so a reader (or
the offline provider, or a fake server) can find them again.

Validation is part of the output model, bound to the cluster: deal ids that are not the cluster's are dropped
and counted; a package left empty, two packages of one name, or a deal in two packages (unless soft assignments
are on) make the reply invalid, and the LLM client asks again (up to its attempt limit).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from python_jobs.deal_packages.text import json_list

TASK = "deal_packages"
# Bumped whenever the output model or the payload changes, so cached answers to an older contract are not reused.
SCHEMA_VERSION = "deal-packages-v1"
PLACEHOLDER = "{enriched_deals}"
SYSTEM = "You are a programmatic advertising packaging analyst."
_FENCED_JSON = re.compile(r"```json\s*\n(.*?)\n```", re.DOTALL)


class PromptTemplateError(ValueError):
    """A user's template without the placeholder."""


def default_template() -> str:
    return resources.files("python_jobs.deal_packages").joinpath("default_prompt.txt").read_text("utf-8")


def load_template(path: Path | None) -> str:
    if path is None:
        return default_template()
    text = Path(path).read_text(encoding="utf-8")
    if PLACEHOLDER not in text:
        raise PromptTemplateError(f"{path}: the prompt template has no {PLACEHOLDER} placeholder")
    return text


def enriched_deal(deal: dict[str, Any]) -> dict[str, Any]:
    """What the model is told of one deal."""
    return {
        "deal_id": deal["deal_id"],
        "deal_name": deal["deal_name"],
        "ssp": deal.get("ssp"),
        "format": deal.get("format"),
        "taxonomy": [deal.get("taxonomy_tier1"), deal.get("taxonomy_tier2"), deal.get("taxonomy_tier3")],
        "concepts": json_list(deal.get("concepts")),
        "safety": {"garm_risk_rating": deal.get("garm_risk_rating"), "family_safe": deal.get("family_safe")},
        "audience": {
            "inferred_audiences": json_list(deal.get("inferred_audiences")),
            "demographic_hint": deal.get("demographic_hint"),
        },
        "commercial": {
            "quality_tier": deal.get("quality_tier"),
            "volume_tier": deal.get("volume_tier"),
            "floor_price": deal.get("floor_price"),
        },
        "publishers": json_list(deal.get("publishers")),
    }


def render_prompt(template: str, deals: list[dict[str, Any]]) -> str:
    block = json.dumps([enriched_deal(d) for d in deals], indent=1, sort_keys=True, ensure_ascii=False)
    return template.replace(PLACEHOLDER, f"```json\n{block}\n```")


def deals_in_prompt(prompt: str) -> list[dict[str, Any]]:
    """The deals a prompt of `render_prompt` carries (for fake servers and tests)."""
    match = _FENCED_JSON.search(prompt)
    return json.loads(match.group(1)) if match else []


class ProposedPackage(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    package_name: str = Field(min_length=1, max_length=120)
    deal_ids: list[str]
    reasoning: str = Field(default="", max_length=2000)


class PackageProposals(BaseModel):
    """The reply's packages; subclassed per cluster by `proposals_for_cluster`, which binds the checks."""

    model_config = ConfigDict(extra="ignore")

    packages: list[ProposedPackage] = Field(min_length=1)
    cluster_deal_ids: ClassVar[frozenset[str]] = frozenset()
    soft_assignments: ClassVar[bool] = False
    _invented_deal_ids: int = PrivateAttr(default=0)

    @property
    def invented_deal_ids(self) -> int:
        return self._invented_deal_ids

    @model_validator(mode="after")
    def _belongs_to_the_cluster(self) -> PackageProposals:
        invented = 0
        names: set[str] = set()
        placed: set[str] = set()
        for package in self.packages:
            kept = []
            for deal_id in dict.fromkeys(d.strip() for d in package.deal_ids):
                if deal_id in self.cluster_deal_ids:
                    kept.append(deal_id)
                else:
                    invented += 1
            package.deal_ids = kept
            if not kept:
                raise ValueError(f"package {package.package_name!r} has no deal of this cluster")
            if package.package_name.lower() in names:
                raise ValueError(f"two packages are named {package.package_name!r}")
            names.add(package.package_name.lower())
            twice = placed.intersection(kept)
            if twice and not self.soft_assignments:
                raise ValueError(f"deal {sorted(twice)[0]!r} is in more than one package")
            placed.update(kept)
        self._invented_deal_ids = invented
        return self


def proposals_for_cluster(deal_ids: list[str], soft_assignments: bool) -> type[PackageProposals]:
    """The output model that checks a reply against this cluster's deals."""
    allowed, soft = frozenset(deal_ids), soft_assignments

    class ClusterPackageProposals(PackageProposals):
        cluster_deal_ids: ClassVar[frozenset[str]] = allowed
        soft_assignments: ClassVar[bool] = soft

    return ClusterPackageProposals
