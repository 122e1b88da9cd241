-- Fails with every customer of customer_features that does not have exactly one segment on every axis.
{%- set axis_count = modules.segments.AXES | length %}

with

customers as (

    select customer_id from {{ ref('customer_features') }}

),

assignments as (

    select
        customer_id,
        count(*) as assignments,
        count(distinct axis_name) as axes
    from {{ ref('int_customers_assigned_to_segments') }}
    group by customer_id

)

select
    customers.customer_id,
    coalesce(assignments.assignments, 0) as assignments,
    coalesce(assignments.axes, 0) as axes
from customers
left join assignments
    on customers.customer_id = assignments.customer_id
where
    assignments.customer_id is null
    or assignments.assignments != {{ axis_count }}
    or assignments.axes != {{ axis_count }}
