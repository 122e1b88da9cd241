"""The default backend: TF-IDF over word uni- and bigrams, reduced by truncated SVD (latent semantic analysis).

Nothing to download and fast on tens of thousands of texts. Its space is learnt from the texts given, so the
same text embeds differently in another corpus: `info()` names the corpus (a hash of its texts) in the model, and
the cache therefore only reuses vectors of the very same corpus.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from python_jobs.embeddings import BackendInfo, Embeddings, normalised

# Bump when the vectoriser or the reduction changes: cached vectors of older versions must not be reused.
TFIDF_VERSION = "tfidf-svd-v1"
DEFAULT_DIMENSIONS = 64


class TfidfSvdEmbedder:
    embeds_each_text_alone = False

    def __init__(self, dimensions: int = DEFAULT_DIMENSIONS, *, seed: int = 0) -> None:
        self.dimensions = dimensions
        self.seed = seed

    def _dimensions_for(self, texts: Sequence[str]) -> int:
        # SVD needs fewer components than both documents and terms; tiny corpora get fewer dimensions.
        return max(1, min(self.dimensions, len(texts) - 1))

    def info(self, texts: Sequence[str]) -> BackendInfo:
        corpus = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:16]
        return BackendInfo(
            "tfidf", f"{TFIDF_VERSION}:seed{self.seed}:corpus-{corpus}", self._dimensions_for(texts)
        )

    def embed(self, texts: Sequence[str]) -> Embeddings:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        info = self.info(texts)
        if not texts:
            return Embeddings(np.zeros((0, info.dimensions)), info)
        matrix = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit_transform(texts)
        components = min(info.dimensions, matrix.shape[1] - 1)
        if components < 1:
            vectors = matrix.toarray()
        else:
            vectors = TruncatedSVD(n_components=components, random_state=self.seed).fit_transform(matrix)
        if vectors.shape[1] < info.dimensions:
            vectors = np.pad(vectors, ((0, 0), (0, info.dimensions - vectors.shape[1])))
        return Embeddings(normalised(vectors[:, : info.dimensions].astype(np.float64)), info)
