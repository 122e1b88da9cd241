"""What a product catalogue is made of: categories and the natural product types within them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductType:
    """A natural sub-type of a category: what its titles say, what it costs, how it is described."""

    key: str
    phrases: tuple[str, ...]  # what the product is, e.g. "Rotary Dimmer Switch"
    specs: tuple[str, ...]  # the specification after the comma in the title
    details: tuple[str, ...]  # description sentences; two of them describe each product
    median_price: float
    brands: tuple[str, ...] = ()  # noise types bring their own brands; category types use the category's


@dataclass(frozen=True)
class Category:
    name: str
    share: float
    brands: tuple[str, ...]
    types: tuple[ProductType, ...]
