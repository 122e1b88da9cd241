"""Behavioural customer segmentation: one k-means per axis of `definitions.AXES`, written to schema `ml`.

- `sampling`: the stratified, seeded sample drawn in SQL, so only the sample leaves the warehouse;
- `clustering`: the pure numerical part (k selection, naming, robustness), run per axis in worker processes;
- `job`: the run itself: sample, fit, then every `ml` row of the run in one transaction.

This module stays free of heavy imports on purpose: `limit_native_threads` lives here so that a freshly spawned
worker process can run it before numpy or scikit-learn are imported and size their thread pools.
"""

from __future__ import annotations

import os

NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_native_threads() -> None:
    """Worker-process initializer: one BLAS/OpenMP thread per worker.

    Each worker already is one of the parallel lanes; letting every worker start as many native threads as there
    are cores would oversubscribe the machine and make k-means slower, not faster.
    """
    for variable in NATIVE_THREAD_VARIABLES:
        os.environ[variable] = "1"
