"""Kept so imports from before the generator became a package keep working; new code imports
`python_jobs.ingest.generate.products`."""

from python_jobs.ingest.generate.products import (
    CATEGORIES,
    CATEGORY_NAMES,
    FIRST_PRODUCT_ID,
    MESSY_CATEGORY_SHARE,
    NOISE_SHARE,
    NOISE_TYPES,
    ProductTruth,
    generate_products,
    generate_products_with_truth,
    product_count,
    product_truth,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_NAMES",
    "FIRST_PRODUCT_ID",
    "MESSY_CATEGORY_SHARE",
    "NOISE_SHARE",
    "NOISE_TYPES",
    "ProductTruth",
    "generate_products",
    "generate_products_with_truth",
    "product_count",
    "product_truth",
]
