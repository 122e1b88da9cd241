with

source as (

    select * from {{ source('ml', 'segment_insights') }}

),

renamed as (

    select
        -- ids
        run_id,
        segmentation_run_id,
        axis_name,
        segment_id,
        -- strings
        segment_name,
        actionability_reason,
        executive_summary,
        recommendations,
        expected_roi_assumption,
        confidence,
        confidence_reason,
        llm_model,
        archive_file,
        -- numerics
        cast(what_score as integer) as what_score,
        cast(when_score as integer) as when_score,
        cast(how_score as integer) as how_score,
        cast(who_score as integer) as who_score,
        cast(expected_roi as {{ type_double() }}) as expected_roi,
        -- booleans
        is_clustered,
        is_actionable,
        is_offline,
        cache_hit,
        -- timestamps
        {{ to_utc_timestamp('explained_at') }} as explained_at
    from source

)

select * from renamed
