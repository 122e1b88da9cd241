"""LLM product segmentation: a taxonomy of market segments for a product category, and every product placed in it.

Three phases over the LLM layer (`python_jobs.llm`): extraction (a taxonomy per batch of products), pair-wise
consolidation of those taxonomies into one final taxonomy, and refinement (every product re-assigned against the
final taxonomy). Results live in the four `ml.product_segment_*` tables; prompts and responses in the archive.
"""
