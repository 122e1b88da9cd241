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

contexts as (

    select * from {{ ref('int_experiment_contexts') }}

),

config as (

    select * from {{ ref('int_experiment_segmentation_config_current') }}

),

cluster_models as (

    select * from {{ ref('stg_ml__experiment_cluster_models') }}

),

traffic_stats as (

    select * from {{ ref('experiment_traffic_stats') }}

),

auto_activations as (

    select * from {{ ref('stg_ml__experiment_auto_activations') }}

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
        cast(sum(conversions) as {{ type_double() }}) / nullif(sum(assignments), 0) as conversion_rate
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

-- The end of each experiment's data: what a model's age is measured against, so that the same data give the same
-- alerts whenever the mart is built.
data_ends as (

    select
        experiment_id,
        max(assigned_at) as last_assigned_at,
        max(assigned_on) as last_assigned_on
    from contexts
    group by experiment_id

),

latest_cluster_models as (

    select
        experiment_id,
        model_version,
        trained_at
    from (
        select
            experiment_id,
            model_version,
            trained_at,
            row_number() over (partition by experiment_id order by trained_at desc, model_version desc) as recency
        from cluster_models
    ) as ranked
    where recency = 1

),

latest_whole_experiment_traffic as (

    select
        experiment_id,
        activity_date,
        trailing_7_day_mean_visitors
    from (
        select
            experiment_id,
            activity_date,
            trailing_7_day_mean_visitors,
            row_number() over (partition by experiment_id order by activity_date desc) as recency
        from traffic_stats
        where is_whole_experiment
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
        cast(segment_totals.conversions as {{ type_double() }}) / segment_totals.assignments as observed_value,
        experiment_totals.conversion_rate / 2 as threshold_value,
        'segment ' || segment_totals.segment_key || ' converts '
        || cast(
            round(cast(100.0 * segment_totals.conversions / segment_totals.assignments as {{ type_numeric() }}), 2)
            as {{ type_text() }}
        )
        || '% against '
        || cast(round(cast(100 * experiment_totals.conversion_rate as {{ type_numeric() }}), 2) as {{ type_text() }})
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
        'assignments of ' || cast(sample_ratio_checks.assigned_on as {{ type_text() }}) || ' in '
        || sample_ratio_checks.segment_key
        || ' do not match the weights in force (chi-square p '
        || {{ p_value_text('sample_ratio_checks.p_value') }}
        || '): check the assignment and its logging' as message
    from sample_ratio_checks
    inner join latest_runs
        on sample_ratio_checks.run_id = latest_runs.run_id
    where sample_ratio_checks.is_mismatch

),

---------- an experiment in auto mode whose latest clustering model is more than 7 days older than its data's end
stale_clustering_models as (

    select
        config.experiment_id,
        'stale_clustering_model' as alert_type,
        '{{ experiments.POOLED_SEGMENT_KEY }}' as segment_key,
        data_ends.last_assigned_on as alert_on,
        {{ hours_between('latest_cluster_models.trained_at', 'data_ends.last_assigned_at') }} / 24.0
            as observed_value,
        {{ experiments.CLUSTER_MODEL_MAX_AGE_DAYS }} as threshold_value,
        'the clustering model ' || latest_cluster_models.model_version || ' was trained '
        || cast(
            round(
                cast(
                    {{ hours_between('latest_cluster_models.trained_at', 'data_ends.last_assigned_at') }} / 24.0
                    as {{ type_numeric() }}
                ),
                1
            ) as {{ type_text() }}
        )
        || ' days before the last assignment (over {{ experiments.CLUSTER_MODEL_MAX_AGE_DAYS }}): the clusters '
        || 'may no longer describe the visitors; run `segments experiments cluster ' || config.experiment_id
        || '`' as message
    from config
    inner join latest_cluster_models
        on config.experiment_id = latest_cluster_models.experiment_id
    inner join data_ends
        on config.experiment_id = data_ends.experiment_id
    where
        config.segmentation_mode = 'auto'
        and latest_cluster_models.trained_at
        < data_ends.last_assigned_at - interval '{{ experiments.CLUSTER_MODEL_MAX_AGE_DAYS }} days'

),

---------- auto-activation on, the latest 7-day mean at the threshold, segmentation still disabled and not switched on
-- since the config in force was written (check_eligibility may have switched it on during this build)
auto_activations_due as (

    select
        config.experiment_id,
        'auto_activation_due' as alert_type,
        '{{ experiments.POOLED_SEGMENT_KEY }}' as segment_key,
        latest_whole_experiment_traffic.activity_date as alert_on,
        latest_whole_experiment_traffic.trailing_7_day_mean_visitors as observed_value,
        config.auto_activation_threshold as threshold_value,
        'auto-activation is on and '
        || cast(
            round(cast(latest_whole_experiment_traffic.trailing_7_day_mean_visitors as {{ type_numeric() }}), 1)
            as {{ type_text() }}
        )
        || ' visitors a day (trailing 7-day mean to '
        || cast(latest_whole_experiment_traffic.activity_date as {{ type_text() }})
        || ') reached the threshold of ' || cast(config.auto_activation_threshold as {{ type_text() }})
        || ', but segmentation is still disabled: run `segments experiments check-eligibility`' as message
    from config
    inner join latest_whole_experiment_traffic
        on config.experiment_id = latest_whole_experiment_traffic.experiment_id
    where
        config.auto_activation
        and config.segmentation_mode = 'disabled'
        and latest_whole_experiment_traffic.trailing_7_day_mean_visitors >= config.auto_activation_threshold
        and not exists (
            select 1
            from auto_activations
            where
                auto_activations.experiment_id = config.experiment_id
                and (config.changed_at is null or auto_activations.activated_at > config.changed_at)
        )

),

alerts as (

    select * from low_converting_segments
    union all
    select * from sample_ratio_mismatches
    union all
    select * from stale_clustering_models
    union all
    select * from auto_activations_due

),

typed as (

    select
        cast(experiment_id as {{ type_text() }}) as experiment_id,
        cast(alert_type as {{ type_text() }}) as alert_type,
        cast(segment_key as {{ type_text() }}) as segment_key,
        cast(alert_on as date) as alert_on,
        cast(observed_value as {{ type_double() }}) as observed_value,
        cast(threshold_value as {{ type_double() }}) as threshold_value,
        cast(message as {{ type_text() }}) as message
    from alerts

)

select * from typed
