-- What needs a marketer's attention in the experiments, one row per alert. Each kind of alert is one CTE of the
-- same columns, unioned at the end: a new kind is a new CTE and one more `union all`.
{%- set experiments = modules.experiments %}

with

daily_counts as (

    select * from {{ ref('int_experiment_segment_counts') }}

),

weight_runs as (

    select * from {{ ref('stg_ml__experiment_weight_runs') }}

),

sample_ratio_checks as (

    select * from {{ ref('stg_ml__experiment_sample_ratio_checks') }}

),

segment_totals as (

    select
        experiment_id,
        segment_key,
        min(min_samples_per_segment) as min_samples_per_segment,
        max(assigned_on) as last_assigned_on,
        sum(assignments) as assignments,
        sum(conversions) as conversions
    from daily_counts
    group by experiment_id, segment_key

),

experiment_totals as (

    select
        experiment_id,
        cast(sum(conversions) as double precision) / nullif(sum(assignments), 0) as conversion_rate
    from segment_totals
    group by experiment_id

),

latest_runs as (

    select
        run_id,
        experiment_id
    from (
        select
            run_id,
            experiment_id,
            row_number() over (partition by experiment_id order by computed_at desc, run_id desc) as recency
        from weight_runs
    ) as ranked
    where recency = 1

),

---------- a segment with enough assignments to judge converting under half the experiment's rate
low_converting_segments as (

    select
        segment_totals.experiment_id,
        'low_converting_segment' as alert_type,
        segment_totals.segment_key,
        segment_totals.last_assigned_on as alert_on,
        cast(segment_totals.conversions as double precision) / segment_totals.assignments as observed_value,
        experiment_totals.conversion_rate / 2 as threshold_value,
        'segment ' || segment_totals.segment_key || ' converts '
        || cast(round(cast(100.0 * segment_totals.conversions / segment_totals.assignments as numeric), 2) as varchar)
        || '% against '
        || cast(round(cast(100 * experiment_totals.conversion_rate as numeric), 2) as varchar)
        || '% for the whole experiment (under half)' as message
    from segment_totals
    inner join experiment_totals
        on segment_totals.experiment_id = experiment_totals.experiment_id
    where
        segment_totals.segment_key != '{{ experiments.POOLED_SEGMENT_KEY }}'
        and segment_totals.assignments >= segment_totals.min_samples_per_segment
        and segment_totals.conversions < 0.5 * experiment_totals.conversion_rate * segment_totals.assignments

),

---------- sample-ratio mismatch on a day, for the experiment (`all`) or a segment, in the latest update's checks
sample_ratio_mismatches as (

    select
        sample_ratio_checks.experiment_id,
        'sample_ratio_mismatch' as alert_type,
        sample_ratio_checks.segment_key,
        sample_ratio_checks.assigned_on as alert_on,
        sample_ratio_checks.p_value as observed_value,
        {{ experiments.SAMPLE_RATIO_ALERT_P_VALUE }} as threshold_value,
        'assignments of ' || cast(sample_ratio_checks.assigned_on as varchar) || ' in '
        || sample_ratio_checks.segment_key
        || ' do not match the weights in force (chi-square p = '
        || cast(sample_ratio_checks.p_value as varchar) || '): check the assignment and its logging' as message
    from sample_ratio_checks
    inner join latest_runs
        on sample_ratio_checks.run_id = latest_runs.run_id
    where sample_ratio_checks.is_mismatch

),

-- Auto clustering and auto-activation (issue 10, their own branch) add here: `stale_clustering_models`
-- (a clustering model older than 7 days) and `auto_activation_due` (eligible with auto-activation on but not
-- active), with the same columns, and one `union all` each below.

alerts as (

    select * from low_converting_segments
    union all
    select * from sample_ratio_mismatches

),

typed as (

    select
        cast(experiment_id as varchar) as experiment_id,
        cast(alert_type as varchar) as alert_type,
        cast(segment_key as varchar) as segment_key,
        cast(alert_on as date) as alert_on,
        cast(observed_value as double precision) as observed_value,
        cast(threshold_value as double precision) as threshold_value,
        cast(message as varchar) as message
    from alerts

)

select * from typed
