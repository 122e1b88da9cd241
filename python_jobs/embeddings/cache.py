"""Embeddings cached in `ml.text_embeddings` by content hash and backend model: unchanged texts are never
embedded twice.

MiniLM embeds each text on its own, so only the texts missing from the cache are embedded. TF-IDF's vectors
depend on the whole corpus (its model names the corpus), so it is all cached or all embedded.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from python_jobs.embeddings import Embedder, Embeddings
from python_jobs.warehouse.connection import Session, quote_identifier
from python_jobs.warehouse.ml_tables import EMBEDDING_TABLES, ML_SCHEMA

TABLE = "text_embeddings"
_HASHES_PER_QUERY = 1_000


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def encode_vector(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float64)


def ensure_table(session: Session) -> None:
    session.ensure_schema(ML_SCHEMA)
    if not session.table_exists(ML_SCHEMA, TABLE):
        session.create_table(ML_SCHEMA, TABLE, EMBEDDING_TABLES[TABLE])


def cached_embeddings(session: Session, embedder: Embedder, texts: Sequence[str]) -> tuple[Embeddings, int]:
    """The embeddings of `texts` (in order) and how many of the distinct texts were embedded now rather than
    read from the cache. Writes the new vectors in the caller's transaction."""
    ensure_table(session)
    info = embedder.info(texts)
    hashes = [content_hash(text) for text in texts]
    found = _lookup(session, info.model, sorted(set(hashes)))
    missing = [h for h in dict.fromkeys(hashes) if h not in found]
    if missing:
        per_text = getattr(embedder, "embeds_each_text_alone", False)
        first_text = dict(zip(hashes, texts, strict=True))
        to_embed = [first_text[h] for h in missing] if per_text else list(texts)
        fresh = embedder.embed(to_embed).vectors
        fresh_hashes = missing if per_text else hashes
        new = {h: vector for h, vector in zip(fresh_hashes, fresh, strict=True) if h not in found}
        _store(session, info.name, info.model, info.dimensions, new)
        found |= {h: np.asarray(v, dtype="<f4").astype(np.float64) for h, v in new.items()}
    vectors = np.vstack([found[h] for h in hashes]) if hashes else np.zeros((0, info.dimensions))
    return Embeddings(vectors, info), len(missing)


def _lookup(session: Session, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
    table = f"{quote_identifier(ML_SCHEMA)}.{quote_identifier(TABLE)}"
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(hashes), _HASHES_PER_QUERY):
        chunk = hashes[start : start + _HASHES_PER_QUERY]
        placeholders = ", ".join("?" for _ in chunk)
        for content, vector in session.fetchall(
            f"select content_hash, vector from {table} where backend_model = ? and content_hash in ({placeholders})",
            [model, *chunk],
        ):
            found[content] = decode_vector(vector)
    return found


def _store(session: Session, name: str, model: str, dimensions: int, vectors: dict[str, np.ndarray]) -> None:
    if not vectors:
        return
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "content_hash": h,
            "backend_name": name,
            "backend_model": model,
            "dimensions": dimensions,
            "vector": encode_vector(vector),
            "created_at": now,
        }
        for h, vector in vectors.items()
    ]
    session.append_table(ML_SCHEMA, TABLE, pa.Table.from_pylist(rows, schema=EMBEDDING_TABLES[TABLE]))
