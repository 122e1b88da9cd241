"""Seeded randomness for the clustering: one independent, reproducible stream per axis and purpose."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

# What a random stream is used for: part of its seed, so no two uses share a stream.
FOR_KMEANS = 0
FOR_SILHOUETTE = 1
FOR_ROBUSTNESS_SAMPLE = 2
FOR_BOOTSTRAP = 3
FOR_FEATURE_DROP = 4
FOR_TIME_WINDOW = 5


def random_state_for(seed: int, axis_index: int, purpose: int, *more: int) -> int:
    """An independent, reproducible 32-bit seed for one use of randomness in one axis."""
    return int(np.random.SeedSequence([seed, axis_index, purpose, *more]).generate_state(1)[0])


def kmeans(k: int, n_init: int, random_state: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=n_init, random_state=random_state)
