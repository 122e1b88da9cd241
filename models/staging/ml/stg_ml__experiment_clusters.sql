with

source as (

    select * from {{ source('ml', 'experiment_clusters') }}

),

renamed as (

    select

        ----------  ids
        model_version,
        cluster_id,

        ---------- strings
        description as cluster_description,

        ---------- numerics
        visitors as training_visitors

    from source

)

select * from renamed
