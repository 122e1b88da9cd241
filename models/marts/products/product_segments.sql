-- Every product of the latest finished (`done`) product segmentation run of each category, with the segment of
-- the refined taxonomy it ends in.
{%- set out_of_scope_segment = modules.segments.OUT_OF_SCOPE_SEGMENT %}
{%- set unassigned_segment = modules.segments.UNASSIGNED_SEGMENT %}

with

taxonomies as (

    select * from {{ ref('stg_ml__product_segment_taxonomies') }}

),

assignments as (

    select * from {{ ref('stg_ml__product_segment_assignments') }}

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

latest_done_runs as (

    select * from {{ ref('int_product_segment_runs_latest_done') }}

),

segmented as (

    select
        assignments.product_id,
        products.title,
        products.brand,
        products.price,
        latest_done_runs.category,
        latest_done_runs.run_id,
        assignments.taxonomy_id_refined as taxonomy_id,
        taxonomies.segment_name,
        taxonomies.segment_definition
    from latest_done_runs
    inner join assignments
        on latest_done_runs.run_id = assignments.run_id
    left join taxonomies
        on
            assignments.taxonomy_id_refined = taxonomies.taxonomy_id
            and assignments.run_id = taxonomies.run_id
    -- A product dropped from the catalogue since the run keeps its row, without a title.
    left join products
        on assignments.product_id = products.product_id

),

final as (

    select
        cast(product_id as {{ type_text() }}) as product_id,
        cast(title as {{ type_text() }}) as title,
        cast(brand as {{ type_text() }}) as brand,
        cast(price as numeric(18, 2)) as price,
        cast(category as {{ type_text() }}) as category,
        cast(run_id as {{ type_text() }}) as run_id,
        cast(taxonomy_id as {{ type_text() }}) as taxonomy_id,
        cast(segment_name as {{ type_text() }}) as segment_name,
        cast(segment_definition as {{ type_text() }}) as segment_definition,
        cast(coalesce(segment_name = '{{ out_of_scope_segment }}', false) as boolean) as is_out_of_scope,
        cast(coalesce(segment_name = '{{ unassigned_segment }}', false) as boolean) as is_unassigned
    from segmented

)

select * from final
