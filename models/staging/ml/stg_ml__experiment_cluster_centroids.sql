with

source as (

    select * from {{ source('ml', 'experiment_cluster_centroids') }}

),

renamed as (

    select

        ----------  ids
        model_version,
        cluster_id,
        feature_index,

        ---------- numerics
        centroid_value

    from source

)

select * from renamed
