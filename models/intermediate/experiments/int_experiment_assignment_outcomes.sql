-- Every assignment with the context fields a recommendation or a clustering reads, and whether the visitor
-- converted in that experiment.
{%- set experiments = modules.experiments %}

with

contexts as (

    select * from {{ ref('int_experiment_contexts') }}

),

conversions as (

    select * from {{ ref('stg_raw__experiment_conversions') }}

),

converted_visitors as (

    select distinct
        experiment_id,
        visitor_id
    from conversions

),

outcomes as (

    select
        contexts.experiment_id,
        contexts.visitor_id,
        contexts.variant_id,
        contexts.assigned_on,
        contexts.channel,
        contexts.source,
        contexts.medium,
        contexts.device,
        contexts.os,
        contexts.browser,
        contexts.country,
        case
            {%- for name, first_hour, last_hour in experiments.HOUR_BUCKETS %}
                when contexts.hour between {{ first_hour }} and {{ last_hour }} then '{{ name }}'
            {%- endfor %}
        end as hour_bucket,
        contexts.day_of_week,
        contexts.engagement_score,
        contexts.drop_risk,
        contexts.time_in_funnel_minutes,
        contexts.previous_opens,
        converted_visitors.visitor_id is not null as converted
    from contexts
    left join converted_visitors
        on
            contexts.experiment_id = converted_visitors.experiment_id
            and contexts.visitor_id = converted_visitors.visitor_id

)

select * from outcomes
