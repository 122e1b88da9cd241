"""The offline provider's taxonomy from embedding clusters: what answers the three prompts without an LLM.

Products are embedded by the embedding layer (`python_jobs.embeddings`): MiniLM when the `embeddings` extra is
installed, TF-IDF + SVD otherwise (`auto`). Keyword groups (`offline.py`) split a catalogue along whatever word
happens to be frequent; sentence embeddings put "shampoo" and "hair conditioner" together though they share no
word, which is what a category manager's segments do (see `segments bench-taxonomy` for the measured difference).

- extraction clusters the batch's in-scope products (agglomerative, Ward linkage on unit vectors; the number of
  clusters, at most the prompt's limit, is the smallest whose silhouette comes within `SILHOUETTE_TOLERANCE` of
  the best), and names each cluster from its most
  distinctive words: class-based TF-IDF, where a word scores by its frequency in the cluster times
  log(1 + average cluster size / its frequency in the whole batch), so words common to every cluster never lead;
- consolidation embeds each segment's name and definition (the definition lists the cluster's most typical
  products and distinctive words, so that text stands for the cluster's centroid) and merges a segment into an
  earlier one when their cosine is at least `MERGE_SIMILARITY[backend]`; over the limit, the closest pair is
  merged until it fits;
- refinement places each product at its nearest segment centroid: first by cosine to the segments' texts, then
  once more against centroids moved to the mean of the products placed there.

A product is in scope when it mentions a word of the category's name (as in `offline.py`); at refinement also when
it is close to a segment. Product ids are passed through as they come (never converted).

Deterministic: no randomness, and the same payload always gives the same answer. Answers are cached by the LLM
layer under `offline_model_name(backend)`, which names this logic's version and the backend (name, model,
dimensions), so a different backend or a new version of this logic never reuses an old answer.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from python_jobs.definitions import OUT_OF_SCOPE_SEGMENT
from python_jobs.embeddings import Embedder, make_embedder, minilm_available, normalised
from python_jobs.product_segmentation.offline import (
    GENERAL_PREFIX,
    _brand_stems,
    _mentions,
    _subject,
    features,
    stems,
    words,
)
from python_jobs.product_segmentation.prompts import (
    CONSOLIDATE_TASK,
    EXTRACT_TASK,
    REFINE_TASK,
    parse_prompt,
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]

# Bump when the logic below changes what it answers: it is part of the name answers are cached under.
OFFLINE_LOGIC_VERSION = "offline-embeddings-v2"

# Cosine of two segments' texts (category name left out) at or above which consolidation treats them as one
# segment. MiniLM puts paraphrases around 0.8-0.9 and different kinds of product around 0.3-0.4; on the
# benchmark's catalogue, 0.55 to 0.7 gave the same mean ARI within 0.01 over three samples. TF-IDF's space is fitted
# on the few segment texts of one merge, where segments of one kind share their words: thresholds from 0.3 to 0.5
# gave the same ARI there.
MERGE_SIMILARITY = {"minilm": 0.65, "tfidf": 0.5}
# At refinement a product that does not mention the category is still in scope when this close to a segment.
SCOPE_SIMILARITY = {"minilm": 0.5, "tfidf": 0.5}
# Below this best silhouette a batch has no cluster structure worth splitting: it stays one segment.
MIN_SILHOUETTE = 0.05
SILHOUETTE_TOLERANCE = 0.02
TYPICAL_PRODUCTS = 3
DISTINCTIVE_TERMS = 5
# A bigram replaces its leading word in a name when it scores at least this share of the word's score.
BIGRAM_SHARE = 0.8
_MEMO_SIZE = 50_000


# ------------------------------------------------------------------------------------------------ embedding


def resolve_backend(backend: str = "auto") -> str:
    """`auto` as the embedding layer resolves it: MiniLM when the extra is installed, TF-IDF otherwise."""
    if backend == "auto":
        return "minilm" if minilm_available() else "tfidf"
    return backend


def offline_model_name(backend: str = "auto") -> str:
    """What offline answers are attributed to and cached under: this logic's version and the backend (name,
    model, dimensions). TF-IDF's own model names its corpus, which differs per call: its settings stand in."""
    name = resolve_backend(backend)
    if name == "minilm":
        from python_jobs.embeddings.minilm import DIMENSIONS, MODEL_NAME

        return f"{OFFLINE_LOGIC_VERSION}:minilm:{MODEL_NAME}:{DIMENSIONS}"
    from python_jobs.embeddings.tfidf import DEFAULT_DIMENSIONS, TFIDF_VERSION

    return f"{OFFLINE_LOGIC_VERSION}:tfidf:{TFIDF_VERSION}:{DEFAULT_DIMENSIONS}"


class _Vectors:
    """One backend, with a per-process memo for backends that embed each text alone (MiniLM): extraction and
    refinement see the same products, and a product is embedded once. TF-IDF's vectors depend on the corpus, so
    they are computed per call."""

    def __init__(self, backend: str) -> None:
        self.backend = resolve_backend(backend)
        self._embedder: Embedder | None = None
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._embedder is None:
            self._embedder = make_embedder(self.backend)
        if not texts:
            return np.zeros((0, 1))
        if not self._embedder.embeds_each_text_alone:
            return self._embedder.embed(list(texts)).vectors
        missing = [text for text in dict.fromkeys(texts) if text not in self._memo]
        if missing:
            if len(self._memo) + len(missing) > _MEMO_SIZE:
                self._memo.clear()
            self._memo.update(zip(missing, self._embedder.embed(missing).vectors, strict=True))
        return np.vstack([self._memo[text] for text in texts])


def product_text(product: dict[str, Any], backend: str) -> str:
    """What a product is embedded from. TF-IDF: title and description. MiniLM: the title alone, which says what
    the product is; a description runs to 60-odd tokens and would cost MiniLM five times as much (10,000
    products: minutes, not under one), while its distinctive words still name the segments (c-TF-IDF). The
    brand says nothing about the segment."""
    title, description = (product.get("title") or "").strip(), (product.get("description") or "").strip()
    if backend == "minilm" or not description:
        return title
    return f"{title}. {description}"


def segment_text(segment: dict[str, str], category: str) -> str:
    """What a segment is embedded from: its name and definition without the category's name, which every segment
    of the run carries and which would otherwise make all of them look alike (coffee and tea segments of 'Hot
    drinks' at cosine 0.55-0.65 with MiniLM, 0.37-0.39 without)."""
    text = f"{segment['name']}. {segment['definition']}"
    phrase = category.strip() or "products"
    return re.sub(re.escape(phrase), " ", text, flags=re.IGNORECASE)


# ------------------------------------------------------------------------------------------------ extraction


def cluster_labels(vectors: np.ndarray, max_clusters: int) -> np.ndarray:
    """A cluster number per row: the agglomerative clustering (Ward, on unit vectors) with the best silhouette
    among 2..max_clusters clusters, or one cluster when no split separates the rows."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    rows = len(vectors)
    distinct = len(np.unique(np.round(vectors, 6), axis=0)) if rows else 0
    scored: list[tuple[float, np.ndarray]] = []
    for clusters in range(2, min(max_clusters, distinct, rows - 1) + 1):
        labels = AgglomerativeClustering(n_clusters=clusters, linkage="ward").fit_predict(vectors)
        scored.append((float(silhouette_score(vectors, labels)), labels))
    if not scored or max(score for score, _ in scored) < MIN_SILHOUETTE:
        return np.zeros(rows, dtype=int)
    best = max(score for score, _ in scored)
    # The fewest clusters scoring nearly as well as the best: a split that barely helps is not a segment.
    return _relabelled(next(labels for score, labels in scored if score >= best - SILHOUETTE_TOLERANCE))


def _relabelled(labels: np.ndarray) -> np.ndarray:
    """Cluster numbers by size (largest first), ties by first member: the same partition, the same numbers."""
    first = {label: int(np.flatnonzero(labels == label)[0]) for label in set(labels.tolist())}
    order = sorted(first, key=lambda label: (-int((labels == label).sum()), first[label]))
    mapping = {label: number for number, label in enumerate(order)}
    return np.array([mapping[label] for label in labels.tolist()], dtype=int)


def distinctive_terms(documents: list[list[str]], labels: np.ndarray) -> list[list[tuple[str, float]]]:
    """Per cluster, its features ranked by class-based TF-IDF: share of the cluster's features that are this one,
    times log(1 + average features per cluster / the feature's count over all clusters). A feature must be used
    by two of the cluster's products when it has two or more, so one odd title does not name a segment."""
    clusters = int(labels.max()) + 1 if len(labels) else 0
    counts = [Counter() for _ in range(clusters)]
    users = [Counter() for _ in range(clusters)]
    for document, label in zip(documents, labels.tolist(), strict=True):
        counts[label].update(document)
        users[label].update(set(document))
    totals = Counter()
    for counter in counts:
        totals.update(counter)
    average = sum(totals.values()) / clusters if clusters else 0.0
    ranked = []
    for label in range(clusters):
        size = int((labels == label).sum())
        length = sum(counts[label].values())
        scores = {
            term: count / length * math.log(1 + average / totals[term])
            for term, count in counts[label].items()
            if size < 2 or users[label][term] >= 2
        }
        ranked.append(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))
    return ranked


def _surfaces(products: list[dict[str, Any]]) -> dict[str, str]:
    """The most common written form of each stem in the products' titles and descriptions. A catalogue that
    shouts (most titles in capitals: 'HAIR CONDITIONERS') is lowered, so names read 'Hair conditioner'."""
    titles = [p.get("title") or "" for p in products]
    shouting = 2 * sum(title.isupper() for title in titles) > len(titles)
    counts: dict[str, Counter[str]] = {}
    for product in products:
        for field in (product.get("title") or "", product.get("description") or ""):
            for word_stem, surface in words(field):
                counts.setdefault(word_stem, Counter())[surface.lower() if shouting else surface] += 1
    return {stem_: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for stem_, c in counts.items()}


def _label(terms: list[tuple[str, float]], surfaces: dict[str, str], taken: set[str]) -> str | None:
    """The leading distinctive feature not yet used as a name, upgraded to a bigram that starts or ends with it
    when the bigram scores nearly as high ('Wi-Fi' -> 'Smart Wi-Fi')."""
    for term, score in terms:
        if " " in term or term in taken:
            continue
        bigrams = [(t, s) for t, s in terms if " " in t and term in t.split() and s >= BIGRAM_SHARE * score]
        chosen = bigrams[0][0] if bigrams and bigrams[0][0] not in taken else term
        taken.add(chosen)
        text = " ".join(surfaces.get(part, part) for part in chosen.split())
        return text[0].upper() + text[1:]
    return None


def _segment_name(category: str, label: str | None) -> str:
    category_words = category.strip().lower() or "products"
    return f"{GENERAL_PREFIX}{category_words}" if label is None else f"{label} {category_words}"


def _definition(category: str, typical: list[str], terms: list[str]) -> str:
    """The cluster in words: its most typical products and distinctive words, so that embedding this text lands
    near the cluster's centroid (consolidation and refinement only see the text)."""
    subject = _subject(category)
    head = f"{subject} such as {'; '.join(typical)}" if typical else f"{subject} without a shared feature"
    return f"{head}. Distinctive words: {', '.join(terms)}." if terms else f"{head}."


def extract_taxonomy(payload: dict[str, Any], vectors: _Vectors) -> dict[str, Any]:
    """A batch's segments (one per embedding cluster, named from its distinctive words) and each product's place."""
    category = payload["category"]
    products = payload["products"]
    max_segments = max(1, int(payload.get("max_segments") or 8))
    category_stems = frozenset(stems(category))
    uninformative = category_stems | _brand_stems(products)
    in_scope = [p for p in products if _mentions(p, category_stems)]
    segments: list[dict[str, str]] = []
    assignments = [
        {"product_id": p["product_id"], "segment": OUT_OF_SCOPE_SEGMENT}
        for p in products
        if not _mentions(p, category_stems)
    ]
    if in_scope:
        embedded = vectors.embed([product_text(p, vectors.backend) for p in in_scope])
        labels = cluster_labels(embedded, max_segments)
        documents = [
            features([p.get("title") or "", p.get("description") or ""], uninformative) for p in in_scope
        ]
        ranked = distinctive_terms(documents, labels)
        surfaces = _surfaces(in_scope)
        taken: set[str] = set()
        by_name: dict[str, int] = {}
        for label in range(int(labels.max()) + 1):
            members = np.flatnonzero(labels == label)
            name = _segment_name(category, _label(ranked[label], surfaces, taken))
            if name.casefold() not in by_name:  # two nameless clusters share the general segment
                by_name[name.casefold()] = len(segments)
                terms = [" ".join(surfaces.get(p, p) for p in t.split()) for t, _ in ranked[label]]
                typical = _typical_titles(embedded[members], [in_scope[i] for i in members])
                segments.append(
                    {"name": name, "definition": _definition(category, typical, terms[:DISTINCTIVE_TERMS])}
                )
            segment = segments[by_name[name.casefold()]]["name"]
            assignments += [{"product_id": in_scope[i]["product_id"], "segment": segment} for i in members]
    if not segments:  # nothing in scope: the prompt still asks for a taxonomy
        segments.append({"name": _segment_name(category, None), "definition": _definition(category, [], [])})
    position = {p["product_id"]: i for i, p in enumerate(products)}
    assignments.sort(key=lambda row: position[row["product_id"]])
    return {"segments": segments, "assignments": assignments}


def _typical_titles(member_vectors: np.ndarray, members: list[dict[str, Any]]) -> list[str]:
    """The distinct titles of the members nearest their cluster's centroid."""
    centroid = member_vectors.mean(axis=0)
    closeness = member_vectors @ centroid
    titles: list[str] = []
    for i in sorted(range(len(members)), key=lambda i: (-closeness[i], i)):
        title = (members[i].get("title") or "").strip()
        if title and title.casefold() not in {t.casefold() for t in titles}:
            titles.append(title)
        if len(titles) == TYPICAL_PRODUCTS:
            break
    return titles


# --------------------------------------------------------------------------------------------- consolidation


def consolidate_taxonomy(payload: dict[str, Any], vectors: _Vectors) -> dict[str, Any]:
    """Taxonomy A then B, each segment merged into the closest kept one when their texts' cosine reaches the
    backend's `MERGE_SIMILARITY` (or their names are equal), else kept; then, over the limit, the closest pair of
    kept segments is merged until it fits. A merged segment keeps the earlier one's name and definition; its
    centroid becomes the mean of the two."""
    segments = [*payload["taxonomy_a"], *payload["taxonomy_b"]]
    max_segments = max(1, int(payload.get("max_segments") or 12))
    threshold = MERGE_SIMILARITY.get(vectors.backend, 0.75)
    texts = [segment_text(s, payload["category"]) for s in segments]
    embedded = vectors.embed(texts) if segments else np.zeros((0, 1))
    kept: list[dict[str, str]] = []
    sums: list[np.ndarray] = []
    for segment, vector in zip(segments, embedded, strict=True):
        names = [k["name"].casefold() for k in kept]
        similarities = normalised(np.array(sums)) @ vector if kept else np.zeros(0)
        if segment["name"].casefold() in names:
            sums[names.index(segment["name"].casefold())] += vector
        elif kept and similarities.max() >= threshold:
            sums[int(np.argmax(similarities))] += vector
        else:
            kept.append({"name": segment["name"], "definition": segment["definition"]})
            sums.append(vector.astype(float).copy())
    while len(kept) > max_segments:
        centroids = normalised(np.array(sums))
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -np.inf)
        first, second = sorted(np.unravel_index(int(np.argmax(similarity)), similarity.shape))
        sums[first] = sums[first] + sums[second]
        del kept[second], sums[second]
    return {"segments": kept}


# ------------------------------------------------------------------------------------------------ refinement


def nearest_segments(
    product_vectors: np.ndarray, segment_vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each product's nearest segment, and its cosine to the closest segment text (what scope is judged by).

    Placed first by cosine to the segments' own vectors, then against centroids moved to the mean of the segment's
    vector and the products placed there (one k-means step seeded by the segments, so a segment described by a
    few titles still gathers the products most like its members). The moved centroids hold the products
    themselves, so closeness is measured before the move: otherwise two stray products of one batch would pull a
    segment to themselves and look close to it."""
    similarity = product_vectors @ segment_vectors.T
    nearest = similarity.argmax(axis=1)
    closeness = similarity.max(axis=1)
    sums = segment_vectors.astype(float).copy()
    for index, product_vector in zip(nearest.tolist(), product_vectors, strict=True):
        sums[index] += product_vector
    return (product_vectors @ normalised(sums).T).argmax(axis=1), closeness


def refine_assignments(payload: dict[str, Any], vectors: _Vectors) -> dict[str, Any]:
    """Each product at its nearest segment; out of scope when it neither mentions the category nor comes close to
    a segment (`SCOPE_SIMILARITY[backend]`)."""
    category_stems = frozenset(stems(payload["category"]))
    segments, products = payload["segments"], payload["products"]
    if not segments or not products:
        return {
            "assignments": [
                {"product_id": p["product_id"], "segment": OUT_OF_SCOPE_SEGMENT} for p in products
            ]
        }
    texts = [product_text(p, vectors.backend) for p in products] + [
        segment_text(s, payload["category"]) for s in segments
    ]
    embedded = vectors.embed(texts)
    nearest, closeness = nearest_segments(embedded[: len(products)], embedded[len(products) :])
    threshold = SCOPE_SIMILARITY.get(vectors.backend, 0.5)
    assignments = []
    for product, index, close in zip(products, nearest.tolist(), closeness.tolist(), strict=True):
        in_scope = _mentions(product, category_stems) or close >= threshold
        assignments.append(
            {
                "product_id": product["product_id"],
                "segment": segments[index]["name"] if in_scope else OUT_OF_SCOPE_SEGMENT,
            }
        )
    return {"assignments": assignments}


# -------------------------------------------------------------------------------------------------- plumbing


@functools.cache
def offline_handlers(backend: str = "auto") -> dict[str, Handler]:
    """The three handlers over one backend (one memo of vectors shared by them), made once per backend."""
    vectors = _Vectors(backend)
    return {
        EXTRACT_TASK: functools.partial(extract_taxonomy, vectors=vectors),
        CONSOLIDATE_TASK: functools.partial(consolidate_taxonomy, vectors=vectors),
        REFINE_TASK: functools.partial(refine_assignments, vectors=vectors),
    }


def warm_up(backend: str = "auto") -> None:
    """Load the backend's model now (MiniLM takes seconds), so that a timed run does not count it."""
    offline_handlers(backend)[EXTRACT_TASK](
        {
            "category": "",
            "max_segments": 1,
            "products": [{"product_id": 1, "title": "warm-up", "description": ""}],
        }
    )


def answer_prompt(prompt: str, backend: str = "auto") -> str:
    """The JSON text the offline handlers give for a rendered prompt: what a fake server answers with."""
    task, payload = parse_prompt(prompt)
    return json.dumps(offline_handlers(backend)[task](payload), ensure_ascii=False)
