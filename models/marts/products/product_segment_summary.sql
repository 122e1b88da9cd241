-- One row per segment of the final taxonomy of the latest done run of each category, with the system segment
-- (`__OUT_OF_SCOPE__`) and the placeholder (`__UNASSIGNED__`): how many of the run's products end in it.
{%- set out_of_scope_segment = modules.segments.OUT_OF_SCOPE_SEGMENT %}
{%- set unassigned_segment = modules.segments.UNASSIGNED_SEGMENT %}

with

taxonomies as (

    select * from {{ ref('stg_ml__product_segment_taxonomies') }}

),

assignments as (

    select * from {{ ref('stg_ml__product_segment_assignments') }}

),

latest_done_runs as (

    select * from {{ ref('int_product_segment_runs_latest_done') }}

),

product_counts as (

    select
        assignments.run_id,
        assignments.taxonomy_id_refined as taxonomy_id,
        count(*) as product_count
    from assignments
    inner join latest_done_runs
        on assignments.run_id = latest_done_runs.run_id
    group by assignments.run_id, assignments.taxonomy_id_refined

),

-- The run's final taxonomy: the final and system entries, the placeholder, and whatever a product ends in.
summarised as (

    select
        latest_done_runs.category,
        latest_done_runs.run_id,
        latest_done_runs.updated_at as run_finished_at,
        taxonomies.taxonomy_id,
        taxonomies.segment_name,
        taxonomies.segment_definition,
        taxonomies.stage as taxonomy_stage,
        coalesce(product_counts.product_count, 0) as product_count,
        latest_done_runs.total_products as run_total_products
    from latest_done_runs
    inner join taxonomies
        on latest_done_runs.run_id = taxonomies.run_id
    left join product_counts
        on
            taxonomies.run_id = product_counts.run_id
            and taxonomies.taxonomy_id = product_counts.taxonomy_id
    where
        taxonomies.stage in ('final', 'system')
        or taxonomies.segment_name = '{{ unassigned_segment }}'
        or product_counts.taxonomy_id is not null

),

final as (

    select
        cast(category as {{ type_text() }}) as category,
        cast(run_id as {{ type_text() }}) as run_id,
        cast(run_finished_at as timestamp) as run_finished_at,
        cast(taxonomy_id as {{ type_text() }}) as taxonomy_id,
        cast(segment_name as {{ type_text() }}) as segment_name,
        cast(segment_definition as {{ type_text() }}) as segment_definition,
        cast(taxonomy_stage as {{ type_text() }}) as taxonomy_stage,
        cast(segment_name = '{{ out_of_scope_segment }}' as boolean) as is_out_of_scope,
        cast(segment_name = '{{ unassigned_segment }}' as boolean) as is_unassigned,
        cast(product_count as bigint) as product_count,
        cast({{ safe_divide('product_count', 'run_total_products') }} as {{ type_double() }}) as product_share,
        cast(run_total_products as bigint) as run_total_products
    from summarised

)

select * from final
