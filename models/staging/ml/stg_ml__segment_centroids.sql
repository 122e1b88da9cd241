with

source as (

    select * from {{ source('ml', 'segment_centroids') }}

),

renamed as (

    select
        run_id,
        axis_name,
        segment_id,
        feature_name,
        centroid_value
    from source

)

select * from renamed
