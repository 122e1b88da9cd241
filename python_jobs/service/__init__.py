"""`segments serve`: the warehouse's HTTP API (FastAPI on uvicorn).

- `app`: the app factory (`create_app`), its lifespan and routers;
- `auth`: API keys (hashes in $SEGMENTS_API_KEYS) and the bearer-token dependency;
- `errors`: every error as a JSON body `{error, detail}`;
- `limits`: body size and JSON depth caps, before any route sees a request;
- `rate_limit`: a token bucket per API key ($SEGMENTS_API_RATE_LIMIT), 429 past it;
- `state`: the warehouse the service holds while it runs;
- `product_runs`: product segmentation runs in the service's worker pool;
- `customers`, `assign`, `experiments`, `experiment_segments`, `products`: one router per API group.
"""
