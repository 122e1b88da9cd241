-- Visitors per experiment and day (in the experiment's time zone), with the trailing 7-day mean: for the whole
-- experiment (segment `all`) and for each of its manual segments. Days without a visitor count as 0.
{%- set pooled = modules.experiments.POOLED_SEGMENT_KEY %}

with recursive

segment_keys as (

    select * from {{ ref('int_experiment_segment_keys') }}

),

experiment_days as (

    select
        experiment_id,
        min(assigned_on) as first_day,
        max(assigned_on) as last_day
    from segment_keys
    group by experiment_id

),

calendar as (

    select
        experiment_id,
        first_day as activity_date,
        last_day
    from experiment_days

    union all

    select
        experiment_id,
        cast({{ dbt.dateadd('day', 1, 'activity_date') }} as date) as activity_date,
        last_day
    from calendar
    where activity_date < last_day

),

-- Every assignment counts once for the whole experiment and once for its segment when it has one.
visits as (

    select
        experiment_id,
        '{{ pooled }}' as segment_key,
        assigned_on
    from segment_keys

    union all

    select
        experiment_id,
        segment_key,
        assigned_on
    from segment_keys
    where segment_key != '{{ pooled }}'

),

daily_visitors as (

    select
        experiment_id,
        segment_key,
        assigned_on as activity_date,
        count(*) as visitors
    from visits
    group by experiment_id, segment_key, assigned_on

),

experiment_segments as (

    select distinct
        experiment_id,
        segment_key
    from visits

),

segment_days as (

    select
        experiment_segments.experiment_id,
        experiment_segments.segment_key,
        calendar.activity_date,
        cast(coalesce(daily_visitors.visitors, 0) as bigint) as visitors
    from experiment_segments
    inner join calendar
        on experiment_segments.experiment_id = calendar.experiment_id
    left join daily_visitors
        on
            experiment_segments.experiment_id = daily_visitors.experiment_id
            and experiment_segments.segment_key = daily_visitors.segment_key
            and calendar.activity_date = daily_visitors.activity_date

),

weekly_windows as (

    select
        experiment_id,
        segment_key,
        activity_date,
        visitors,
        cast(sum(visitors) over trailing_week as bigint) as trailing_7_day_visitors,
        cast(count(*) over trailing_week as integer) as days_in_window
    from segment_days
    window trailing_week as (
        partition by experiment_id, segment_key
        order by activity_date
        rows between 6 preceding and current row
    )

),

traffic_stats as (

    select
        cast(experiment_id as {{ type_text() }}) as experiment_id,
        cast(segment_key as {{ type_text() }}) as segment_key,
        segment_key = '{{ pooled }}' as is_whole_experiment,
        activity_date,
        visitors,
        trailing_7_day_visitors,
        cast(trailing_7_day_visitors as {{ type_double() }}) / 7 as trailing_7_day_mean_visitors,
        days_in_window
    from weekly_windows

)

select * from traffic_stats
