"""The synthetic data behind `segments generate`: raw commerce tables and a product catalogue.

- `commerce`: `generate_raw_tables` and `write_raw_tables`, the entry points, putting the parts below together;
- `archetypes`: the behaviour archetypes customers are drawn from (`assign_archetypes` tells who is who);
- `window`: the fixed time window and each archetype's calendar; `draws`: random streams and vectorised draws;
- `accounts`: who behaves, and the duplicate and looping accounts merged into them;
- `purchases`: when customers buy, repeat purchases with drop-out (BG/NBD-like);
- `orders`, `web`, `support`: orders and their lines, web sessions and events, support tickets;
- `refunds`: refund orders paying back returned lines; `dirt`: messy values, the odd row without a customer id;
- `bad_rows`: a few unusable rows per table, one per quarantine reason; `tables`: everything as Arrow tables;
- `products` (with `product_types` and the `catalogue_*` modules): the product catalogue.
"""

from python_jobs.ingest.generate.archetypes import ARCHETYPE_NAMES, ARCHETYPES, Archetype, assign_archetypes
from python_jobs.ingest.generate.commerce import generate_raw_tables, write_raw_tables
from python_jobs.ingest.generate.orders import CATEGORIES_CSV, Categories, load_categories
from python_jobs.ingest.generate.products import (
    generate_products,
    generate_products_with_truth,
    product_count,
    product_truth,
)
from python_jobs.ingest.generate.window import WINDOW_END, WINDOW_START

__all__ = [
    "ARCHETYPES",
    "ARCHETYPE_NAMES",
    "CATEGORIES_CSV",
    "WINDOW_END",
    "WINDOW_START",
    "Archetype",
    "Categories",
    "assign_archetypes",
    "generate_products",
    "generate_products_with_truth",
    "generate_raw_tables",
    "load_categories",
    "product_count",
    "product_truth",
    "write_raw_tables",
]
