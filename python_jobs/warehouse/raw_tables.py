"""The raw tables that `segments generate` and the loaders write, defined once.

The dbt sources in `models/staging/raw/_raw__sources.yml` describe the same tables; a test keeps the two in step.
Raw data is deliberately loose: ids may carry stray whitespace, enums come in mixed case and timestamps carry a
time zone. Staging is where it becomes clean.
"""

from __future__ import annotations

import pyarrow as pa

RAW_SCHEMA = "raw"

_TS = pa.timestamp("us", tz="UTC")

RAW_TABLES: dict[str, pa.Schema] = {
    "customers": pa.schema(
        [
            ("customer_id", pa.string()),
            ("email", pa.string()),
            ("signed_up_at", _TS),
            ("country_code", pa.string()),
            ("acquisition_channel", pa.string()),
            ("marketing_opt_in", pa.bool_()),
        ]
    ),
    "customer_id_merges": pa.schema(
        [
            ("merge_id", pa.int64()),
            ("source_customer_id", pa.string()),
            ("target_customer_id", pa.string()),
            ("merged_at", _TS),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("customer_id", pa.string()),
            ("ordered_at", _TS),
            ("order_status", pa.string()),
            ("sales_channel", pa.string()),
            ("order_total", pa.float64()),
        ]
    ),
    "order_items": pa.schema(
        [
            ("order_item_id", pa.string()),
            ("order_id", pa.string()),
            ("product_category", pa.string()),
            ("quantity", pa.int64()),
            ("unit_price", pa.float64()),
            ("discount_amount", pa.float64()),
            ("is_returned", pa.bool_()),
        ]
    ),
    "web_events": pa.schema(
        [
            ("event_id", pa.string()),
            ("customer_id", pa.string()),
            ("session_id", pa.string()),
            ("event_type", pa.string()),
            ("page_type", pa.string()),
            ("device_type", pa.string()),
            ("occurred_at", _TS),
        ]
    ),
    "support_tickets": pa.schema(
        [
            ("ticket_id", pa.string()),
            ("customer_id", pa.string()),
            ("opened_at", _TS),
            ("resolved_at", _TS),
            ("contact_channel", pa.string()),
            ("complexity", pa.string()),
            ("topic", pa.string()),
            ("satisfaction_score", pa.int64()),
        ]
    ),
    "products": pa.schema(
        [
            ("product_id", pa.string()),  # text as the catalogue has it: an ASIN, a SKU, or an integer
            ("title", pa.string()),
            ("category", pa.string()),
            ("brand", pa.string()),
            ("price", pa.float64()),
            ("description", pa.string()),
        ]
    ),
    # ------------------------------------------------------------ deals (python_jobs/deal_packages/)
    # One row per programmatic deal, enriched; list fields are JSON arrays of strings.
    "deals": pa.schema(
        [
            ("deal_id", pa.string()),
            ("deal_name", pa.string()),
            ("ssp", pa.string()),
            ("format", pa.string()),  # display | video | ctv | native | audio
            ("taxonomy_tier1", pa.string()),
            ("taxonomy_tier2", pa.string()),
            ("taxonomy_tier3", pa.string()),
            ("concepts", pa.string()),  # JSON array
            ("garm_risk_rating", pa.string()),  # floor | low | medium | high
            ("family_safe", pa.bool_()),
            ("inferred_audiences", pa.string()),  # JSON array
            ("demographic_hint", pa.string()),
            ("quality_tier", pa.string()),  # premium | standard | value
            ("volume_tier", pa.string()),  # high | medium | low
            ("floor_price", pa.float64()),  # CPM, USD
            ("publishers", pa.string()),  # JSON array of domains
        ]
    ),
    # ------------------------------------------------------------ experiments (python_jobs/experiments/)
    "experiments": pa.schema(
        [
            ("experiment_id", pa.string()),
            ("experiment_name", pa.string()),
            ("experiment_status", pa.string()),
            ("created_at", _TS),
            ("time_zone", pa.string()),  # IANA name (Europe/Paris); null means UTC
        ]
    ),
    "experiment_variants": pa.schema(
        [
            ("experiment_id", pa.string()),
            ("variant_id", pa.string()),
            ("variant_name", pa.string()),
        ]
    ),
    # One row per visitor and experiment: the variant shown, where and when, and the visitor's context as the
    # channel sent it (one JSON object; unknown keys are kept).
    "experiment_assignments": pa.schema(
        [
            ("experiment_id", pa.string()),
            ("variant_id", pa.string()),
            ("visitor_id", pa.string()),
            ("assigned_at", _TS),
            ("channel", pa.string()),
            ("context", pa.string()),
        ]
    ),
    "experiment_conversions": pa.schema(
        [
            ("experiment_id", pa.string()),
            ("visitor_id", pa.string()),
            ("converted_at", _TS),
            ("conversion_value", pa.float64()),
        ]
    ),
}
EXPERIMENT_RAW_TABLES = (
    "experiments",
    "experiment_variants",
    "experiment_assignments",
    "experiment_conversions",
)

# Accepted values of the enums after staging has trimmed and lower-cased them.
ORDER_STATUSES = ("completed", "cancelled", "refunded")
SALES_CHANNELS = ("web", "app", "store")
EVENT_TYPES = ("session_start", "page_view", "add_to_cart")
PAGE_TYPES = ("home", "category", "product", "search", "deals", "guide", "cart")
DEVICE_TYPES = ("desktop", "mobile", "tablet")
CONTACT_CHANNELS = ("email", "chat", "phone")
COMPLEXITIES = ("low", "medium", "high")
TICKET_TOPICS = ("delivery", "returns", "product_question", "billing", "account")
DEAL_FORMATS = ("display", "video", "ctv", "native", "audio")
GARM_RISK_RATINGS = ("floor", "low", "medium", "high")
DEAL_QUALITY_TIERS = ("premium", "standard", "value")
DEAL_VOLUME_TIERS = ("high", "medium", "low")
EXPERIMENT_STATUSES = ("draft", "running", "paused", "completed")
EXPERIMENT_CHANNELS = ("web", "email", "funnel", "push")
# The context fields each channel sends, in the order int_experiment_contexts types them.
CHANNEL_CONTEXT_FIELDS = {
    "web": ("utm_source", "utm_medium", "referrer", "user_agent", "country_code"),
    "email": ("list_id", "engagement_score", "previous_opens", "campaign_id"),
    "funnel": ("funnel_id", "current_stage", "drop_risk", "time_in_funnel_minutes"),
    "push": ("app", "platform", "os_version"),
}
