"""Infrastructure every capability shares: the warehouse and dbt, and how a build is put together.

- `connection`: the `Warehouse` of a dbt target (DuckDB or PostgreSQL), sessions, one-transaction bulk writes;
- `dbt_runner`: every dbt command, run through dbt-py with the project's profile;
- `build`: `segments build`, planned from dbt's manifest (jobs between dbt steps) and reported;
- `jobs`: the registry of Python jobs the build can run, by the name the manifest's `meta.segments_job` uses;
- `raw_tables`, `ml_tables`: the Arrow schemas of the tables Python writes (schema `raw` and schema `ml`);
- `sqlfluff_templater`: the sqlfluff plugin that lints the models with `modules.segments` injected, as dbt-py does.
"""
