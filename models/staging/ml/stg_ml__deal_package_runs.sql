with

source as (

    select * from {{ source('ml', 'deal_package_runs') }}

),

renamed as (

    select
        run_id,
        started_at,
        finished_at,
        status,
        parameters,
        embedding_backend,
        embedding_model,
        embedding_dimensions,
        llm_provider,
        llm_model,
        deals_total,
        texts_embedded,
        clusters_total,
        clusters_skipped,
        packages_total,
        deals_unclustered,
        invented_deal_ids,
        llm_calls,
        llm_cache_hits,
        result_summary,
        error_message
    from source

)

select * from renamed
