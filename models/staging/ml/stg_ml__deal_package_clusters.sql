with

source as (

    select * from {{ source('ml', 'deal_package_clusters') }}

),

renamed as (

    select
        run_id,
        cluster_id,
        component,
        deal_count,
        cluster_status,
        skip_reason,
        distinctive_words,
        deal_ids
    from source

)

select * from renamed
