"""`segments serve`: the HTTP API over the warehouse."""

from __future__ import annotations

import click

from python_jobs.cli.options import target_option


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Service processes sharing the port (PostgreSQL only: DuckDB admits one writing process). One process "
    "answers a few hundred allocations or lookups a second; give about one per core.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log a line per request (method, path, status). Errors and the service's own messages are logged either "
    "way.",
)
@target_option
def serve_command(host: str, port: int, workers: int, access_log: bool, target: str) -> None:
    """Serve the warehouse over HTTP: customer segments, experiment allocation and configuration, product
    segmentation runs with live progress.

    Every endpoint but /health needs `Authorization: Bearer <key>`, the key's SHA-256 digest being listed in
    $SEGMENTS_API_KEYS as `sha256:<hex>` (comma-separated), or one a line in the file $SEGMENTS_API_KEYS_FILE names.
    $SEGMENTS_API_RATE_LIMIT (requests a second per key, with bursts of $SEGMENTS_API_RATE_BURST) turns on the
    rate limit: 429 with Retry-After past it (each of --workers processes counts its own requests). OpenAPI at
    /openapi.json, docs at /docs.

    On DuckDB the service is the warehouse's only writer while it runs: stop it before `segments build`. On
    PostgreSQL, `--workers N` runs N processes; builds and jobs may run beside them. It does not serve Spark.
    """
    import os
    import threading

    import uvicorn

    from python_jobs.service.app import (
        SERVE_TARGET_ENV,
        compile_feature_chain_or_warn,
        configure_logging,
        create_app,
    )
    from python_jobs.service.auth import ApiKeyConfigError, api_keys_from_env
    from python_jobs.service.rate_limit import RateLimitConfigError, rate_limit_from_env
    from python_jobs.warehouse.connection import Warehouse

    try:
        digests = api_keys_from_env()
        rate_limit = rate_limit_from_env()
    except (ApiKeyConfigError, RateLimitConfigError) as error:
        raise click.ClickException(str(error)) from None
    warehouse = Warehouse.from_profile(target)
    if warehouse.kind == "spark":
        raise click.ClickException(
            "the HTTP service serves DuckDB or PostgreSQL, not Spark: its allocations take PostgreSQL's advisory "
            "locks (or DuckDB's one writer) and its lookups want an index, not a Spark job per request. Build on "
            "Spark, then serve a copy of the marts from PostgreSQL (--target postgres)"
        )
    if workers > 1 and warehouse.kind != "postgres":
        raise click.ClickException(
            f"--workers {workers}: the {target!r} target is {warehouse.kind}, which admits one writing process; "
            "serve it with one worker, or serve PostgreSQL (--target postgres)"
        )
    configure_logging()
    options = {
        "host": host,
        "port": port,
        "log_level": "info",
        "server_header": False,
        "access_log": access_log,
    }
    if workers == 1:
        app = create_app(warehouse, digests, rate_limit=rate_limit, compile_feature_chain=True)
        uvicorn.run(app, **options)
        return
    # Each worker process builds its own app from the environment; the dbt models POST /segments/assign runs
    # are compiled once, here, and found on disk by the workers.
    os.environ[SERVE_TARGET_ENV] = target
    threading.Thread(target=compile_feature_chain_or_warn, name="feature-chain", daemon=True).start()
    uvicorn.run("python_jobs.service.app:app_from_environment", factory=True, workers=workers, **options)
