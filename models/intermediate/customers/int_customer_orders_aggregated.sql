-- Completed-order metrics per customer as of observation_end, and the customer's revenue gross and net of what
-- went back (returned lines, refund lines and refunds), as defined in the `order_value` doc.
with

valued_orders as (

    select * from {{ ref('int_orders_valued') }}

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

orders_dated as (

    select
        valued_orders.customer_id,
        valued_orders.is_purchase,
        valued_orders.gross_value,
        valued_orders.returned_value,
        valued_orders.net_value,
        valued_orders.ordered_at,
        extract(isodow from valued_orders.ordered_at) in (6, 7) as is_weekend,
        extract(month from valued_orders.ordered_at) in (11, 12) as is_holiday_season,
        {{ dbt.datediff('valued_orders.order_date', 'observation_window.observation_end', 'day') }}
            as days_before_end
    from valued_orders
    cross join observation_window

),

revenue as (

    select
        customer_id,
        sum(gross_value) as gross_revenue,
        sum(returned_value) as returned_value,
        sum(net_value) as net_revenue
    from orders_dated
    group by customer_id

),

purchases as (

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
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders_dated
    where is_purchase
    group by customer_id

),

aggregated as (

    select
        revenue.customer_id,
        coalesce(purchases.total_orders, 0) as total_orders,
        revenue.gross_revenue,
        revenue.returned_value,
        revenue.net_revenue,
        -- Never below 0: refunds of purchases made before the window can outweigh the purchases in it.
        greatest(revenue.net_revenue, 0) as lifetime_value,
        purchases.average_order_value,
        purchases.max_order_value,
        purchases.weekend_order_share,
        purchases.holiday_season_order_share,
        purchases.spend_last_180d,
        purchases.spend_prior_180d,
        purchases.orders_last_180d,
        purchases.orders_prior_180d,
        purchases.first_order_at,
        purchases.last_order_at
    from revenue
    left join purchases
        on revenue.customer_id = purchases.customer_id

)

select * from aggregated
