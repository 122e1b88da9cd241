"""`segments serve`: the HTTP API over the warehouse."""

from __future__ import annotations

import click

from python_jobs.cli.options import target_option


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port.")
@target_option
def serve_command(host: str, port: int, target: str) -> None:
    """Serve the warehouse over HTTP: customer segments, experiment allocation and configuration.

    Every endpoint but /health needs `Authorization: Bearer <key>`, the key's SHA-256 digest being listed in
    $SEGMENTS_API_KEYS as `sha256:<hex>` (comma-separated), or one a line in the file $SEGMENTS_API_KEYS_FILE names.
    $SEGMENTS_API_RATE_LIMIT (requests a second per key, with bursts of $SEGMENTS_API_RATE_BURST) turns on the
    rate limit: 429 with Retry-After past it. OpenAPI at /openapi.json, docs at /docs.
    On DuckDB the service is the warehouse's only writer while it runs: stop it before `segments build`.
    """
    import logging

    import uvicorn

    from python_jobs.service.app import create_app
    from python_jobs.service.auth import ApiKeyConfigError, api_keys_from_env
    from python_jobs.service.rate_limit import RateLimitConfigError, rate_limit_from_env
    from python_jobs.warehouse.connection import Warehouse

    try:
        digests = api_keys_from_env()
        rate_limit = rate_limit_from_env()
    except (ApiKeyConfigError, RateLimitConfigError) as error:
        raise click.ClickException(str(error)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(
        Warehouse.from_profile(target), digests, rate_limit=rate_limit, compile_feature_chain=True
    )
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
