-- What the Thompson sampler and the sample-ratio check read: per experiment, segment, variant and local day of
-- assignment, the visitors assigned and those of them who converted after their assignment. Every variant of an
-- experiment appears on every day of every one of its segments, with 0 when nobody was assigned to it there.
-- The segment is the manual one, except in auto mode, where it is the visitor's cluster under the experiment's
-- latest clustering model (until it has one, the manual key: `all` when it segments by nothing).
{%- set experiments = modules.experiments %}

with

manual_segment_keys as (

    select * from {{ ref('int_experiment_segment_keys') }}

),

cluster_assignments as (

    select * from {{ ref('int_experiment_cluster_assignments') }}

),

segment_keys as (

    select
        manual_segment_keys.experiment_id,
        manual_segment_keys.visitor_id,
        manual_segment_keys.variant_id,
        manual_segment_keys.assigned_on,
        case
            when manual_segment_keys.segmentation_mode = 'auto' and cluster_assignments.cluster_id is not null
                then
                    '{{ experiments.CLUSTER_SEGMENT_FIELD }}{{ experiments.SEGMENT_KEY_VALUE_SEPARATOR }}'
                    || cast(cluster_assignments.cluster_id as {{ type_text() }})
            else manual_segment_keys.segment_key
        end as segment_key
    from manual_segment_keys
    left join cluster_assignments
        on
            manual_segment_keys.experiment_id = cluster_assignments.experiment_id
            and manual_segment_keys.visitor_id = cluster_assignments.visitor_id

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
