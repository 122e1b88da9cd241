-- Fails with every product assignment whose initial or refined taxonomy entry belongs to another run than the
-- assignment's own (that the entries exist at all is the relationships tests' job).
with

taxonomies as (

    select * from {{ ref('stg_ml__product_segment_taxonomies') }}

),

assignments as (

    select * from {{ ref('stg_ml__product_segment_assignments') }}

),

initial_entries as (

    select
        assignments.run_id,
        assignments.product_id,
        'initial' as assignment_kind,
        taxonomies.taxonomy_id,
        taxonomies.run_id as taxonomy_run_id
    from assignments
    inner join taxonomies
        on assignments.taxonomy_id_initial = taxonomies.taxonomy_id

),

refined_entries as (

    select
        assignments.run_id,
        assignments.product_id,
        'refined' as assignment_kind,
        taxonomies.taxonomy_id,
        taxonomies.run_id as taxonomy_run_id
    from assignments
    inner join taxonomies
        on assignments.taxonomy_id_refined = taxonomies.taxonomy_id

),

entries as (

    select * from initial_entries
    union all
    select * from refined_entries

)

select * from entries
where taxonomy_run_id != run_id
