-- The run every segment model reads: the latest run that succeeded. A run that failed, or is still running,
-- never replaces it.
with

runs as (

    select * from {{ ref('stg_ml__segmentation_runs') }}

),

latest as (

    select
        run_id,
        started_at,
        finished_at,
        parameters,
        population_size,
        sample_size
    from runs
    where status = 'succeeded'
    order by finished_at desc, run_id desc
    limit 1

)

select * from latest
