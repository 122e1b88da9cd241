with

source as (

    select * from {{ source('ml', 'experiment_cluster_features') }}

),

renamed as (

    select

        ----------  ids
        model_version,
        feature_index,

        ---------- strings
        field,
        encoding,
        field_value,

        ---------- numerics
        center,
        scale

    from source

)

select * from renamed
