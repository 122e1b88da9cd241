"""The text a deal is embedded and described by: every enrichment field in words, in a fixed order."""

from __future__ import annotations

import json
from typing import Any

DEAL_COLUMNS = (
    "deal_id",
    "deal_name",
    "ssp",
    "format",
    "taxonomy_tier1",
    "taxonomy_tier2",
    "taxonomy_tier3",
    "concepts",
    "garm_risk_rating",
    "family_safe",
    "inferred_audiences",
    "demographic_hint",
    "quality_tier",
    "volume_tier",
    "floor_price",
    "publishers",
)


def json_list(value: str | None) -> list[str]:
    """A JSON array column as a list ([] when null or not an array of strings)."""
    if not value:
        return []
    try:
        items = json.loads(value)
    except ValueError:
        return []
    return [str(item) for item in items] if isinstance(items, list) else []


def deal_text(deal: dict[str, Any]) -> str:
    """One line per aspect; the deal id is left out, so relisted copies of a deal embed alike."""
    return "\n".join(deal_aspects(deal))


def deal_aspects(deal: dict[str, Any]) -> list[str]:
    """The deal's text, aspect by aspect (always the same number of them, in the same order)."""
    taxonomy = " > ".join(t for t in (deal.get(f"taxonomy_tier{i}") for i in (1, 2, 3)) if t)
    safety = f"GARM risk {deal.get('garm_risk_rating') or 'unknown'}"
    if deal.get("family_safe") is not None:
        safety += ", family safe" if deal["family_safe"] else ", not family safe"
    parts = [
        f"Deal: {deal.get('deal_name') or ''}",
        f"SSP: {deal.get('ssp') or 'unknown'}; format: {deal.get('format') or 'unknown'}",
        f"Taxonomy: {taxonomy}",
        f"Concepts: {', '.join(json_list(deal.get('concepts')))}",
        f"Safety: {safety}",
        f"Audience: {', '.join(json_list(deal.get('inferred_audiences')))}; {deal.get('demographic_hint') or ''}",
        f"Commercial: {deal.get('quality_tier') or 'unknown'} quality, {deal.get('volume_tier') or 'unknown'} volume",
        f"Publishers: {', '.join(json_list(deal.get('publishers')))}",
    ]
    return parts
