"""Deterministic, LLM-free answers to the three prompts by keyword groups, and the tokenising they share with the
offline provider's embedding clusters (`offline_embeddings.py`), which answer for the provider now; these keyword
handlers stay as the baseline that `segments bench-taxonomy` measures the clusters against.

Each handler takes the payload a prompt embeds and returns exactly the JSON the prompt asks the model for, so a
run without an API key (or a test, or the benchmark's fake server) goes through the very same job code:

- extraction groups a batch's products by their strongest distinctive keyword (TF-IDF over the batch's titles
  and descriptions, unigrams and bigrams), greedily choosing the keywords that cover the most weight; products
  sharing no word with the category's name are out of scope;
- consolidation merges segments whose name and definition are similar (token cosine), and folds the least
  similar ones into a general segment when there are more than the prompt allows;
- refinement places each product in the segment whose name and definition are closest (TF-IDF cosine), out of
  scope when it is close neither to any segment nor to the category.

Only numpy and scikit-learn; no randomness, so the same payload always gives the same answer.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from python_jobs.definitions import OUT_OF_SCOPE_SEGMENT
from python_jobs.product_segmentation.prompts import (
    CONSOLIDATE_TASK,
    EXTRACT_TASK,
    REFINE_TASK,
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]

# The name answers of the keyword logic below were attributed to and cached under while it was the offline
# provider's; it is now the baseline `segments bench-taxonomy` compares the embedding clusters with.
KEYWORD_MODEL = "offline-tfidf-v1"

GENERAL_PREFIX = "General "
# Cosine of two segments' name+definition tokens at or above which consolidation treats them as one segment.
MERGE_SIMILARITY = 0.4
# Below this a product is not considered close to a segment when deciding it is out of scope.
OUT_OF_SCOPE_SIMILARITY = 0.1
# A keyword carried by more than this share of a batch describes the category, not a segment of it.
MAX_KEYWORD_SHARE = 0.6
TOP_TERMS = 4

_WORD = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
# A number with a unit glued on (150w, 25m, 2pk): a specification, not what a segment is about.
_QUANTITY = re.compile(r"^\d+(?:\.\d+)?[a-z]{0,3}$")
# Words of the offline definitions themselves: they say nothing about products, so similarity ignores them.
_BOILERPLATE = frozenset(
    {
        "distinguished",
        "typical",
        "term",
        "terms",
        "general",
        "specific",
        "shared",
        "feature",
        "batch",
        "product",
    }
)
_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | _BOILERPLATE


# ------------------------------------------------------------------------------------------------ tokenising


def stem(word: str) -> str:
    """A light plural stripper: enough for 'switches' and 'switch', 'dimmers' and 'dimmer' to meet."""
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=65_536)
def words(text: str) -> tuple[tuple[str, str], ...]:
    """(stem, surface form) of each meaningful word: stop words and bare numbers say nothing about a segment.

    Cached: a product's title and description are read by extraction, definitions and refinement alike."""
    found = []
    for surface in _WORD.findall(text or ""):
        lowered = surface.lower()
        if lowered in _STOP_WORDS or _QUANTITY.match(lowered) or len(lowered) < 2:
            continue
        found.append((stem(lowered), surface))
    return tuple(found)


def stems(text: str) -> list[str]:
    return [word_stem for word_stem, _ in words(text)]


def features(fields: Iterable[str], excluded: frozenset[str] = frozenset()) -> list[str]:
    """Unigrams and within-field bigrams of stems; any feature holding an excluded stem is left out."""
    found: list[str] = []
    for field in fields:
        field_stems = stems(field)
        found += [s for s in field_stems if s not in excluded]
        found += [f"{a} {b}" for a, b in itertools.pairwise(field_stems) if not {a, b} & excluded]
    return found


def _product_fields(product: dict[str, Any]) -> list[str]:
    return [product.get("title") or "", product.get("description") or ""]


def _fit_tfidf(documents: list[list[str]]) -> tuple[TfidfVectorizer, Any] | None:
    """TF-IDF over pre-tokenised documents, or None when there is not a single feature to weigh."""
    if not any(documents):
        return None
    vectorizer = TfidfVectorizer(analyzer=lambda document: document, sublinear_tf=True, norm="l2")
    return vectorizer, vectorizer.fit_transform(documents)


# ------------------------------------------------------------------------------------------------ extraction


@dataclass
class _Group:
    keyword: str | None  # None for the general segment
    members: list[int]


def extract_taxonomy(payload: dict[str, Any]) -> dict[str, Any]:
    """A batch's segments (one per chosen keyword, plus a general one) and each product's place."""
    category = payload["category"]
    products = payload["products"]
    max_segments = max(1, int(payload.get("max_segments") or 8))
    category_stems = frozenset(stems(category))
    # Neither the category's own words nor brand names say which segment of the category a product is in.
    uninformative = category_stems | _brand_stems(products)
    in_scope = [i for i, product in enumerate(products) if _mentions(product, category_stems)]

    in_scope_products = [products[i] for i in in_scope]
    groups = _keyword_groups(in_scope_products, uninformative, max_segments)
    surfaces = _surface_forms(products)
    segments, assignments = [], []
    for group in groups:
        members = [products[in_scope[i]] for i in group.members]
        name = _segment_name(category, group.keyword, surfaces)
        definition = _definition(category, group.keyword, members, in_scope_products, surfaces, uninformative)
        segments.append({"name": name, "definition": definition})
        assignments += [{"product_id": p["product_id"], "segment": name} for p in members]
    in_scope_set = set(in_scope)
    assignments += [
        {"product_id": product["product_id"], "segment": OUT_OF_SCOPE_SEGMENT}
        for i, product in enumerate(products)
        if i not in in_scope_set
    ]
    if not segments:  # nothing in scope: the prompt still asks for a taxonomy
        name = _segment_name(category, None, surfaces)
        segments.append(
            {"name": name, "definition": _definition(category, None, [], [], surfaces, uninformative)}
        )
    assignments.sort(key=lambda row: row["product_id"])
    return {"segments": segments, "assignments": assignments}


def _brand_stems(products: list[dict[str, Any]]) -> frozenset[str]:
    return frozenset(s for product in products for s in stems(product.get("brand") or ""))


def _subject(category: str) -> str:
    """The category as the subject of a sentence: 'dimmer switches' -> 'Dimmer switches'."""
    text = category.strip() or "Products"
    return text[0].upper() + text[1:]


def _mentions(product: dict[str, Any], category_stems: frozenset[str]) -> bool:
    """Whether a product shares a word with the category's name; a category without words takes everything."""
    if not category_stems:
        return True
    return any(s in category_stems for field in _product_fields(product) for s in stems(field))


def _keyword_groups(
    products: list[dict[str, Any]], uninformative: frozenset[str], max_segments: int
) -> list[_Group]:
    """Choose up to max_segments - 1 keywords greedily by the TF-IDF weight they cover among products not yet
    covered, then give each product the chosen keyword it weighs most; the rest form the general group."""
    if not products:
        return []
    documents = [features(_product_fields(product), uninformative) for product in products]
    fitted = _fit_tfidf(documents)
    if fitted is None:
        return [_Group(None, list(range(len(products))))]
    vectorizer, matrix = fitted
    weights = matrix.toarray()
    present = weights > 0
    document_frequency = present.sum(axis=0)
    vocabulary = vectorizer.get_feature_names_out()
    max_frequency = max(2, int(np.ceil(MAX_KEYWORD_SHARE * len(products))))
    candidates = (document_frequency >= 2) & (document_frequency <= max_frequency)

    chosen: list[int] = []
    uncovered = np.ones(len(products), dtype=bool)
    while len(chosen) < max_segments - 1:
        covered_weight = np.where(candidates, (weights * uncovered[:, None]).sum(axis=0), 0.0)
        covered_count = np.where(candidates, (present & uncovered[:, None]).sum(axis=0), 0)
        covered_weight[covered_count < 2] = 0.0
        if covered_weight.max() <= 0:
            break
        # Highest weight first; ties go to the alphabetically first feature, so the result never depends on order.
        best = min(
            np.flatnonzero(np.isclose(covered_weight, covered_weight.max())), key=lambda j: vocabulary[j]
        )
        chosen.append(int(best))
        uncovered &= ~present[:, best]
        candidates[best] = False

    members: dict[int | None, list[int]] = {j: [] for j in chosen}
    members[None] = []
    for i in range(len(products)):
        carried = [j for j in chosen if present[i, j]]
        members[max(carried, key=lambda j: weights[i, j]) if carried else None].append(i)
    groups = [_Group(str(vocabulary[j]), members[j]) for j in chosen if members[j]]
    if members[None]:
        groups.append(_Group(None, members[None]))
    return groups


def _surface_forms(products: list[dict[str, Any]]) -> dict[str, str]:
    """The most common written form of each stem ('Wi-Fi' for 'wi-fi'), for readable segment names."""
    counts: dict[str, Counter[str]] = {}
    for product in products:
        for field in _product_fields(product):
            for word_stem, surface in words(field):
                counts.setdefault(word_stem, Counter())[surface] += 1
    return {
        word_stem: min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        for word_stem, counter in counts.items()
    }


def _label(feature: str, surfaces: dict[str, str]) -> str:
    return " ".join(surfaces.get(part, part) for part in feature.split())


def _segment_name(category: str, keyword: str | None, surfaces: dict[str, str]) -> str:
    """'Wi-Fi dimmer switches' for the keyword 'wi-fi' in 'Dimmer Switches'; 'General dimmer switches' without."""
    category_words = category.strip().lower() or "products"
    if keyword is None:
        return f"{GENERAL_PREFIX}{category_words}"
    label = _label(keyword, surfaces)
    label = label[0].upper() + label[1:] if label.islower() else label
    return f"{label} {category_words}"


def _definition(
    category: str,
    keyword: str | None,
    members: list[dict[str, Any]],
    batch: list[dict[str, Any]],
    surfaces: dict[str, str],
    uninformative: frozenset[str],
) -> str:
    """One sentence from the group's keyword and the terms that set the group apart from the rest of the batch
    (share of the group's products using a term minus the batch's share), so 'bulbs' or 'works' never lead."""
    excluded = uninformative | frozenset((keyword or "").split())
    group_share = _term_shares(members, excluded)
    batch_share = _term_shares(batch, excluded)
    lift = {term: share - batch_share.get(term, 0.0) for term, share in group_share.items()}
    ranked = sorted((kv for kv in lift.items() if kv[1] > 0), key=lambda kv: (-kv[1], kv[0]))
    terms = [surfaces.get(term, term) for term, _ in ranked[:TOP_TERMS]]
    subject = _subject(category)
    if keyword is None:
        head = f"{subject} without a more specific shared feature"
    else:
        head = f"{subject} distinguished by {_label(keyword, surfaces)}"
    return f"{head}; typical terms: {', '.join(terms)}." if terms else f"{head}."


def _term_shares(products: list[dict[str, Any]], excluded: frozenset[str]) -> dict[str, float]:
    """The share of `products` whose title or description uses each stem."""
    counts: Counter[str] = Counter()
    for product in products:
        counts.update(set(stems(" ".join(_product_fields(product)))) - excluded)
    return {term: count / len(products) for term, count in counts.items()} if products else {}


# --------------------------------------------------------------------------------------------- consolidation


def consolidate_taxonomy(payload: dict[str, Any]) -> dict[str, Any]:
    """Taxonomy A, with each segment of B merged into its most similar segment of the result or added to it;
    then, over the limit, the least distinctive segments are folded into the general one."""
    category_stems = frozenset(stems(payload["category"]))
    max_segments = max(1, int(payload.get("max_segments") or 12))
    merged: list[dict[str, str]] = []
    for segment in [*payload["taxonomy_a"], *payload["taxonomy_b"]]:
        match = _most_similar(segment, merged, category_stems)
        if match is None or match[1] < MERGE_SIMILARITY:
            merged.append({"name": segment["name"], "definition": segment["definition"]})
    while len(merged) > max_segments:
        merged = _fold_one(merged, payload["category"])
    return {"segments": merged}


def _segment_vector(segment: dict[str, str], category_stems: frozenset[str]) -> Counter[str]:
    """Name and definition stems, without the category's own words, which every segment shares."""
    tokens = stems(segment["name"]) + stems(segment["definition"])
    return Counter(token for token in tokens if token not in category_stems)


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[token] for token, count in a.items() if token in b)
    norm = np.sqrt(sum(v * v for v in a.values())) * np.sqrt(sum(v * v for v in b.values()))
    return float(dot / norm) if norm else 0.0


def _most_similar(
    segment: dict[str, str], others: list[dict[str, str]], category_stems: frozenset[str]
) -> tuple[int, float] | None:
    """The index of the most similar segment and the similarity; an identical name counts as identical."""
    if not others:
        return None
    vector = _segment_vector(segment, category_stems)
    scores = [
        1.0
        if other["name"].casefold() == segment["name"].casefold()
        else _cosine(vector, _segment_vector(other, category_stems))
        for other in others
    ]
    best = int(np.argmax(scores))
    return best, scores[best]


def _fold_one(segments: list[dict[str, str]], category: str) -> list[dict[str, str]]:
    """Fold the last non-general segment into the general one (made if missing), keeping the general one last."""
    general = next((s for s in segments if s["name"].startswith(GENERAL_PREFIX)), None)
    rest = [s for s in segments if s is not general]
    rest.pop()
    if general is None:
        general = {
            "name": f"{GENERAL_PREFIX}{category.strip().lower() or 'products'}",
            "definition": f"{_subject(category)} without a more specific shared feature.",
        }
    return [*rest, general]


# ------------------------------------------------------------------------------------------------ refinement


def refine_assignments(payload: dict[str, Any]) -> dict[str, Any]:
    """Each product in the segment its TF-IDF vector is closest to; out of scope when close to nothing."""
    category = payload["category"]
    segments = payload["segments"]
    products = payload["products"]
    category_stems = frozenset(stems(category))
    uninformative = category_stems | _brand_stems(products)
    segment_documents = [features([s["name"], s["definition"]], uninformative) for s in segments]
    product_documents = [features(_product_fields(p), uninformative) for p in products]
    similarities = _cross_similarity(product_documents, segment_documents)
    general = next((i for i, s in enumerate(segments) if s["name"].startswith(GENERAL_PREFIX)), None)
    assignments = []
    for i, product in enumerate(products):
        assignments.append(
            {
                "product_id": product["product_id"],
                "segment": _placement(similarities[i], product, segments, general, category_stems),
            }
        )
    return {"assignments": assignments}


def _cross_similarity(rows: list[list[str]], columns: list[list[str]]) -> np.ndarray:
    """Cosine between every row document and every column document, in one TF-IDF space fitted on both."""
    fitted = _fit_tfidf(rows + columns)
    if fitted is None:
        return np.zeros((len(rows), len(columns)))
    _, matrix = fitted
    return (matrix[: len(rows)] @ matrix[len(rows) :].T).toarray()


def _placement(
    similarity: np.ndarray,
    product: dict[str, Any],
    segments: list[dict[str, str]],
    general: int | None,
    category_stems: frozenset[str],
) -> str:
    """The closest segment; with no distinctive match, the general segment if the product is of the category."""
    if len(segments) and similarity.max() >= OUT_OF_SCOPE_SIMILARITY:
        return segments[int(np.argmax(similarity))]["name"]
    if not _mentions(product, category_stems):
        return OUT_OF_SCOPE_SEGMENT
    if general is not None:
        return segments[general]["name"]
    if len(segments) and similarity.max() > 0:
        return segments[int(np.argmax(similarity))]["name"]
    return segments[0]["name"] if segments else OUT_OF_SCOPE_SEGMENT


# -------------------------------------------------------------------------------------------------- plumbing

# The offline provider answers with the embedding clusters of `offline_embeddings`; these keyword handlers are the
# baseline the taxonomy benchmark measures them against.
KEYWORD_HANDLERS: dict[str, Handler] = {
    EXTRACT_TASK: extract_taxonomy,
    CONSOLIDATE_TASK: consolidate_taxonomy,
    REFINE_TASK: refine_assignments,
}
