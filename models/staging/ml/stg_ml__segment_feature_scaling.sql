with

source as (

    select * from {{ source('ml', 'segment_feature_scaling') }}

),

renamed as (

    select
        run_id,
        axis_name,
        feature_name,
        feature_mean,
        feature_scale
    from source

)

select * from renamed
