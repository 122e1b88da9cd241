"""Synthetic programmatic deals for `raw.deals`: enriched deals as an SSP's catalogue lists them.

Deals are drawn from verticals (each with its IAB-style taxonomy, concepts, publishers and audiences), in several
formats and safety levels, so that packages have something real to find: most deals of a vertical and format sit
close together; some are near-duplicates of another deal (the same inventory relisted under a new name and floor);
a few are outliers mixing verticals, which a good clustering leaves out.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from python_jobs.warehouse.raw_tables import (
    DEAL_FORMATS as FORMATS,
)
from python_jobs.warehouse.raw_tables import (
    DEAL_QUALITY_TIERS as QUALITY_TIERS,
)
from python_jobs.warehouse.raw_tables import (
    DEAL_VOLUME_TIERS as VOLUME_TIERS,
)
from python_jobs.warehouse.raw_tables import (
    GARM_RISK_RATINGS as GARM_RATINGS,
)
from python_jobs.warehouse.raw_tables import RAW_TABLES

DEALS_TABLE = "deals"
DEFAULT_DEALS = 240

# vertical: (tier 1, tier 2 choices, tier 3 choices, concepts, publishers, audiences, demographic hint)
VERTICALS: dict[str, tuple] = {
    "sports": (
        "Sports",
        ("Soccer", "Basketball", "Tennis"),
        ("Live Matches", "Highlights", "Transfers"),
        ("football", "league", "stadium", "highlights", "fans", "match"),
        ("goalzone.com", "courtside.tv", "matchday.net", "sportsdaily.com"),
        ("sports fans", "fantasy players", "season ticket holders"),
        "men 18-44",
    ),
    "automotive": (
        "Automotive",
        ("Electric Vehicles", "SUVs", "Car Reviews"),
        ("Test Drives", "Charging", "Buying Guides"),
        ("cars", "electric", "dealership", "test drive", "mileage", "charging"),
        ("autotrader.example", "evpulse.com", "motorweek.net"),
        ("in-market car buyers", "ev intenders", "auto enthusiasts"),
        "adults 25-54",
    ),
    "food": (
        "Food & Drink",
        ("Recipes", "Restaurants", "Healthy Eating"),
        ("Quick Dinners", "Baking", "Vegan"),
        ("recipes", "cooking", "kitchen", "baking", "meal prep", "ingredients"),
        ("tastykitchen.com", "bakeday.net", "greenplate.org"),
        ("home cooks", "foodies", "health conscious"),
        "women 25-54",
    ),
    "finance": (
        "Personal Finance",
        ("Investing", "Banking", "Retirement"),
        ("Stocks", "Savings Accounts", "Pensions"),
        ("stocks", "savings", "interest rates", "portfolio", "mortgage", "retirement"),
        ("moneywise.com", "marketbeat.net", "pensionpal.org"),
        ("investors", "high income households", "retirement planners"),
        "adults 35-64",
    ),
    "gaming": (
        "Video Gaming",
        ("Console Games", "Esports", "Mobile Games"),
        ("Reviews", "Tournaments", "Walkthroughs"),
        ("gaming", "console", "esports", "gameplay", "streamers", "tournament"),
        ("pixelplay.gg", "esportscentral.com", "gamerhub.net"),
        ("gamers", "esports viewers", "tech early adopters"),
        "men 18-34",
    ),
    "travel": (
        "Travel",
        ("Beach Holidays", "City Breaks", "Adventure Travel"),
        ("Hotels", "Flights", "Itineraries"),
        ("travel", "hotels", "flights", "holiday", "destinations", "beach"),
        ("wanderlog.com", "jetsetter.net", "beachbound.org"),
        ("frequent travellers", "luxury travellers", "family vacationers"),
        "adults 25-54",
    ),
    "parenting": (
        "Family & Parenting",
        ("Babies", "Toddlers", "Schooling"),
        ("Sleep", "Nutrition", "Activities"),
        ("parenting", "baby", "toddler", "family", "school", "nursery"),
        ("parentpages.com", "littleones.net", "familytime.org"),
        ("new parents", "expecting parents", "family shoppers"),
        "women 25-44",
    ),
}
SSPS = ("Magnite", "PubMatic", "Index Exchange", "OpenX", "Xandr")
# GARM risk ratings, from safest; `family_safe` only where the risk is low.
# Floor prices (CPM, USD) by format: video and CTV cost more.
FORMAT_FLOOR = {"display": 1.5, "native": 2.5, "audio": 4.0, "video": 8.0, "ctv": 18.0}
NEAR_DUPLICATE_SHARE = 0.08
OUTLIER_SHARE = 0.04


def _deal(rng: np.random.Generator, number: int, vertical: str, fmt: str, garm: str) -> dict:
    tier1, tier2s, tier3s, concepts, publishers, audiences, demographic = VERTICALS[vertical]
    tier2 = str(rng.choice(tier2s))
    quality = str(rng.choice(QUALITY_TIERS, p=(0.3, 0.5, 0.2)))
    floor = (
        FORMAT_FLOOR[fmt] * {"premium": 1.6, "standard": 1.0, "value": 0.6}[quality] * rng.uniform(0.85, 1.15)
    )
    return {
        "deal_id": f"DL-{number:05d}",
        "deal_name": f"{tier2} {fmt.upper() if fmt == 'ctv' else fmt.title()} {quality.title()}",
        "ssp": str(rng.choice(SSPS)),
        "format": fmt,
        "taxonomy_tier1": tier1,
        "taxonomy_tier2": tier2,
        "taxonomy_tier3": str(rng.choice(tier3s)),
        "concepts": json.dumps(sorted(rng.choice(concepts, size=3, replace=False).tolist())),
        "garm_risk_rating": garm,
        "family_safe": garm in ("floor", "low"),
        "inferred_audiences": json.dumps(sorted(rng.choice(audiences, size=2, replace=False).tolist())),
        "demographic_hint": demographic,
        "quality_tier": quality,
        "volume_tier": str(rng.choice(VOLUME_TIERS)),
        "floor_price": round(float(floor), 2),
        "publishers": json.dumps(sorted(rng.choice(publishers, size=2, replace=False).tolist())),
    }


def generate_deals(count: int = DEFAULT_DEALS, seed: int = 42) -> list[dict]:
    """`count` deals; same seed, same deals."""
    rng = np.random.default_rng(seed)
    verticals = list(VERTICALS)
    # Each vertical sells mostly two formats and sits at one or two safety levels, as real inventory does.
    profile = {
        vertical: (
            rng.choice(FORMATS, size=2, replace=False).tolist(),
            GARM_RATINGS[:2] if vertical in ("parenting", "food", "travel") else GARM_RATINGS[1:3],
        )
        for vertical in verticals
    }
    deals: list[dict] = []
    outliers = int(count * OUTLIER_SHARE)
    duplicates = int(count * NEAR_DUPLICATE_SHARE)
    for number in range(1, count - outliers - duplicates + 1):
        vertical = verticals[(number - 1) % len(verticals)]
        formats, ratings = profile[vertical]
        deals.append(_deal(rng, number, vertical, str(rng.choice(formats)), str(rng.choice(ratings))))
    originals = len(deals)
    for _ in range(duplicates):
        original = deals[int(rng.integers(originals))]
        copy = dict(original)
        copy["deal_id"] = f"DL-{len(deals) + 1:05d}"
        copy["deal_name"] = f"{original['deal_name']} - Relisted"
        copy["floor_price"] = round(original["floor_price"] * float(rng.uniform(0.95, 1.05)), 2)
        copy["ssp"] = str(rng.choice(SSPS))
        deals.append(copy)
    for _ in range(outliers):
        # Mixed signals: one vertical's taxonomy, another's concepts and audience, an unusual format and risk.
        first, second = rng.choice(verticals, size=2, replace=False)
        deal = _deal(rng, len(deals) + 1, str(first), str(rng.choice(FORMATS)), "high")
        mixed = _deal(rng, 0, str(second), "audio", "high")
        deal |= {key: mixed[key] for key in ("concepts", "inferred_audiences", "publishers")}
        deal["floor_price"] = round(deal["floor_price"] * 4, 2)
        deals.append(deal)
    return deals


def deals_table(count: int = DEFAULT_DEALS, seed: int = 42) -> pa.Table:
    return pa.Table.from_pylist(generate_deals(count, seed), schema=RAW_TABLES[DEALS_TABLE])
