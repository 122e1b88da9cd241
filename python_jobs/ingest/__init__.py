"""Data in: the synthetic generators and the file loaders that fill schema `raw`.

- `generate`: the synthetic data of `segments generate`, a package: customers, merges, orders, lines, web events
  and tickets from behaviour archetypes, and the product catalogue (`generate_commerce` and `generate_products`
  are the names it had before it was split, kept for old imports);
- `transactions`, `products`: the CSV loaders (`segments load-transactions`, `segments load-products`);
- `checked_csv`: the one CSV reader both loaders use (encoding, quoting, line breaks, field count, physical lines);
- `transaction_lines`: a transactions file's values checked a chunk of lines at a time into Arrow columns;
- `raw_loading`: the one-transaction replace of raw tables both loaders use, and their `LoadError`.
"""
