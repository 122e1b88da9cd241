"""Fixtures of the product segmentation tests: a small catalogue in raw.products, and a fake Messages API.

The job is always driven through the real Anthropic SDK (or the offline provider): `fake_api` is the LLM
layer's FakeMessagesAPI on loopback, answering by default as the offline handlers would for the payload in the
prompt, so every answer is valid unless a test scripts otherwise. Constants and helpers reach the test modules
through the `kit` fixture (test modules are imported in importlib mode, so they cannot import this file).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest

from python_jobs.llm.config import API_KEY_ENV, LLMConfig
from python_jobs.testing.fake_messages_api import FakeMessagesAPI
from python_jobs.testing.product_responders import offline_responder
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

CATEGORY = "Dimmer Switches"
# Long enough to be redacted by the LLM layer, distinctive enough to grep for.
TEST_API_KEY = "sk-ant-test-SECRET-5f0c1e2d3b4a69788796a5b4"

_CATALOGUE = [
    (101, "Smart Wi-Fi dimmer switch", "Wi-Fi dimmer with app control, schedules and Alexa voice control."),
    (102, "Smart Wi-Fi dimmer switch with app", "Hub-free Wi-Fi smart dimmer; app schedules and scenes."),
    (103, "Smart Wi-Fi in-wall dimmer", "Wi-Fi dimmer switch working with Google Home and Alexa."),
    (104, "Rotary dimmer switch", "Classic rotary knob dimmer, push on/off, for incandescent bulbs."),
    (105, "Rotary dimmer switch 400W", "Rotary knob dimmer with a smooth turn, single pole."),
    (106, "Rotary LED dimmer knob", "Rotary dimmer switch with a knob, for dimmable LED bulbs."),
    (107, "Slide dimmer switch", "Slide dimmer with a linear slider and preset on/off."),
    (108, "Slide dimmer switch 600W", "Slider dimmer for halogen bulbs; slide to fade the light."),
    (109, "Garden hose 25 m", "Flexible garden hose with brass fittings and a spray nozzle."),
    (110, "Phone case", "Shock absorbing silicone phone case with a raised camera lip."),
]
PRODUCT_IDS = [row[0] for row in _CATALOGUE]
OUT_OF_SCOPE_IDS = [109, 110]


def catalogue_rows() -> list[dict[str, Any]]:
    return [
        {
            "product_id": product_id,
            "title": title,
            "category": CATEGORY,
            "brand": "Acme",
            "price": 19.5 + product_id % 7,
            "description": description,
        }
        for product_id, title, description in _CATALOGUE
    ]


def write_products(warehouse: Warehouse, rows: list[dict[str, Any]]) -> None:
    """Into raw.products, where ids are text: an integer id is written as its digits, as the loader stores it."""
    text_rows = [
        {**row, "product_id": None if row["product_id"] is None else str(row["product_id"])} for row in rows
    ]
    with warehouse.session() as session:
        session.replace_table(
            RAW_SCHEMA, "products", pa.Table.from_pylist(text_rows, schema=RAW_TABLES["products"])
        )


@dataclass(frozen=True)
class Kit:
    """What the tests share: the catalogue's facts and the helpers that set a run up."""

    category: str = CATEGORY
    api_key: str = TEST_API_KEY
    product_ids: tuple[int, ...] = tuple(PRODUCT_IDS)
    out_of_scope_ids: tuple[int, ...] = tuple(OUT_OF_SCOPE_IDS)

    @staticmethod
    def rows() -> list[dict[str, Any]]:
        return catalogue_rows()

    @staticmethod
    def write_products(warehouse: Warehouse, rows: list[dict[str, Any]]) -> None:
        write_products(warehouse, rows)

    @staticmethod
    def config(api: FakeMessagesAPI, **overrides: Any) -> LLMConfig:
        return anthropic_config(api, **overrides)


@pytest.fixture
def kit() -> Kit:
    return Kit()


@pytest.fixture
def catalogue(duckdb_warehouse: Warehouse) -> Warehouse:
    """A DuckDB warehouse holding the ten-product catalogue."""
    write_products(duckdb_warehouse, catalogue_rows())
    return duckdb_warehouse


@pytest.fixture
def fake_api(monkeypatch) -> Iterator[FakeMessagesAPI]:
    """The fake Messages API, answering like the offline provider; the SDK gets the test key."""
    monkeypatch.setenv(API_KEY_ENV, TEST_API_KEY)
    with FakeMessagesAPI(offline_responder, require_output_schema=True) as api:
        yield api


def anthropic_config(api: FakeMessagesAPI, **overrides: Any) -> LLMConfig:
    settings: dict[str, Any] = {
        "provider": "anthropic",
        "model": "claude-test",
        "base_url": api.base_url,
        "max_concurrency": 2,
        "timeout_seconds": 5.0,
        **overrides,
    }
    return LLMConfig(**settings)
