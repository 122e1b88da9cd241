-- Completed-order metrics per customer as of observation_end, on the orders' net values (the `order_value` doc).
-- One row per customer with a completed order.
with

valued_orders as (

    select * from {{ ref('int_orders_valued') }}
    where is_purchase

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

orders_dated as (

    select
        valued_orders.customer_id,
        valued_orders.net_value,
        valued_orders.ordered_at,
        {{ iso_day_of_week("valued_orders.ordered_at") }} in (6, 7) as is_weekend,
        extract(month from valued_orders.ordered_at) in (11, 12) as is_holiday_season,
        {{ dbt.datediff('valued_orders.order_date', 'observation_window.observation_end', 'day') }}
            as days_before_end
    from valued_orders
    cross join observation_window

),

aggregated as (

    select
        customer_id,
        count(*) as total_orders,
        -- Never below 0 (a refund taken by a purchase can outweigh it), and so are the spends below: features
        -- take their logarithm.
        greatest({{ money_average('net_value') }}, 0) as average_order_value,
        greatest(max(net_value), 0) as max_order_value,
        {{ safe_divide('count(*) filter (where is_weekend)', 'count(*)') }} as weekend_order_share,
        {{ safe_divide('count(*) filter (where is_holiday_season)', 'count(*)') }} as holiday_season_order_share,
        greatest(coalesce(sum(net_value) filter (where days_before_end < 180), 0), 0) as spend_last_180d,
        greatest(coalesce(sum(net_value) filter (where days_before_end >= 180 and days_before_end < 360), 0), 0)
            as spend_prior_180d,
        count(*) filter (where days_before_end < 180) as orders_last_180d,
        count(*) filter (where days_before_end >= 180 and days_before_end < 360) as orders_prior_180d,
        count(*) filter (where days_before_end >= 180) as orders_before_last_180d,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders_dated
    group by customer_id

)

select * from aggregated
