"""Documents made of aspects (a deal's name, taxonomy, safety, audience...), embedded aspect by aspect.

A backend that embeds each text on its own (MiniLM) is given each distinct aspect line once, through the cache,
and a document's vector is its aspects' vectors side by side, each scaled by 1/sqrt(aspects). The dot product of
two documents is then the mean of their aspects' cosines: two deals are as alike as their aspects are, aspect by
aspect, and no long aspect drowns a short one. It is also what makes MiniLM affordable on thousands of deals:
10,000 generated deals hold about 760 distinct aspect lines, where embedding each deal's whole text would cost
10,000 transformer passes of 70-odd tokens (about 3 minutes on two cores).

A backend whose space is fitted on the corpus (TF-IDF) is given each document's whole text instead: it is cheap
at any size, and its vocabulary weights already balance the aspects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from python_jobs.embeddings import BackendInfo, Embedder, Embeddings
from python_jobs.embeddings.cache import cached_embeddings
from python_jobs.warehouse.connection import Session


def embed_documents(
    session: Session, embedder: Embedder, documents: Sequence[Sequence[str]]
) -> tuple[Embeddings, int]:
    """One vector per document (a sequence of aspect texts, the same number for every document), and how many
    texts were embedded now rather than read from the cache."""
    if not getattr(embedder, "embeds_each_text_alone", False):
        return cached_embeddings(session, embedder, ["\n".join(aspects) for aspects in documents])
    widths = {len(aspects) for aspects in documents}
    if len(widths) > 1:
        raise ValueError(f"every document needs the same number of aspects, got {sorted(widths)}")
    aspects = widths.pop() if widths else 1
    distinct = list(dict.fromkeys(text for document in documents for text in document))
    embedded, embedded_now = cached_embeddings(session, embedder, distinct)
    row_of = {text: row for row, text in enumerate(distinct)}
    scale = 1 / math.sqrt(aspects)
    dimensions = embedded.backend.dimensions * aspects
    if not documents:
        vectors = np.zeros((0, dimensions))
    else:
        rows = np.array([[row_of[text] for text in document] for document in documents])
        vectors = embedded.vectors[rows].reshape(len(documents), dimensions) * scale
    backend = BackendInfo(
        embedded.backend.name, f"{embedded.backend.model} x {aspects} aspects side by side", dimensions
    )
    return Embeddings(vectors, backend), embedded_now
