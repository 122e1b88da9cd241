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

-- Each customer's purchases counted per weekday, hour and sales channel once, before the join to the assignments
-- (a customer sits in one segment of each of the 13 axes).
customer_order_mix as (

    select
        customer_id,
        mix_kind,
        mix_value,
        count(*) as orders
    from (
        select
            customer_id,
            'order_weekday' as mix_kind,
            cast(cast({{ day_of_week("ordered_at") }} as integer) as {{ type_text() }}) as mix_value
        from orders
        where is_purchase
        union all
        select
            customer_id,
            'order_hour' as mix_kind,
            cast(cast(extract(hour from ordered_at) as integer) as {{ type_text() }}) as mix_value
        from orders
        where is_purchase
        union all
        select
            customer_id,
            'sales_channel' as mix_kind,
            coalesce(sales_channel, 'unknown') as mix_value
        from orders
        where is_purchase
    ) as order_values
    group by customer_id, mix_kind, mix_value

),

category_mix as (

    select
        assignments.axis_name,
        assignments.segment_name,
        'product_category' as mix_kind,
        customer_category_spend.product_category as mix_value,
        cast(sum(customer_category_spend.net_value) as {{ type_double() }}) as weight
    from assignments
    inner join customer_category_spend
        on assignments.customer_id = customer_category_spend.customer_id
    group by assignments.axis_name, assignments.segment_name, customer_category_spend.product_category

),

order_mix as (

    select
        assignments.axis_name,
        assignments.segment_name,
        customer_order_mix.mix_kind,
        customer_order_mix.mix_value,
        cast(sum(customer_order_mix.orders) as {{ type_double() }}) as weight
    from assignments
    inner join customer_order_mix
        on assignments.customer_id = customer_order_mix.customer_id
    group by
        assignments.axis_name,
        assignments.segment_name,
        customer_order_mix.mix_kind,
        customer_order_mix.mix_value

),

acquisition_channel_mix as (

    select
        assignments.axis_name,
        assignments.segment_name,
        'acquisition_channel' as mix_kind,
        coalesce(profiles.acquisition_channel, 'unknown') as mix_value,
        cast(count(*) as {{ type_double() }}) as weight
    from assignments
    inner join profiles
        on assignments.customer_id = profiles.customer_id
    group by assignments.axis_name, assignments.segment_name, coalesce(profiles.acquisition_channel, 'unknown')

),

mixes as (

    select * from category_mix
    where weight > 0
    union all
    select * from order_mix
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
