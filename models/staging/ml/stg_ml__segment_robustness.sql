with

source as (

    select * from {{ source('ml', 'segment_robustness') }}

),

renamed as (

    select
        run_id,
        axis_name,
        segment_id,
        bootstrap_jaccard,
        bootstrap_stability,
        feature_drop_agreement,
        time_window_agreement,
        overall_robustness
    from source

)

select * from renamed
