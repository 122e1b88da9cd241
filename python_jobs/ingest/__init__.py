"""Data in: the synthetic generators and the file loaders that fill schema `raw`.

- `generate_commerce`: customers, merges, orders, lines, web events and tickets from behaviour archetypes;
- `generate_products`: the synthetic product catalogue;
- `transactions`, `products`: the CSV loaders (`segments load-transactions`, `segments load-products`);
- `checked_csv`: the one CSV reader both loaders use (encoding, quoting, line breaks, field count, physical lines);
- `transaction_lines`: a transactions file's values checked a chunk of lines at a time into Arrow columns;
- `raw_loading`: the one-transaction replace of raw tables both loaders use, and their `LoadError`.
"""
