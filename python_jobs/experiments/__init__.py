"""Experiment segmentation: A/B tests on web pages, e-mails, funnels and push notifications, learned per segment.

The raw tables are `raw.experiments`, `raw.experiment_variants`, `raw.experiment_assignments` and
`raw.experiment_conversions` (written by `segments generate` or `segments load-experiments`); dbt turns each
assignment into one uniform visitor context (`int_experiment_contexts`) with the device, OS and browser the
`parse_user_agents` job reads from the user agent, and the segmentation configuration history lives in
`ml.experiment_segmentation_config`. The statistics (per-segment Thompson sampling, allocation of visitors to
variants, sample-ratio checks) are pure numpy in `bandit`, `allocation` and `srm`.
"""
