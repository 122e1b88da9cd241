"""Product ids as catalogues have them: text (ASINs such as `B07XJ8C8F5`, SKUs such as `SKU-0042-BLK`), or the
integers of a shop system that numbers its products.

Everywhere in the warehouse a product id is text, stored as given (trimmed). Only where an id leaves as JSON (the
prompts, the archive's metadata, `show --json`, the service) does its form matter, and there a run decides once
for all its products: when every id of the run is an integer written the canonical way (`42`, `-7`; not `007`,
`+5` or `1e3`) and fits in 64 bits, the ids go out as JSON numbers, exactly as when the warehouse stored them as
`bigint`; otherwise every id of the run goes out as a string. Deciding per run rather than per id keeps one type
in a document, so a consumer never meets `42` and `"SKU-1"` side by side; deciding per run rather than per
catalogue keeps a finished run's output fixed when the catalogue is reloaded later. Integer runs therefore keep
their prompts, and with them their cache keys, their archive metadata and their JSON, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from python_jobs.ingest.checked_csv import MAX_ID_CHARACTERS, control_character

JsonId = int | str

_CANONICAL_INTEGER = re.compile(r"0|-?[1-9][0-9]*")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class ProductIdError(ValueError):
    """A value that cannot be a product id; the message says why in a few words."""


def id_problem(value: str) -> str | None:
    """Why `value` (already trimmed) cannot be a product id, or None: empty, too long, or a control character."""
    if not value:
        return "empty product id"
    if len(value) > MAX_ID_CHARACTERS:
        return f"a product id of {len(value):,} characters, longer than the {MAX_ID_CHARACTERS} allowed"
    control = control_character(value)
    if control is not None:
        return f"a control character ({control}) in product id {value[:40]!r}"
    return None


def checked_id(value: object) -> str:
    """A product id as the warehouse stores it: an integer written out, or a string trimmed; refused with
    ProductIdError when it is neither or breaks a rule of `id_problem`."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ProductIdError(f"{value!r} is not a product id (a string or an integer)")
    text = str(value).strip()
    problem = id_problem(text)
    if problem is not None:
        raise ProductIdError(problem)
    return text


def is_integer_id(product_id: str) -> bool:
    """Whether the id reads back as the same string after a round trip through a 64-bit integer."""
    return bool(_CANONICAL_INTEGER.fullmatch(product_id)) and _INT64_MIN <= int(product_id) <= _INT64_MAX


def all_integer_ids(product_ids: Iterable[str]) -> bool:
    """Whether a run's ids go out as JSON numbers (an empty run counts as an integer one: nothing changes)."""
    return all(is_integer_id(product_id) for product_id in product_ids)


def id_order(product_id: str) -> tuple[int, int, str]:
    """Sort key: integer ids by value (as the `bigint` column sorted them, so an integer run's batches are the
    same as before), then every other id by its text."""
    if is_integer_id(product_id):
        return (0, int(product_id), "")
    return (1, 0, product_id)


def as_json(product_id: str, integers: bool) -> JsonId:
    """The id as a run with (`integers`) or without integer ids writes it in JSON."""
    return int(product_id) if integers else product_id
