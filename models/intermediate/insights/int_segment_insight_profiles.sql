-- One row per axis and segment: the averages of its customers' profiles and features that the segment insights
-- describe it by (how to reach them, how they buy). Aggregates only: the insights job never reads a customer row.
with

assignments as (

    select * from {{ ref('int_customers_assigned_to_segments') }}

),

profiles as (

    select * from {{ ref('customer_profiles') }}

),

features as (

    select * from {{ ref('customer_features') }}

),

averaged as (

    select
        assignments.axis_name,
        assignments.segment_name,
        count(*) as customers,
        avg(case when profiles.is_marketing_opt_in then 1.0 else 0.0 end) as marketing_opt_in_share,
        avg(cast(profiles.total_orders as {{ type_double() }})) as average_orders,
        avg(cast(profiles.average_order_value as {{ type_double() }})) as average_order_value,
        avg(cast(profiles.days_since_last_purchase as {{ type_double() }})) as average_days_since_last_purchase,
        avg(cast(profiles.churn_risk as {{ type_double() }})) as average_churn_risk,
        avg(cast(features.discounted_item_share as {{ type_double() }})) as discounted_item_share,
        avg(cast(features.weekend_order_share as {{ type_double() }})) as weekend_order_share,
        avg(cast(features.email_ticket_share as {{ type_double() }})) as email_ticket_share,
        avg(cast(features.chat_ticket_share as {{ type_double() }})) as chat_ticket_share,
        avg(cast(features.phone_ticket_share as {{ type_double() }})) as phone_ticket_share
    from assignments
    inner join profiles
        on assignments.customer_id = profiles.customer_id
    left join features
        on assignments.customer_id = features.customer_id
    group by assignments.axis_name, assignments.segment_name

),

typed as (

    select
        axis_name,
        segment_name,
        cast(customers as bigint) as customers,
        cast(marketing_opt_in_share as {{ type_double() }}) as marketing_opt_in_share,
        average_orders,
        average_order_value,
        average_days_since_last_purchase,
        average_churn_risk,
        discounted_item_share,
        weekend_order_share,
        email_ticket_share,
        chat_ticket_share,
        phone_ticket_share
    from averaged

)

select * from typed
