"""A model stand-in for the deal packages job behind `FakeMessagesAPI`: it reads the cluster's deals from the
prompt and answers, after a fixed delay, with one package per format and family-safety of the cluster, named
after the cluster's most common second taxonomy tier. Used by `segments bench-packages`."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from python_jobs.deal_packages.proposals import deals_in_prompt
from python_jobs.testing.fake_messages_api import FakeReply


def package_by_format_and_safety(request_json: dict[str, Any]) -> FakeReply:
    deals = deals_in_prompt(request_json["messages"][0]["content"])
    topic = Counter((d["taxonomy"][1] or d["taxonomy"][0] or "Mixed") for d in deals).most_common(1)[0][0]
    groups: dict[tuple[str, bool], list[str]] = {}
    for deal in deals:
        key = (deal.get("format") or "mixed", bool(deal["safety"].get("family_safe")))
        groups.setdefault(key, []).append(deal["deal_id"])
    packages = [
        {
            "package_name": f"{topic} {fmt} ({'family safe' if safe else 'standard safety'})",
            "deal_ids": ids,
            "reasoning": f"{len(ids)} {fmt} deals about {topic}",
        }
        for (fmt, safe), ids in sorted(groups.items())
    ]
    return FakeReply(text=json.dumps({"packages": packages}))


def paced_package_responder(delay: float) -> Callable[[dict[str, Any]], FakeReply]:
    """`package_by_format_and_safety` answering `delay` seconds after the request arrived, its own work
    included (the fake server works out a reply before it waits)."""

    def respond(request_json: dict[str, Any]) -> FakeReply:
        started = time.perf_counter()
        reply = package_by_format_and_safety(request_json)
        return FakeReply(text=reply.text, delay_seconds=max(0.0, delay - (time.perf_counter() - started)))

    return respond
