"""Experiment segmentation: per-segment Thompson sampling, allocation of visitors to variants, sample-ratio checks."""
