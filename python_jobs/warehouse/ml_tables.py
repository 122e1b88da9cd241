"""The tables the Python jobs write to schema `ml` (customer clustering, CLV, product segmentation), defined once.

Every row carries the `run_id` of the run that wrote it; a run's rows are written in one transaction together with
its `segmentation_runs` row marked `succeeded`, so dbt (which reads the latest succeeded run) never sees half a
run. dbt declares these tables as the source `ml` (models/staging/ml/_ml__sources.yml); a test keeps the two in
step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from python_jobs.warehouse.connection import Session

ML_SCHEMA = "ml"

_TS = pa.timestamp("us", tz="UTC")

ML_TABLES: dict[str, pa.Schema] = {
    # One row per run, written at the start ("running") and updated at the end ("succeeded" or "failed"), or
    # marked "abandoned" by a later run when its process died without saying so.
    "segmentation_runs": pa.schema(
        [
            ("run_id", pa.string()),
            ("started_at", _TS),
            ("finished_at", _TS),
            ("status", pa.string()),
            ("parameters", pa.string()),  # JSON: sample size, k range, seed, resamples...
            ("population_size", pa.int64()),
            ("sample_size", pa.int64()),
            ("error_message", pa.string()),
            # The process running it (python_jobs/warehouse/run_owner.py), refreshed between axes: a run whose
            # process is gone is marked `abandoned` by the next run.
            ("owner_host", pa.string()),
            ("owner_pid", pa.int64()),
            ("owner_started_at", _TS),
            ("heartbeat_at", _TS),
        ]
    ),
    # One row per run and axis: the chosen k and how well the axis separates.
    "segment_axes": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_count", pa.int64()),
            ("silhouette", pa.float64()),
            ("is_silhouette_poor", pa.bool_()),
            ("silhouette_by_k", pa.string()),  # JSON: {"2": 0.41, "3": 0.38, ...}
            ("feature_drop_agreement", pa.float64()),
            ("time_window_agreement", pa.float64()),
            # clustered | no_variation | too_few_customers (definitions.AXIS_*); null in runs written before it.
            ("axis_status", pa.string()),
            # Sampled customers the axis could place (those with every feature it needs).
            ("placeable_sample_customers", pa.int64()),
        ]
    ),
    # One row per run, axis and feature: the standardisation the centroids live in.
    "segment_feature_scaling": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("feature_name", pa.string()),
            ("feature_mean", pa.float64()),
            ("feature_scale", pa.float64()),
        ]
    ),
    # One row per run, axis and segment.
    "segment_definitions": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_id", pa.int64()),
            ("segment_name", pa.string()),
            ("defining_features", pa.string()),  # plain words, e.g. "average order value far above average"
            ("sample_customers", pa.int64()),
            ("sample_share", pa.float64()),
        ]
    ),
    # One row per run, axis, segment and feature: the centroid in the standardised space.
    "segment_centroids": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_id", pa.int64()),
            ("feature_name", pa.string()),
            ("centroid_value", pa.float64()),
        ]
    ),
    # One row per run, axis and segment: how well the segment survives resampling and perturbation.
    "segment_robustness": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_id", pa.int64()),
            ("bootstrap_jaccard", pa.float64()),
            ("bootstrap_stability", pa.string()),  # unstable | doubtful | stable | highly_stable
            ("feature_drop_agreement", pa.float64()),
            ("time_window_agreement", pa.float64()),
            ("overall_robustness", pa.float64()),
        ]
    ),
}

# ---------------------------------------------------------------- CLV (python_jobs/clv/job.py)
CLV_TABLES: dict[str, pa.Schema] = {
    # One row per fit of BG/NBD + Gamma-Gamma, written 'running' at the start and flipped to 'succeeded' in the
    # transaction that writes its predictions; time unit days.
    "clv_models": pa.schema(
        [
            ("run_id", pa.string()),
            ("started_at", _TS),
            ("fitted_at", _TS),
            ("status", pa.string()),
            ("error_message", pa.string()),
            ("observation_end", pa.date32()),
            ("horizon_days", pa.int64()),
            ("customers", pa.int64()),
            ("r", pa.float64()),
            ("alpha", pa.float64()),
            ("a", pa.float64()),
            ("b", pa.float64()),
            ("bgnbd_log_likelihood", pa.float64()),
            ("bgnbd_converged", pa.bool_()),
            ("gamma_gamma_customers", pa.int64()),
            ("p", pa.float64()),
            ("q", pa.float64()),
            ("v", pa.float64()),
            ("gamma_gamma_log_likelihood", pa.float64()),
            ("gamma_gamma_converged", pa.bool_()),
            ("owner_host", pa.string()),
            ("owner_pid", pa.int64()),
            ("owner_started_at", _TS),
            ("heartbeat_at", _TS),
        ]
    ),
    # One row per run and customer with RFM columns: the predictions that need the hypergeometric function.
    "customer_clv_predictions": pa.schema(
        [
            ("run_id", pa.string()),
            ("customer_id", pa.string()),
            ("expected_purchases", pa.float64()),
            ("expected_spend_per_purchase", pa.float64()),
        ]
    ),
}

# ---------------------------------------------------------------- LLM product segmentation
# Names and columns follow the design dashboards already read; keep them.
PRODUCT_SEGMENTATION_TABLES: dict[str, pa.Schema] = {
    # One row per run; the counters move as LLM responses arrive and are committed as they change.
    "product_segment_runs": pa.schema(
        [
            ("id", pa.string()),  # RUN_<ISO>_<hash>
            ("created_at", _TS),
            ("updated_at", _TS),
            ("category", pa.string()),
            ("stage", pa.string()),  # init, extraction, consolidation, refinement, done, failed, abandoned
            ("seg_batches_done", pa.int64()),
            ("seg_batches_total", pa.int64()),
            ("con_batches_done", pa.int64()),
            ("con_batches_total", pa.int64()),
            ("ref_batches_done", pa.int64()),
            ("ref_batches_total", pa.int64()),
            ("calls_done", pa.int64()),
            ("calls_total", pa.int64()),
            ("percent", pa.float64()),
            ("total_products", pa.int64()),
            ("processed_products", pa.int64()),
            ("tokens_estimated", pa.bool_()),  # the run's token counts are estimates (offline provider)
            ("llm_config", pa.string()),  # JSON: provider, model, temperature, concurrency, timeout
            ("processing_params", pa.string()),  # JSON: batch sizes, consolidation levels, attempts...
            ("result_summary", pa.string()),  # JSON: counts, cache hits, invented ids, failure reason
            # The process running it and its heartbeat (python_jobs/warehouse/run_owner.py).
            ("owner_host", pa.string()),
            ("owner_pid", pa.int64()),
            ("owner_started_at", _TS),
            ("heartbeat_at", _TS),
        ]
    ),
    # One row per taxonomy entry of a run, at every stage of its making.
    "product_segment_taxonomies": pa.schema(
        [
            ("id", pa.string()),
            ("run_id", pa.string()),
            ("segment_name", pa.string()),
            ("definition", pa.string()),
            (
                "stage",
                pa.string(),
            ),  # init, system, extraction, consolidation_l0, consolidation_l1, ..., final
            ("created_at", _TS),
        ]
    ),
    # One row per run and product: the placeholder at start, the extraction's taxonomy, then the refined one.
    "product_segment_assignments": pa.schema(
        [
            ("run_id", pa.string()),
            ("product_id", pa.string()),  # raw.products.product_id (bigint in tables written before)
            ("taxonomy_id_initial", pa.string()),
            ("taxonomy_id_refined", pa.string()),
        ]
    ),
    # One light index row per archived LLM interaction; the prompt and response live in the archive file.
    "product_segment_llm_interactions": pa.schema(
        [
            ("id", pa.string()),
            ("run_id", pa.string()),
            ("file_path", pa.string()),
            ("cache_key", pa.string()),
            ("created_at", _TS),
            # Tokens of the archived attempt (null for a cache hit: nothing was spent), and whether a model
            # counted them or the offline provider estimated them (characters / 4).
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("tokens_estimated", pa.bool_()),
        ]
    ),
}
# ---------------------------------------------------------------- experiments (python_jobs/experiments/)
EXPERIMENT_TABLES: dict[str, pa.Schema] = {
    # The segmentation configuration of each experiment, kept as history: every change appends a row (never an
    # update), and the config in force is the latest row (int_experiment_segmentation_config_current).
    "experiment_segmentation_config": pa.schema(
        [
            ("experiment_id", pa.string()),
            ("mode", pa.string()),  # disabled | manual | auto
            ("segment_by", pa.string()),  # JSON list of context fields, in order: ["source", "device"]
            ("min_samples_per_segment", pa.int64()),
            ("auto_activation", pa.bool_()),
            ("auto_activation_threshold", pa.int64()),  # visitors a day (7-day mean)
            ("changed_at", _TS),
            ("changed_by", pa.string()),  # cli | auto_activation | recommendation <id>
        ]
    ),
    # One row per distinct user-agent string ever seen, parsed once by the parse_user_agents job.
    "user_agent_lookup": pa.schema(
        [
            ("user_agent", pa.string()),
            ("device", pa.string()),  # mobile | tablet | desktop | bot | unknown
            ("os", pa.string()),
            ("browser", pa.string()),
            ("parser", pa.string()),  # the library and version that parsed it
            ("run_id", pa.string()),
            ("parsed_at", _TS),
        ]
    ),
}

# ---------------------------------------------------------------- text embeddings (python_jobs/embeddings/)
EMBEDDING_TABLES: dict[str, pa.Schema] = {
    # One row per backend model and text content: a text already embedded by a model is never embedded again.
    "text_embeddings": pa.schema(
        [
            ("content_hash", pa.string()),  # sha256 of the text
            ("backend_name", pa.string()),  # tfidf | minilm
            ("backend_model", pa.string()),  # the model (for tfidf: its version, seed and corpus)
            ("dimensions", pa.int64()),
            ("vector", pa.string()),  # base64 of the float32 little-endian values
            ("created_at", _TS),
        ]
    ),
}

# ---------------------------------------------------------------- deal packages (python_jobs/deal_packages/)
DEAL_PACKAGE_TABLES: dict[str, pa.Schema] = {
    # One row per run: written `running` at the start, then `succeeded` with everything else in one transaction
    # (or `failed` with the error).
    "deal_package_runs": pa.schema(
        [
            ("run_id", pa.string()),
            ("started_at", _TS),
            ("finished_at", _TS),
            ("status", pa.string()),  # running | succeeded | failed
            ("parameters", pa.string()),  # JSON: method, sizes, soft assignments, seed, prompt template
            ("embedding_backend", pa.string()),  # tfidf | minilm
            ("embedding_model", pa.string()),
            ("embedding_dimensions", pa.int64()),
            ("llm_provider", pa.string()),
            ("llm_model", pa.string()),
            ("deals_total", pa.int64()),
            (
                "texts_embedded",
                pa.int64(),
            ),  # distinct texts embedded by this run (the rest came from the cache)
            ("clusters_total", pa.int64()),
            ("clusters_skipped", pa.int64()),  # no valid proposal after every attempt
            ("packages_total", pa.int64()),
            ("deals_unclustered", pa.int64()),  # in clusters under min_cluster_size
            ("invented_deal_ids", pa.int64()),  # ids a model proposed that were not its cluster's, dropped
            ("llm_calls", pa.int64()),
            ("llm_cache_hits", pa.int64()),
            ("result_summary", pa.string()),  # JSON: unclustered deal ids, skipped clusters and why, BIC by k
            ("error_message", pa.string()),
        ]
    ),
    # One row per run and cluster, kept, dropped (too small) or skipped (no valid proposal).
    "deal_package_clusters": pa.schema(
        [
            ("run_id", pa.string()),
            ("cluster_id", pa.int64()),
            ("component", pa.int64()),  # the mixture component (or k-means cluster) it was split from
            ("deal_count", pa.int64()),
            ("cluster_status", pa.string()),  # packaged | skipped | too_small
            ("skip_reason", pa.string()),
            ("distinctive_words", pa.string()),  # JSON array
            ("deal_ids", pa.string()),  # JSON array of its primary members
        ]
    ),
    # One row per run and package.
    "deal_packages": pa.schema(
        [
            ("run_id", pa.string()),
            ("package_id", pa.string()),  # <run_id>-<cluster>-<n>
            ("cluster_id", pa.int64()),
            ("package_name", pa.string()),
            ("reasoning", pa.string()),
            ("is_offline", pa.bool_()),  # proposed by the offline rule, not a model
            ("llm_model", pa.string()),
            ("llm_cache_hit", pa.bool_()),
        ]
    ),
    # One row per run, package and deal.
    "deal_package_members": pa.schema(
        [
            ("run_id", pa.string()),
            ("package_id", pa.string()),
            ("deal_id", pa.string()),
            ("is_soft_assignment", pa.bool_()),  # joined through a soft assignment, not its own cluster
        ]
    ),
}

PRODUCT_RUN_STAGES = ("init", "extraction", "consolidation", "refinement", "done", "failed", "abandoned")
CLUSTERING_RUN_STATUSES = ("running", "succeeded", "failed", "abandoned")
DEAL_PACKAGE_RUN_STATUSES = ("running", "succeeded", "failed")
DEAL_PACKAGE_CLUSTER_STATUSES = ("packaged", "skipped", "too_small")

BOOTSTRAP_STABILITY_LEVELS = ("unstable", "doubtful", "stable", "highly_stable")


def add_missing_columns(session: Session, table: str, schema: pa.Schema) -> list[str]:
    """Add to an existing `ml` table the columns of `schema` it lacks (all nullable); returns their names.

    Tables written before a column was defined get it, empty, instead of refusing every later write.
    """
    existing = set(session.column_names(ML_SCHEMA, table))
    added = [field for field in schema if field.name not in existing]
    for field in added:
        session.execute(
            f'alter table "{ML_SCHEMA}"."{table}" add column "{field.name}" {session.column_type(field.type)}'
        )
    return [field.name for field in added]
