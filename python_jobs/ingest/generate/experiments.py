"""Synthetic A/B tests for `segments generate`: experiments, variants, assignments and conversions.

Five experiments over the 14 days before the commerce data ends, one per channel and a second on the web, each
with traffic that grows day by day: at scale 1 the newsletter test stays under 1,000 visitors a day, the checkout
and push tests pass it, and the hero-banner test passes 10,000 on its last day (about 84,000 assignments in
all, so `segments demo` stays quick; `--experiment-scale` multiplies every day's traffic).

Web visitors carry real-looking user-agent strings of phones, tablets, desktops and bots (bots never convert),
UTM parameters or a referrer; e-mail, funnel and push visitors carry their channel's own fields. The variants'
effects differ by segment, so that segmentation has something real to find: on the hero banner, B is best for
Instagram visitors on phones and A for Google visitors on desktops; on the newsletter, B wins with engaged
readers and A with the rest; on the funnel, D wins at payment; on push, C wins on Android and A on iOS.
Same seed, same data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from python_jobs.warehouse.raw_tables import EXPERIMENT_RAW_TABLES, RAW_TABLES

EXPERIMENTS_END = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
EXPERIMENT_DAYS = 14
_SECONDS_PER_DAY = 86_400

# Visitors by hour of day (UTC): quiet nights, a lunch bump and a long evening.
_HOUR_WEIGHTS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.5, 4, 5, 4.5, 4, 4, 4, 4.5, 5.5, 6.5, 7, 6.5, 4.5, 2.5]
)
_HOUR_WEIGHTS = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()


# ---------------------------------------------------------------------------------------------- user agents
# Templates of real browsers' user agents; `{v}` takes one of a few build numbers, so the same device family
# gives several distinct strings, as real traffic does.
_PHONE_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{v} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.{v}3 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.6312.{v}9 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.{v} Chrome/117.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.6261.{v}05 Mobile Safari/537.36",
)
_INSTAGRAM_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 322.0.2.{v}6.106 (iPhone15,2; iOS 17_{v}; en_US; en; scale=3.00; 1179x2556; 563276578)",
    "Mozilla/5.0 (Linux; Android 14; SM-S911B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/124.0.6367.{v}2 Mobile Safari/537.36 Instagram 327.0.0.{v}0.98 Android "
    "(34/14; 420dpi; 1080x2340; samsung; SM-S911B; dm1q; qcom; en_GB; 587301422)",
)
_TABLET_AGENTS = (
    "Mozilla/5.0 (iPad; CPU OS 16_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.{v} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.6261.{v}4 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.{v} "
    "like Chrome/120.0.6099.230 Safari/537.36",
)
_DESKTOP_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.{v}1 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{v} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.{v}1",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:12{v}.0) Gecko/20100101 Firefox/12{v}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.{v}; rv:125.0) Gecko/20100101 Firefox/125.0",
)
_BOT_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.{v}; +https://openai.com/gptbot)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
)
DEVICE_AGENTS = {
    "mobile": _PHONE_AGENTS,
    "tablet": _TABLET_AGENTS,
    "desktop": _DESKTOP_AGENTS,
    "bot": _BOT_AGENTS,
}


def _agent(rng: np.random.Generator, templates: tuple[str, ...]) -> str:
    return templates[rng.integers(len(templates))].replace("{v}", str(rng.integers(1, 7)))


# ---------------------------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class _Experiment:
    experiment_id: str
    name: str
    channel: str
    variants: tuple[str, ...]
    first_day_visitors: int
    last_day_visitors: int
    time_zone: str | None
    # (rng, count) -> contexts and one segment label per visitor; the label picks the conversion rates.
    contexts: Callable[[np.random.Generator, int], tuple[list[dict], list[str]]]
    # segment label -> conversion rate of each variant, in variant order; "*" for every other segment.
    rates: dict[str, tuple[float, ...]]


_WEB_SOURCES = (
    # utm_source, utm_medium, referrer, share, device shares (mobile, tablet, desktop, bot)
    ("instagram", "social", None, 0.28, (0.86, 0.08, 0.06, 0.0)),
    ("google", "cpc", None, 0.27, (0.35, 0.07, 0.58, 0.0)),
    ("facebook", "social", None, 0.10, (0.70, 0.10, 0.20, 0.0)),
    ("newsletter", "email", None, 0.08, (0.45, 0.10, 0.45, 0.0)),
    (None, None, "https://www.pinterest.com/pin/8822", 0.07, (0.60, 0.20, 0.20, 0.0)),
    (None, None, "https://news.ycombinator.com/item?id=4012", 0.03, (0.20, 0.0, 0.80, 0.0)),
    (None, None, None, 0.13, (0.40, 0.08, 0.44, 0.08)),  # direct, where the bots come from
    (None, None, "https://www.google.com/", 0.04, (0.0, 0.0, 0.0, 1.0)),  # crawlers following search
)
_COUNTRIES = ("FR", "DE", "GB", "US", "ES", "IT", "NL", "BE")
_COUNTRY_SHARES = (0.25, 0.18, 0.15, 0.14, 0.1, 0.08, 0.06, 0.04)
_DEVICES = ("mobile", "tablet", "desktop", "bot")


def _web_contexts(rng: np.random.Generator, count: int) -> tuple[list[dict], list[str]]:
    shares = np.array([source[3] for source in _WEB_SOURCES])
    sources = rng.choice(len(_WEB_SOURCES), size=count, p=shares / shares.sum())
    countries = rng.choice(_COUNTRIES, size=count, p=_COUNTRY_SHARES)
    contexts, segments = [], []
    for index, country in zip(sources, countries, strict=True):
        utm_source, utm_medium, referrer, _, device_shares = _WEB_SOURCES[index]
        device = _DEVICES[rng.choice(4, p=device_shares)]
        templates = DEVICE_AGENTS[device]
        if utm_source == "instagram" and device == "mobile":
            templates = _INSTAGRAM_AGENTS
        context: dict = {}
        if utm_source:
            context["utm_source"] = utm_source
            context["utm_medium"] = utm_medium
        if referrer:
            context["referrer"] = referrer
        context["user_agent"] = _agent(rng, templates)
        context["country_code"] = str(country)
        contexts.append(context)
        segments.append("bot" if device == "bot" else f"{utm_source or 'other'}|{device}")
    return contexts, segments


def _email_contexts(rng: np.random.Generator, count: int) -> tuple[list[dict], list[str]]:
    lists = rng.choice(("weekly_newsletter", "vip_offers", "winback"), size=count, p=(0.6, 0.15, 0.25))
    contexts, segments = [], []
    for list_id in lists:
        engaged = list_id == "vip_offers" or rng.random() < 0.35
        score = rng.uniform(0.6, 1.0) if engaged else rng.uniform(0.0, 0.6)
        contexts.append(
            {
                "list_id": str(list_id),
                "engagement_score": round(float(score), 3),
                "previous_opens": int(rng.poisson(12 if engaged else 2)),
                "campaign_id": f"cmp_2026_{rng.integers(24, 27)}",
            }
        )
        segments.append("engaged" if engaged else "*")
    return contexts, segments


def _funnel_contexts(rng: np.random.Generator, count: int) -> tuple[list[dict], list[str]]:
    stages = rng.choice(("cart", "shipping", "payment"), size=count, p=(0.5, 0.3, 0.2))
    contexts = [
        {
            "funnel_id": "checkout_v2",
            "current_stage": str(stage),
            "drop_risk": round(float(rng.beta(2, 3)), 3),
            "time_in_funnel_minutes": round(float(rng.exponential(9.0)), 1),
        }
        for stage in stages
    ]
    return contexts, [str(stage) for stage in stages]


def _push_contexts(rng: np.random.Generator, count: int) -> tuple[list[dict], list[str]]:
    platforms = rng.choice(("ios", "android"), size=count, p=(0.55, 0.45))
    contexts = [
        {
            "app": "shop_app",
            "platform": str(platform),
            "os_version": f"17.{rng.integers(0, 6)}" if platform == "ios" else str(rng.integers(11, 15)),
        }
        for platform in platforms
    ]
    return contexts, [str(platform) for platform in platforms]


EXPERIMENTS = (
    _Experiment(
        "exp_hero_banner",
        "Homepage hero banner",
        "web",
        ("A", "B", "C"),
        400,
        12_000,
        "Europe/Paris",
        _web_contexts,
        {
            "instagram|mobile": (0.030, 0.075, 0.035),
            "google|desktop": (0.070, 0.035, 0.045),
            "bot": (0.0, 0.0, 0.0),
            "*": (0.040, 0.042, 0.046),
        },
    ),
    _Experiment(
        "exp_checkout_button",
        "Checkout button colour",
        "web",
        ("control", "green"),
        300,
        2_500,
        None,
        _web_contexts,
        {
            "instagram|mobile": (0.05, 0.07),
            "google|desktop": (0.08, 0.06),
            "bot": (0.0, 0.0),
            "*": (0.06, 0.062),
        },
    ),
    _Experiment(
        "exp_newsletter_subject",
        "Newsletter subject line",
        "email",
        ("A", "B"),
        150,
        600,
        "America/New_York",
        _email_contexts,
        {"engaged": (0.10, 0.16), "*": (0.05, 0.035)},
    ),
    _Experiment(
        "exp_checkout_reassurance",
        "Checkout reassurance message",
        "funnel",
        ("A", "B", "C", "D"),
        100,
        800,
        None,
        _funnel_contexts,
        {
            "payment": (0.30, 0.31, 0.29, 0.42),
            "shipping": (0.20, 0.25, 0.21, 0.19),
            "*": (0.12, 0.11, 0.13, 0.12),
        },
    ),
    _Experiment(
        "exp_cart_reminder_push",
        "Abandoned-cart push reminder",
        "push",
        ("A", "B", "C"),
        200,
        1_400,
        None,
        _push_contexts,
        {"android": (0.03, 0.035, 0.06), "*": (0.07, 0.045, 0.04)},
    ),
)


def daily_visitors(experiment: _Experiment, days: int, scale: float) -> np.ndarray:
    """Visitors of each day, growing geometrically from the first day's count to the last day's."""
    growth = (experiment.last_day_visitors / experiment.first_day_visitors) ** (1 / max(days - 1, 1))
    counts = experiment.first_day_visitors * growth ** np.arange(days) * scale
    return np.maximum(np.rint(counts), 1).astype(np.int64)


def generate_experiment_tables(
    seed: int = 42, scale: float = 1.0, days: int = EXPERIMENT_DAYS, end: dt.datetime = EXPERIMENTS_END
) -> dict[str, pa.Table]:
    """The four raw experiment tables; `scale` multiplies every day's traffic (0: the tables, empty)."""
    if scale == 0:
        return {name: RAW_TABLES[name].empty_table() for name in EXPERIMENT_RAW_TABLES}
    rng = np.random.default_rng([seed, 10])
    start = end - dt.timedelta(days=days)
    experiments, variants, assignments, conversions = [], [], [], []
    for number, experiment in enumerate(EXPERIMENTS, start=1):
        experiments.append(
            {
                "experiment_id": experiment.experiment_id,
                "experiment_name": experiment.name,
                "experiment_status": "running",
                "created_at": start - dt.timedelta(days=1),
                "time_zone": experiment.time_zone,
            }
        )
        for variant in experiment.variants:
            variants.append(
                {
                    "experiment_id": experiment.experiment_id,
                    "variant_id": variant,
                    "variant_name": f"Variant {variant}",
                }
            )
        counts = daily_visitors(experiment, days, scale)
        total = int(counts.sum())
        day_of_visitor = np.repeat(np.arange(days), counts)
        seconds = (
            rng.choice(24, size=total, p=_HOUR_WEIGHTS) * 3600 + rng.integers(0, 3600, size=total)
        ).astype(np.int64)
        offsets = day_of_visitor * _SECONDS_PER_DAY + seconds
        variant_index = rng.integers(len(experiment.variants), size=total)
        contexts, segments = experiment.contexts(rng, total)
        rates = np.array(
            [
                (experiment.rates.get(segment) or experiment.rates["*"])[variant]
                for segment, variant in zip(segments, variant_index, strict=True)
            ]
        )
        converted = rng.random(total) < rates
        delays = rng.exponential(40 * 60, size=total)
        values = np.round(rng.lognormal(3.8, 0.6, size=total), 2)
        for visitor in range(total):
            assigned_at = start + dt.timedelta(seconds=int(offsets[visitor]))
            visitor_id = f"v{number}_{visitor:07d}"
            assignments.append(
                {
                    "experiment_id": experiment.experiment_id,
                    "variant_id": experiment.variants[variant_index[visitor]],
                    "visitor_id": visitor_id,
                    "assigned_at": assigned_at,
                    "channel": experiment.channel,
                    "context": json.dumps(contexts[visitor], separators=(",", ":")),
                }
            )
            if converted[visitor]:
                conversions.append(
                    {
                        "experiment_id": experiment.experiment_id,
                        "visitor_id": visitor_id,
                        "converted_at": assigned_at + dt.timedelta(seconds=float(delays[visitor])),
                        "conversion_value": float(values[visitor]),
                    }
                )
    rows = {
        "experiments": experiments,
        "experiment_variants": variants,
        "experiment_assignments": assignments,
        "experiment_conversions": conversions,
    }
    return {
        name: pa.Table.from_pylist(table_rows, schema=RAW_TABLES[name]) for name, table_rows in rows.items()
    }
