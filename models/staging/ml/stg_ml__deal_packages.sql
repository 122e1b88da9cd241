with

source as (

    select * from {{ source('ml', 'deal_packages') }}

),

renamed as (

    select
        run_id,
        package_id,
        cluster_id,
        package_name,
        reasoning,
        is_offline,
        llm_model,
        llm_cache_hit
    from source

)

select * from renamed
