-- The latest finished (`done`) product segmentation run of each category: the run the product marts show.
-- Runs still going and failed runs leave the previous done run in place.
with

runs as (

    select * from {{ ref('stg_ml__product_segment_runs') }}

),

ranked_done_runs as (

    select
        run_id,
        category,
        category_key,
        total_products,
        created_at,
        updated_at,
        row_number() over (
            partition by category_key
            order by updated_at desc, created_at desc, run_id desc
        ) as recency_rank
    from runs
    where stage = 'done'

),

latest_done_runs as (

    select
        run_id,
        category,
        category_key,
        total_products,
        created_at,
        updated_at
    from ranked_done_runs
    where recency_rank = 1

)

select * from latest_done_runs
