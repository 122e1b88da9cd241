"""One visitor's uniform context and segment key, in Python, by the rules of `int_experiment_contexts` and
`int_experiment_segment_keys`: what the allocator needs for a visitor the warehouse has not seen yet.

The SQL models stay the definition for the warehouse; this module follows them rule by rule (a test compares the
two on every assignment of the demo experiments, on DuckDB and PostgreSQL), and the key format itself is
`definitions.segment_key`, shared with the SQL through dbt-py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from python_jobs.experiments.definitions import (
    CHANNEL_FIELDS,
    DAYS_OF_WEEK,
    DOUBLE_CONTEXT_FIELDS,
    INTEGER_CONTEXT_FIELDS,
    SEGMENT_FIELDS,
    segment_key,
)

# The patterns of the json_number and json_integer macros (macros/cross_db/).
_NUMBER = re.compile(r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

UserAgentParser = Callable[[str], tuple[str, str | None, str | None]]  # agent -> (device, os, browser)


class ContextError(ValueError):
    """A context that cannot be read; the message says why."""


def parse_context_json(text: str) -> dict:
    """The context as given on the command line: one JSON object, or a ContextError saying what is wrong."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ContextError(f"--context is not valid JSON: {error.msg} at character {error.pos + 1}") from None
    if not isinstance(value, dict):
        raise ContextError(
            f'--context must be a JSON object ({{"utm_source": …}}), not {type(value).__name__}'
        )
    return value


def _json_text(context: Mapping, key: str) -> str | None:
    """What `->>` / json_extract_string give for a top-level key: strings as they are, other values as JSON."""
    value = context.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _trimmed(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip(" ")
    return text or None


def _referrer_host(referrer: str | None) -> str | None:
    if referrer is None:
        return None
    host = _SCHEME.sub("", referrer, count=1)
    for separator in ("/", "?", "#", ":"):
        host = host.split(separator)[0]
    host = re.sub(r"^www[.]", "", host.lower(), count=1)
    return host or None


def _local(assigned_at: dt.datetime, time_zone: str | None) -> dt.datetime:
    zone = (time_zone or "").strip() or "UTC"
    return assigned_at.astimezone(ZoneInfo(zone))


def uniform_context(
    channel: str,
    context: Mapping,
    assigned_at: dt.datetime,
    time_zone: str | None,
    parse_user_agent: UserAgentParser,
) -> dict[str, object]:
    """The fields of int_experiment_contexts a segment can be cut by, for one assignment."""
    fields: dict[str, object] = {}
    for own_channel, names in CHANNEL_FIELDS.items():
        for name in names:
            text = _json_text(context, name) if channel == own_channel else None
            if name in DOUBLE_CONTEXT_FIELDS:
                fields[name] = float(text) if text is not None and _NUMBER.fullmatch(text) else None
            elif name in INTEGER_CONTEXT_FIELDS:
                fields[name] = int(text) if text is not None and _INTEGER.fullmatch(text) else None
            else:
                fields[name] = _trimmed(text)
    host = _referrer_host(fields["referrer"])
    if channel != "web":
        source = medium = channel
    else:
        source = (fields["utm_source"] or "").lower() or host or "direct"
        medium = (fields["utm_medium"] or "").lower() or ("referral" if host else "none")
    device, os, browser = "unknown", None, None
    platform = fields["platform"]
    if channel == "web":
        if fields["user_agent"] is not None:
            device, os, browser = parse_user_agent(fields["user_agent"])
    elif channel == "push" and platform is not None:
        device = "mobile" if platform.lower() in ("ios", "android") else "unknown"
        os = {"ios": "iOS", "android": "Android"}.get(platform.lower(), platform)
    local = _local(assigned_at, time_zone)
    day = local.isoweekday()
    country = fields["country_code"]
    return {
        "channel": channel,
        "source": source,
        "medium": medium,
        "device": device,
        "os": os,
        "browser": browser,
        "country": country.upper() if country is not None else None,
        "hour": local.hour,
        "day_of_week": DAYS_OF_WEEK[day - 1],
        "is_weekend": day >= 6,
        **fields,
    }


def context_segment_key(uniform: Mapping[str, object], segment_by: Sequence[str]) -> str:
    """The segment key of a uniform context under the configured fields, in their order."""
    unknown = [field for field in segment_by if field not in SEGMENT_FIELDS]
    if unknown:
        raise ContextError(f"{unknown[0]!r} is not a segment field")
    return segment_key([(field, uniform[field]) for field in segment_by])
