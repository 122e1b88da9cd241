with

source as (

    select * from {{ source('ml', 'segment_insight_runs') }}

),

renamed as (

    select
        -- ids
        run_id,
        segmentation_run_id,
        -- strings
        status,
        llm_config,
        error_message,
        -- numerics
        segments,
        provider_calls,
        cache_hits,
        input_tokens,
        output_tokens,
        tokens_estimated,
        -- timestamps
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('finished_at') }} as finished_at
    from source

)

select * from renamed
