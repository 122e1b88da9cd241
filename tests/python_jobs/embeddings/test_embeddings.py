"""The embedding layer: both backends (MiniLM loaded offline from its package), backend recorded with every
result, and the cache by content hash on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import pytest

from python_jobs.embeddings import EmbeddingError, make_embedder, minilm_available
from python_jobs.embeddings.aspects import embed_documents
from python_jobs.embeddings.cache import cached_embeddings, content_hash, decode_vector, encode_vector
from python_jobs.warehouse.ml_tables import ML_SCHEMA

PARAPHRASES = ("The cat sat on the mat.", "A cat was sitting on the rug.")
UNRELATED = "Quarterly revenue of the steel industry fell sharply."

CORPUS = [
    "premium sports video inventory football highlights",
    "sports video football match replays premium",
    "football sports highlights video premium in-stream",
    "cooking recipes display banners food blog",
    "food blog recipes display banner kitchen",
    "kitchen recipes cooking food display",
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_tfidf_puts_texts_of_one_topic_together_and_records_itself():
    result = make_embedder("tfidf").embed(CORPUS)
    assert result.vectors.shape == (6, 5)  # fewer dimensions than texts on a tiny corpus
    assert result.backend.name == "tfidf"
    assert result.backend.model.startswith("tfidf-svd-v1:seed0:corpus-")
    sports, food = result.vectors[:3], result.vectors[3:]
    assert min(cosine(a, b) for a in sports for b in sports) > max(cosine(a, b) for a in sports for b in food)
    assert min(cosine(a, b) for a in food for b in food) > max(cosine(a, b) for a in sports for b in food)
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0)


def test_tfidf_is_deterministic():
    first = make_embedder("tfidf").embed(CORPUS).vectors
    np.testing.assert_array_equal(first, make_embedder("tfidf").embed(CORPUS).vectors)


def test_an_unknown_backend_is_refused():
    with pytest.raises(EmbeddingError, match="unknown embedding backend"):
        make_embedder("word2vec")


def test_vectors_survive_their_text_encoding():
    vector = np.array([0.25, -1.5, 3.0])
    np.testing.assert_array_equal(decode_vector(encode_vector(vector)), vector)


def test_minilm_loads_offline_and_puts_paraphrases_closer_than_unrelated_text(monkeypatch):
    if not minilm_available():
        # CI installs the extra (dev.py) and sets this, so the MiniLM backend is tested there, never skipped.
        if os.environ.get("SEGMENTS_REQUIRE_EMBEDDINGS") == "1":
            pytest.fail("the `embeddings` extra is not installed, and SEGMENTS_REQUIRE_EMBEDDINGS=1")
        pytest.skip("the `embeddings` extra is not installed")
    # Any attempt to reach the hub fails the test: the model must come from the installed package.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    result = make_embedder("minilm").embed([*PARAPHRASES, UNRELATED])
    assert result.backend.as_dict() == {
        "name": "minilm",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "dimensions": 384,
    }
    assert result.vectors.shape == (3, 384)
    paraphrase, unrelated = cosine(*result.vectors[:2]), cosine(result.vectors[0], result.vectors[2])
    assert paraphrase > 0.5
    assert paraphrase > unrelated + 0.3


def test_auto_takes_minilm_exactly_when_the_extra_is_installed():
    embedder = make_embedder("auto")
    assert embedder.info(CORPUS).name == ("minilm" if minilm_available() else "tfidf")


class CountingEmbedder:
    """A backend that embeds each text alone (as MiniLM does) and counts what it is asked to embed."""

    embeds_each_text_alone = True

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def info(self, texts=()):
        from python_jobs.embeddings import BackendInfo

        return BackendInfo("counting", "counting-v1", 2)

    def embed(self, texts):
        from python_jobs.embeddings import Embeddings

        self.embedded += list(texts)
        return Embeddings(np.array([[len(t), 1.0] for t in texts]), self.info())


def test_the_cache_embeds_only_texts_it_has_not_seen(warehouse):
    embedder = CountingEmbedder()
    with warehouse.session() as session:
        first, new = cached_embeddings(session, embedder, ["a", "bb", "a"])
    assert new == 2
    assert embedder.embedded == ["a", "bb"]
    np.testing.assert_array_equal(first.vectors, [[1, 1], [2, 1], [1, 1]])
    with warehouse.session() as session:
        second, new = cached_embeddings(session, embedder, ["bb", "ccc"])
        stored = session.fetchall(
            f"select content_hash, backend_name, backend_model, dimensions from {ML_SCHEMA}.text_embeddings "
            "order by content_hash"
        )
    assert new == 1
    assert embedder.embedded == ["a", "bb", "ccc"]
    np.testing.assert_array_equal(second.vectors, [[2, 1], [3, 1]])
    assert sorted(stored) == sorted(
        (content_hash(t), "counting", "counting-v1", 2) for t in ("a", "bb", "ccc")
    )


def test_tfidf_vectors_come_back_from_the_cache_for_the_same_corpus_only(warehouse):
    embedder = make_embedder("tfidf")
    with warehouse.session() as session:
        first, new_first = cached_embeddings(session, embedder, CORPUS)
        again, new_again = cached_embeddings(session, embedder, CORPUS)
        _, new_other = cached_embeddings(session, embedder, CORPUS[:4])
    assert (new_first, new_again, new_other) == (6, 0, 4)
    np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-6)


class UnitVectorEmbedder(CountingEmbedder):
    """Each text its own hand-picked unit vector, so the expected similarities can be worked out by hand."""

    VECTORS: ClassVar[dict[str, list[float]]] = {
        "red": [1.0, 0.0],
        "crimson": [0.6, 0.8],
        "blue": [0.0, 1.0],
        "small": [1.0, 0.0],
    }

    def embed(self, texts):
        from python_jobs.embeddings import Embeddings

        self.embedded += list(texts)
        return Embeddings(np.array([self.VECTORS[t] for t in texts]), self.info())


def test_documents_are_embedded_aspect_by_aspect_once_per_distinct_aspect(warehouse):
    embedder = UnitVectorEmbedder()
    documents = [["red", "small"], ["crimson", "small"], ["blue", "small"], ["red", "small"]]
    with warehouse.session() as session:
        result, new = embed_documents(session, embedder, documents)
    assert new == 4
    assert sorted(embedder.embedded) == ["blue", "crimson", "red", "small"]
    assert result.vectors.shape == (4, 4)
    assert result.backend.dimensions == 4
    assert "2 aspects" in result.backend.model
    similarity = result.vectors @ result.vectors.T
    # The mean of the aspects' cosines: red-crimson 0.6 and small-small 1 -> 0.8; red-blue 0 and 1 -> 0.5.
    assert similarity[0, 1] == pytest.approx(0.8)
    assert similarity[0, 2] == pytest.approx(0.5)
    assert similarity[0, 3] == pytest.approx(1.0)
    with warehouse.session() as session:
        _, new_again = embed_documents(session, embedder, [["blue", "red"], ["red", "blue"]])
    assert new_again == 0


def test_a_corpus_fitted_backend_gets_each_documents_whole_text(warehouse):
    documents = [text.split(" ", 2) for text in CORPUS]
    with warehouse.session() as session:
        whole, new = embed_documents(session, make_embedder("tfidf"), documents)
    direct = make_embedder("tfidf").embed(CORPUS)
    assert new == 6
    # The whole texts are the corpus: the model names the corpus of the joined aspects.
    assert whole.backend == make_embedder("tfidf").info(["\n".join(d) for d in documents])
    assert whole.backend.dimensions == direct.backend.dimensions
    sports, food = whole.vectors[:3], whole.vectors[3:]
    assert min(cosine(a, b) for a in sports for b in sports) > max(cosine(a, b) for a in sports for b in food)


def test_documents_of_different_widths_are_refused(warehouse):
    with warehouse.session() as session, pytest.raises(ValueError, match="same number of aspects"):
        embed_documents(session, UnitVectorEmbedder(), [["red"], ["red", "blue"]])
