"""The run's interaction index (`product_segment_llm_interactions`) and its copies of cached answers.

Every file the LLM client archives for this run, failed attempts included, is indexed under the run. A cache hit
on a file of this same run (a resume) is indexed once. A cache hit on ANOTHER run's file is copied into this
run's archive folder (`<phase>/<time>_<batch>_cached_<hash8>.json`, the original document plus a `cache_hit`
block naming the source file) and the copy is indexed under this run: every run's folder and index are then
complete on their own, and no row is shared or moved between runs (file_path is unique across the table).

Each row carries the tokens of its file's attempt with `tokens_estimated` saying whether a model counted them
or the offline provider guessed them; a cache hit spent nothing, so its row has no token counts.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from python_jobs.llm.archive import ArchiveStorage, utc_basic_timestamp
from python_jobs.llm.client import LLMCall
from python_jobs.product_segmentation import tables


@dataclass(frozen=True)
class ArchivedFile:
    """A call file the LLM client wrote under the run's folder, as its metadata describes it."""

    path: str
    cache_key: str
    interaction_id: str
    input_tokens: int | None
    output_tokens: int | None
    tokens_estimated: bool | None


class RecordingArchive(ArchiveStorage):
    """The run's archive storage, noting every call file the LLM client writes under the run's folder.

    The client reports only the file of the attempt it used; the files of the attempts it discarded are known
    only here, at the moment they are written. Each noted file is indexed with the next progress write.
    """

    def __init__(self, inner: ArchiveStorage, prefix: str) -> None:
        self.inner = inner
        self._prefix = f"{prefix}/"
        self._written: list[ArchivedFile] = []

    def write_text(self, relative_path: str, text: str) -> None:
        self.inner.write_text(relative_path, text)
        if relative_path.startswith(self._prefix) and relative_path.endswith(".json"):
            metadata = _metadata(text)
            if metadata.get("cache_key"):
                self._written.append(
                    ArchivedFile(
                        path=relative_path,
                        cache_key=metadata["cache_key"],
                        interaction_id=(
                            f"{metadata.get('llm_interaction_id', uuid.uuid4().hex)}-a{metadata.get('attempt', 0)}"
                        ),
                        input_tokens=metadata.get("input_tokens"),
                        output_tokens=metadata.get("output_tokens"),
                        tokens_estimated=metadata.get("tokens_estimated"),
                    )
                )

    def read_text(self, relative_path: str) -> str:
        return self.inner.read_text(relative_path)

    def exists(self, relative_path: str) -> bool:
        return self.inner.exists(relative_path)

    def find_by_cache_key(self, cache_key: str) -> str | None:
        return self.inner.find_by_cache_key(cache_key)

    def remember_cache_key(self, cache_key: str, relative_path: str) -> None:
        self.inner.remember_cache_key(cache_key, relative_path)

    def drain(self) -> list[ArchivedFile]:
        """The files written since the last drain."""
        written, self._written = self._written, []
        return written


def _metadata(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    metadata = document.get("metadata") if isinstance(document, dict) else None
    return metadata if isinstance(metadata, dict) else {}


@dataclass
class IndexCounts:
    """How many files the index took in, and how many of them were copies of other runs' answers."""

    archived_files: int = 0
    cached_copies: int = 0


class InteractionIndex:
    """Turns what the run archived into index rows; copies other runs' answers it reuses into its own folder."""

    def __init__(self, archive: RecordingArchive, run_id: str, prefix: str) -> None:
        self.archive = archive
        self.run_id = run_id
        self.prefix = prefix
        self.counts = IndexCounts()

    def rows(self, call: LLMCall | None = None, label: str = "", phase: str = "") -> list[dict[str, Any]]:
        """Index rows for the files archived since the last write, and for `call` when it was a cache hit."""
        now = tables.utc_now()
        written = self.archive.drain()
        self.counts.archived_files += len(written)
        rows = [
            {
                "id": file.interaction_id,
                "run_id": self.run_id,
                "file_path": file.path,
                "cache_key": file.cache_key,
                "created_at": now,
                "input_tokens": file.input_tokens,
                "output_tokens": file.output_tokens,
                "tokens_estimated": file.tokens_estimated,
            }
            for file in written
        ]
        if call is not None and call.cache_hit:
            path = call.file_path
            if not path.startswith(f"{self.prefix}/"):
                path = self._copy_cache_hit(call, label, phase)
            rows.append(
                {
                    "id": f"{call.interaction_id}-hit",
                    "run_id": self.run_id,
                    "file_path": path,
                    "cache_key": call.cache_key,
                    "created_at": now,
                    "input_tokens": None,
                    "output_tokens": None,
                    "tokens_estimated": None,
                }
            )
        return rows

    def _copy_cache_hit(self, call: LLMCall, label: str, phase: str) -> str:
        """This run's own copy of another run's archived answer (see the module docstring for why)."""
        original = self.archive.inner.read_text(call.file_path)
        try:
            document = json.loads(original)
        except ValueError:
            document = {"original_text": original}
        now = tables.utc_now()
        document["cache_hit"] = {
            "source_file": call.file_path,
            "run_id": self.run_id,
            "llm_interaction_id": call.interaction_id,
            "phase": phase,
            "batch_id": label,
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        text = json.dumps(document, indent=2, ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        path = f"{self.prefix}/{phase}/{utc_basic_timestamp(now)}_{label}_cached_{digest}.json"
        self.archive.inner.write_text(path, text)
        self.counts.cached_copies += 1
        return path
