with

source as (

    select * from {{ source('ml', 'product_segment_llm_interactions') }}

),

renamed as (

    select
        id as interaction_id,
        run_id,
        file_path,
        cache_key,
        {{ to_utc_timestamp('created_at') }} as created_at
    from source

)

select * from renamed
