-- Completed-order metrics per customer as of observation_end.
with

orders as (

    select * from {{ ref('int_orders_attributed') }}
    where is_purchase

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

orders_dated as (

    select
        orders.customer_id,
        orders.order_total,
        orders.ordered_at,
        extract(isodow from orders.ordered_at) in (6, 7) as is_weekend,
        extract(month from orders.ordered_at) in (11, 12) as is_holiday_season,
        {{ dbt.datediff('orders.order_date', 'observation_window.observation_end', 'day') }}
            as days_before_end
    from orders
    cross join observation_window

),

aggregated as (

    select
        customer_id,
        count(*) as total_orders,
        sum(order_total) as lifetime_value,
        {{ money_average('order_total') }} as average_order_value,
        max(order_total) as max_order_value,
        {{ safe_divide('count(*) filter (where is_weekend)', 'count(*)') }} as weekend_order_share,
        {{ safe_divide('count(*) filter (where is_holiday_season)', 'count(*)') }} as holiday_season_order_share,
        coalesce(sum(order_total) filter (where days_before_end < 180), 0) as spend_last_180d,
        coalesce(sum(order_total) filter (where days_before_end >= 180 and days_before_end < 360), 0)
            as spend_prior_180d,
        count(*) filter (where days_before_end < 180) as orders_last_180d,
        count(*) filter (where days_before_end >= 180 and days_before_end < 360) as orders_prior_180d,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders_dated
    group by customer_id

)

select * from aggregated
