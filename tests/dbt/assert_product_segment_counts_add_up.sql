-- Fails with every run in the product marts whose product counts do not add up to the run's total_products, in
-- product_segment_summary or in product_segments: no product of a finished run goes missing on the way.
with

runs as (

    select * from {{ ref('stg_ml__product_segment_runs') }}

),

summary_counts as (

    select
        run_id,
        sum(product_count) as summary_products
    from {{ ref('product_segment_summary') }}
    group by run_id

),

segment_counts as (

    select
        run_id,
        count(*) as segmented_products
    from {{ ref('product_segments') }}
    group by run_id

),

compared as (

    select
        coalesce(summary_counts.run_id, segment_counts.run_id) as run_id,
        summary_counts.summary_products,
        segment_counts.segmented_products
    from summary_counts
    full outer join segment_counts
        on summary_counts.run_id = segment_counts.run_id

)

select
    compared.run_id,
    compared.summary_products,
    compared.segmented_products,
    runs.total_products
from compared
left join runs
    on compared.run_id = runs.run_id
where
    compared.summary_products is null
    or compared.segmented_products is null
    or runs.total_products is null
    or compared.summary_products != runs.total_products
    or compared.segmented_products != runs.total_products
