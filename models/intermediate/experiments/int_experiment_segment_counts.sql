-- What the Thompson sampler and the sample-ratio check read: per experiment, segment, variant and local day of
-- assignment, the visitors assigned and those of them who converted after their assignment. Every variant of an
-- experiment appears on every day of every one of its segments, with 0 when nobody was assigned to it there.
with

segment_keys as (

    select * from {{ ref('int_experiment_segment_keys') }}

),

contexts as (

    select * from {{ ref('int_experiment_contexts') }}

),

conversions as (

    select * from {{ ref('stg_raw__experiment_conversions') }}

),

variants as (

    select * from {{ ref('stg_raw__experiment_variants') }}

),

config as (

    select * from {{ ref('int_experiment_segmentation_config_current') }}

),

-- A visitor converted when any of their conversions in the experiment came at or after their assignment.
converted_visitors as (

    select distinct
        contexts.experiment_id,
        contexts.visitor_id
    from contexts
    inner join conversions
        on
            contexts.experiment_id = conversions.experiment_id
            and contexts.visitor_id = conversions.visitor_id
            and contexts.assigned_at <= conversions.converted_at

),

observed as (

    select
        segment_keys.experiment_id,
        segment_keys.segment_key,
        segment_keys.variant_id,
        segment_keys.assigned_on,
        count(*) as assignments,
        count(converted_visitors.visitor_id) as conversions
    from segment_keys
    left join converted_visitors
        on
            segment_keys.experiment_id = converted_visitors.experiment_id
            and segment_keys.visitor_id = converted_visitors.visitor_id
    group by segment_keys.experiment_id, segment_keys.segment_key, segment_keys.variant_id, segment_keys.assigned_on

),

segment_days as (

    select distinct
        experiment_id,
        segment_key,
        assigned_on
    from observed

),

counted as (

    select
        segment_days.experiment_id,
        segment_days.segment_key,
        variants.variant_id,
        segment_days.assigned_on,
        config.min_samples_per_segment,
        coalesce(observed.assignments, 0) as assignments,
        coalesce(observed.conversions, 0) as conversions
    from segment_days
    inner join variants
        on segment_days.experiment_id = variants.experiment_id
    inner join config
        on segment_days.experiment_id = config.experiment_id
    left join observed
        on
            segment_days.experiment_id = observed.experiment_id
            and segment_days.segment_key = observed.segment_key
            and segment_days.assigned_on = observed.assigned_on
            and variants.variant_id = observed.variant_id

)

select * from counted
