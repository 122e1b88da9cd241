with

source as (

    select * from {{ source('ml', 'segment_definitions') }}

),

renamed as (

    select
        run_id,
        axis_name,
        segment_id,
        segment_name,
        defining_features,
        sample_customers,
        sample_share
    from source

)

select * from renamed
