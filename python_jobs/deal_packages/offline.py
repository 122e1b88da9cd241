"""The offline provider's answer to a cluster: packages by rule, no model.

One package per format and safety level (family safe or not) of the cluster, named from the cluster's most
distinctive words (computed by the job against all the run's deals and sent in the payload) with the format
and safety, and labelled offline in its reasoning. Deterministic: the same cluster gives the same packages.
"""

from __future__ import annotations

from typing import Any

from python_jobs.deal_packages.proposals import TASK

# Names the offline logic in the LLM layer's cache key: bump when the rule changes.
OFFLINE_MODEL = "offline-deal-packages-v1"


def propose_offline(payload: dict[str, Any]) -> dict[str, Any]:
    words = " ".join(word.title() for word in payload["distinctive_words"][:3]) or "Mixed"
    groups: dict[tuple[str, bool], list[str]] = {}
    for deal in payload["deals"]:
        key = (deal.get("format") or "mixed", bool(deal["safety"].get("family_safe")))
        groups.setdefault(key, []).append(deal["deal_id"])
    topic = ", ".join(payload["distinctive_words"][:5]) or "mixed topics"
    packages = []
    for (fmt, family_safe), deal_ids in sorted(groups.items()):
        safety = "Family Safe" if family_safe else "Standard Safety"
        packages.append(
            {
                "package_name": f"{words} {fmt.upper() if fmt == 'ctv' else fmt.title()} ({safety})",
                "deal_ids": sorted(deal_ids),
                "reasoning": (
                    f"[offline] {len(deal_ids)} {fmt} deals about {topic}, "
                    f"{'family safe' if family_safe else 'not family safe'}; grouped by rule, not by a model."
                ),
            }
        )
    return {"packages": packages}


OFFLINE_HANDLERS = {TASK: propose_offline}
