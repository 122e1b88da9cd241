"""Data in: the synthetic generators and the file loaders that fill schema `raw`.

- `generate_commerce`: customers, merges, orders, lines, web events and tickets from behaviour archetypes;
- `generate_products`: the synthetic product catalogue;
- `transactions`, `products`: the CSV loaders (`segments load-transactions`, `segments load-products`);
- `raw_loading`: the one-transaction replace of raw tables both loaders use, and their `LoadError`.
"""
