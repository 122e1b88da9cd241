-- Fails with every product of a done product segmentation run whose refined taxonomy entry is missing, belongs
-- to another run, or is not part of the run's final taxonomy: an entry at stage `final` or `system`, or the
-- `__UNASSIGNED__` placeholder still at `init` (a product may stay unassigned; it is counted, not hidden).
{%- set unassigned_segment = modules.segments.UNASSIGNED_SEGMENT %}

with

runs as (

    select * from {{ ref('stg_ml__product_segment_runs') }}

),

taxonomies as (

    select * from {{ ref('stg_ml__product_segment_taxonomies') }}

),

assignments as (

    select * from {{ ref('stg_ml__product_segment_assignments') }}

),

done_assignments as (

    select assignments.*
    from assignments
    inner join runs
        on assignments.run_id = runs.run_id
    where runs.stage = 'done'

)

select
    done_assignments.run_id,
    done_assignments.product_id,
    done_assignments.taxonomy_id_refined,
    taxonomies.run_id as taxonomy_run_id,
    taxonomies.segment_name,
    taxonomies.stage
from done_assignments
left join taxonomies
    on done_assignments.taxonomy_id_refined = taxonomies.taxonomy_id
where
    taxonomies.taxonomy_id is null
    or taxonomies.run_id != done_assignments.run_id
    or not (
        taxonomies.stage in ('final', 'system')
        or (taxonomies.stage = 'init' and taxonomies.segment_name = '{{ unassigned_segment }}')
    )
