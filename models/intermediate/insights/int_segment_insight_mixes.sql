-- One row per axis, segment, kind of mix and value: how the segment's spend, orders or customers split over
-- product categories, weekdays, hours (UTC), sales channels and acquisition channels, with each value's share
-- and rank in its mix. Aggregates only: the insights job reads these, never a customer row.
with

assignments as (

    select * from {{ ref('int_customers_assigned_to_segments') }}

),

order_items as (

    select * from {{ ref('int_order_items_attributed') }}

),

orders as (

    select * from {{ ref('int_orders_attributed') }}

),

profiles as (

    select * from {{ ref('customer_profiles') }}

),

customer_category_spend as (

    select
        customer_id,
        product_category,
        sum(net_value) as net_value
    from order_items
    where is_purchase and product_category is not null
    group by customer_id, product_category

),

customer_orders as (

    select
        customer_id,
        cast(extract(dow from ordered_at) as integer) as weekday_number,
        cast(extract(hour from ordered_at) as integer) as order_hour,
        sales_channel
    from orders
    where is_purchase

),

category_mix as (

    select
        assignments.axis_name,
        assignments.segment_name,
        'product_category' as mix_kind,
        customer_category_spend.product_category as mix_value,
        cast(sum(customer_category_spend.net_value) as double precision) as weight
    from assignments
    inner join customer_category_spend
        on assignments.customer_id = customer_category_spend.customer_id
    group by assignments.axis_name, assignments.segment_name, customer_category_spend.product_category

),

weekday_mix as (

    select
        assignments.axis_name,
        assignments.segment_name,
        'order_weekday' as mix_kind,
        cast(customer_orders.weekday_number as varchar) as mix_value,
        cast(count(*) as double precision) as weight
    from assignments
    inner join customer_orders
        on assignments.customer_id = customer_orders.customer_id
    group by assignments.axis_name, assignments.segment_name, customer_orders.weekday_number

),

hour_mix as (

    select
        assignments.axis_name,
        assignments.segment_name,
        'order_hour' as mix_kind,
        cast(customer_orders.order_hour as varchar) as mix_value,
        cast(count(*) as double precision) as weight
    from assignments
    inner join customer_orders
        on assignments.customer_id = customer_orders.customer_id
    group by assignments.axis_name, assignments.segment_name, customer_orders.order_hour

),

sales_channel_mix as (

    select
        assignments.axis_name,
        assignments.segment_name,
        'sales_channel' as mix_kind,
        coalesce(customer_orders.sales_channel, 'unknown') as mix_value,
        cast(count(*) as double precision) as weight
    from assignments
    inner join customer_orders
        on assignments.customer_id = customer_orders.customer_id
    group by assignments.axis_name, assignments.segment_name, coalesce(customer_orders.sales_channel, 'unknown')

),

acquisition_channel_mix as (

    select
        assignments.axis_name,
        assignments.segment_name,
        'acquisition_channel' as mix_kind,
        coalesce(profiles.acquisition_channel, 'unknown') as mix_value,
        cast(count(*) as double precision) as weight
    from assignments
    inner join profiles
        on assignments.customer_id = profiles.customer_id
    group by assignments.axis_name, assignments.segment_name, coalesce(profiles.acquisition_channel, 'unknown')

),

mixes as (

    select * from category_mix
    where weight > 0
    union all
    select * from weekday_mix
    union all
    select * from hour_mix
    union all
    select * from sales_channel_mix
    union all
    select * from acquisition_channel_mix

),

ranked as (

    select
        axis_name,
        segment_name,
        mix_kind,
        mix_value,
        weight,
        weight / sum(weight) over (partition by axis_name, segment_name, mix_kind) as mix_share,
        row_number() over (
            partition by axis_name, segment_name, mix_kind
            order by weight desc, mix_value asc
        ) as mix_rank
    from mixes

)

select * from ranked
