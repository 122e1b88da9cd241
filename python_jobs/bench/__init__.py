"""Benchmarks, one module per capability, on data from the project's own generators.

- `customers`: `segments bench`, the customer segmentation end to end on N generated customers;
- `products`: `segments bench-llm`, the product segmentation job against the fake Messages API;
- `bandit`: `segments bench-bandit`, per-segment Thompson sampling against simpler policies on simulated traffic.

Benchmarks may import the test kit (`python_jobs.testing`); nothing else in the runtime does.
"""
