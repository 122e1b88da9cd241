"""The test kit: stand-ins that tests and benchmarks drive the real code against.

Only `tests/` and `python_jobs.bench` import this package; no runtime module does (a test checks it).

- `fake_messages_api`: a loopback HTTP server speaking the Anthropic Messages API, for the real SDK to call;
- `product_responders`: responders answering the product segmentation prompts as the offline provider would,
  and helpers reading the recorded requests back.
"""
