"""Where every LLM prompt and response is kept, and the cache index that lets later runs reuse them.

Storage is addressed by relative, '/'-separated paths such as
`product_segmentation/RUN_x/extraction/20261121T101500123Z_b3_a1_1f2e3d4c.json`. `LocalArchiveStorage` maps
them under a root directory. An object-storage implementation slots in behind the same `ArchiveStorage`
interface with the relative path as the object key (under a bucket prefix): `write_text` is a single PUT, which
object stores already make atomic, `read_text` a GET, `exists` a HEAD, and the cache pointers become small
objects at `.cache_index/<key[:2]>/<key>` whose body is the relative path they point to. Nothing above this
module knows which one it talks to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath

CACHE_INDEX_DIR = ".cache_index"

_CACHE_KEY = re.compile(r"^[0-9a-f]{16,128}$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_HASH = re.compile(r"^[0-9a-fA-F]{8,}$")


class ArchiveStorage(ABC):
    """Text files addressed by relative paths, plus a cache-key -> path index.

    Implementations must make `write_text` all-or-nothing, because a reader (a later run's cache lookup) that
    sees a half-written response would take a truncated JSON document for an invalid one, or worse, a valid one.
    """

    @abstractmethod
    def write_text(self, relative_path: str, text: str) -> None:
        """Store `text` at `relative_path`, replacing what was there, atomically."""

    @abstractmethod
    def read_text(self, relative_path: str) -> str:
        """The text stored at `relative_path`; FileNotFoundError when there is none."""

    @abstractmethod
    def exists(self, relative_path: str) -> bool:
        """Whether something is stored at `relative_path`."""

    @abstractmethod
    def find_by_cache_key(self, cache_key: str) -> str | None:
        """The relative path remembered for `cache_key`, if it is still stored; None otherwise."""

    @abstractmethod
    def remember_cache_key(self, cache_key: str, relative_path: str) -> None:
        """Point `cache_key` at the stored file `relative_path`, replacing an earlier pointer."""


class LocalArchiveStorage(ArchiveStorage):
    """The archive as a directory tree on local disk (or a mounted share)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalArchiveStorage({str(self.root)!r})"

    def write_text(self, relative_path: str, text: str) -> None:
        """Write to a temporary file in the same directory, then rename over the target.

        os.replace is atomic within one file system, so readers see the old file or the new one, never a part.
        """
        target = self._resolve(relative_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def read_text(self, relative_path: str) -> str:
        return self._resolve(relative_path).read_text(encoding="utf-8")

    def exists(self, relative_path: str) -> bool:
        return self._resolve(relative_path).is_file()

    def find_by_cache_key(self, cache_key: str) -> str | None:
        """Follow the pointer file; a pointer whose target has gone (pruned archive) counts as no entry."""
        pointer = self._resolve(cache_index_path(cache_key))
        try:
            relative_path = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        try:
            return relative_path if self.exists(relative_path) else None
        except ValueError:
            # A pointer that names a path outside the archive was not written by us; ignore it.
            return None

    def remember_cache_key(self, cache_key: str, relative_path: str) -> None:
        self._resolve(relative_path)
        self.write_text(cache_index_path(cache_key), relative_path)

    def _resolve(self, relative_path: str) -> Path:
        return self.root.joinpath(*validated_relative_path(relative_path).parts)


def validated_relative_path(relative_path: str) -> PurePosixPath:
    """The path as a PurePosixPath, refusing anything that could escape the archive root.

    Paths are built from run ids, phases and batch labels that come from callers; refusing absolute paths and
    '..' here means no caller can write outside the archive by accident, on disk or in a bucket.
    """
    path = PurePosixPath(relative_path)
    if not relative_path or path.is_absolute() or "\\" in relative_path or ".." in path.parts:
        raise ValueError(f"archive paths must be relative and stay inside the archive: {relative_path!r}")
    return path


def cache_index_path(cache_key: str) -> str:
    """Where the pointer for `cache_key` lives; fanned out by the first two hex digits to keep folders small."""
    if not _CACHE_KEY.match(cache_key):
        raise ValueError(f"a cache key is lower-case hex: {cache_key!r}")
    return f"{CACHE_INDEX_DIR}/{cache_key[:2]}/{cache_key}"


def archive_file_name(timestamp: dt.datetime, batch_label: str, attempt: int, content_hash: str) -> str:
    """`<UTC ISO basic with milliseconds>_<batch_label>_a<attempt>_<hash8>.json`.

    e.g. `20261121T101500123Z_b3_a1_1f2e3d4c.json`. The timestamp leads so a directory listing is in time
    order; the hash keeps names unique when two writes share a millisecond. Naive timestamps are refused:
    guessing their zone would silently shift the order of files written from different machines.
    """
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("archive timestamps must be timezone-aware")
    if not _LABEL.match(batch_label):
        raise ValueError(f"batch labels are letters, digits, '_' and '-': {batch_label!r}")
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    if not _HASH.match(content_hash):
        raise ValueError("content_hash must be at least 8 hex digits")
    return f"{utc_basic_timestamp(timestamp)}_{batch_label}_a{attempt}_{content_hash[:8].lower()}.json"


def utc_basic_timestamp(timestamp: dt.datetime) -> str:
    """ISO 8601 basic format in UTC with milliseconds, e.g. 20261121T101500123Z."""
    utc = timestamp.astimezone(dt.UTC)
    return f"{utc:%Y%m%dT%H%M%S}{utc.microsecond // 1000:03d}Z"


def is_safe_label(label: str) -> bool:
    """Whether `label` can be used as one path segment (phase, batch label) as it is."""
    return bool(_LABEL.match(label))
