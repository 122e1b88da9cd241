-- Fails with every axis whose segment sizes do not add up to the whole population.
with

summary as (

    select * from {{ ref('segment_summary') }}

),

population as (

    select count(*) as customers from {{ ref('customer_profiles') }}

),

axes as (

    select
        axis_name,
        sum(customers) as customers
    from summary
    group by axis_name

)

select
    axes.axis_name,
    axes.customers,
    population.customers as population
from axes
cross join population
where axes.customers != population.customers
