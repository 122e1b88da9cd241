"""Product segmentation runs started by the service: the same job as `segments product-segmentation run`, in a
pool of worker threads of the service, with each run's latest counters kept in memory for its stream.

A run's state is also in `ml.product_segment_runs` (the job writes it), so runs this service did not start (the
command line's, an earlier service's) are read from there.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_jobs.service.state import SERVE_COMMAND, ServiceWarehouse
from python_jobs.warehouse.locks import writing

ARCHIVE_ROOT_ENV = "SEGMENTS_LLM_ARCHIVE"
WORKERS = 2
# How long POST waits for the job to create its run row (and so know its id) before answering 202.
START_TIMEOUT = 60.0


class RunStartError(ValueError):
    """The job refused to start the run (unknown category or products, a run that cannot resume...)."""


@dataclass
class LiveRun:
    """The latest counters of a run this service works on; `version` grows with every change."""

    run_id: str
    progress: dict[str, Any]
    version: int = 0
    finished: bool = False
    error: str | None = None
    changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def update(
        self, progress: dict[str, Any] | None = None, *, finished: bool = False, error: str | None = None
    ):
        with self.changed:
            if progress is not None:
                self.progress = progress
            self.finished = self.finished or finished
            self.error = error or self.error
            self.version += 1
            self.changed.notify_all()


class ProductRuns:
    def __init__(self, warehouse: ServiceWarehouse, workers: int = WORKERS) -> None:
        self.warehouse = warehouse
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="product-segmentation")
        self.live: dict[str, LiveRun] = {}
        self._mutex = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def start(self, category: str, product_ids: Sequence[str] | None) -> str:
        from python_jobs.product_segmentation.job import start_run

        return self._submit(
            lambda config, on_progress: start_run(
                self.warehouse,
                category,
                product_ids,
                config,
                archive_root=_archive_root(),
                echo=_quiet,
                on_progress=on_progress,
            )
        )

    def resume(self, run_id: str) -> str:
        from python_jobs.product_segmentation.job import resume_run

        return self._submit(
            lambda config, on_progress: resume_run(
                self.warehouse,
                run_id,
                config,
                archive_root=_archive_root(),
                echo=_quiet,
                on_progress=on_progress,
            ),
            run_id,
        )

    def _submit(self, job: Callable[[Any, Callable], str], known_run_id: str | None = None) -> str:
        """Run `job` on the pool; return its run id once the job has its run row, or raise RunStartError."""
        from python_jobs.llm.config import LLMConfig

        config = LLMConfig.from_environment()
        started = threading.Event()
        holder: dict[str, Any] = {}

        def on_progress(progress: Any) -> None:
            snapshot = dataclasses.asdict(progress)
            with self._mutex:
                live = self.live.get(progress.run_id)
                if live is None:
                    live = self.live[progress.run_id] = LiveRun(progress.run_id, snapshot)
            holder.setdefault("run_id", progress.run_id)
            live.update(snapshot)
            started.set()

        def work() -> None:
            try:
                with writing(self.warehouse, f"{SERVE_COMMAND}: product-segmentation"):
                    job(config, on_progress)
            except Exception as error:
                holder["error"] = str(error)
                run_id = holder.get("run_id")
                if run_id is not None:
                    self.live[run_id].update(finished=True, error=str(error))
                started.set()
                return
            self.live[holder["run_id"]].update(finished=True)

        self.pool.submit(work)
        if not started.wait(START_TIMEOUT):
            raise RunStartError(f"the run did not start within {START_TIMEOUT:g} s")
        if "run_id" not in holder:
            raise RunStartError(holder.get("error", "the run did not start"))
        return holder["run_id"]


def _archive_root() -> Path:
    return Path(os.environ.get(ARCHIVE_ROOT_ENV) or "llm_logs")


def _quiet(_text: str) -> None:
    """The job's messages: the run row and the progress stream say the same."""
