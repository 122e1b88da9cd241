-- Each customer's revenue as of observation_end, gross and net of what went back (returned lines, refund lines and
-- refunds), as defined in the `order_value` doc: one row per customer with a completed order or a refund.
with

valued_orders as (

    select * from {{ ref('int_orders_valued') }}

),

aggregated as (

    select
        customer_id,
        sum(gross_value) as gross_revenue,
        sum(returned_value) as returned_value,
        sum(net_value) as net_revenue,
        -- Never below 0: refunds of purchases made before the window can outweigh the purchases in it.
        greatest(sum(net_value), 0) as lifetime_value
    from valued_orders
    group by customer_id

)

select * from aggregated
