"""Kept so imports from before the generator became a package keep working; new code imports
`python_jobs.ingest.generate`."""

from python_jobs.ingest.generate import (
    ARCHETYPE_NAMES,
    ARCHETYPES,
    CATEGORIES_CSV,
    WINDOW_END,
    WINDOW_START,
    Archetype,
    Categories,
    assign_archetypes,
    generate_raw_tables,
    load_categories,
    write_raw_tables,
)

__all__ = [
    "ARCHETYPES",
    "ARCHETYPE_NAMES",
    "CATEGORIES_CSV",
    "WINDOW_END",
    "WINDOW_START",
    "Archetype",
    "Categories",
    "assign_archetypes",
    "generate_raw_tables",
    "load_categories",
    "write_raw_tables",
]
