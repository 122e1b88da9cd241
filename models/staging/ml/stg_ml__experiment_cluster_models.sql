with

source as (

    select * from {{ source('ml', 'experiment_cluster_models') }}

),

renamed as (

    select

        ----------  ids
        model_version,
        {{ clean_id('experiment_id') }} as experiment_id,
        run_id,

        ---------- numerics
        clusters,
        silhouette,
        assignments_used,

        ---------- timestamps
        {{ to_utc_timestamp('trained_at') }} as trained_at

    from source

)

select * from renamed
