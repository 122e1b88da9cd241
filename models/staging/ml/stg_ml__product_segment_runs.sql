with

source as (

    select * from {{ source('ml', 'product_segment_runs') }}

),

renamed as (

    select
        id as run_id,
        category,
        -- Matches stg_raw__products.category_key, whatever case the run was started with.
        {{ clean_enum('category') }} as category_key,
        stage,
        seg_batches_done,
        seg_batches_total,
        con_batches_done,
        con_batches_total,
        ref_batches_done,
        ref_batches_total,
        calls_done,
        calls_total,
        percent,
        total_products,
        processed_products,
        llm_config,
        processing_params,
        result_summary,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from source

)

select * from renamed
