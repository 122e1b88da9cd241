-- Orders up to observation_end, attributed to the canonical customer.
with

orders as (

    select * from {{ ref('stg_raw__orders') }}

),

account_merges as (

    select * from {{ ref('int_customer_merges_resolved') }}

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

attributed as (

    select
        orders.order_id,
        coalesce(account_merges.canonical_customer_id, orders.customer_id) as customer_id,
        orders.customer_id as account_customer_id,
        orders.order_status,
        orders.sales_channel,
        orders.order_total,
        orders.order_status = 'completed' as is_purchase,
        orders.is_refund,
        orders.returned_value,
        orders.ordered_at,
        cast(orders.ordered_at as date) as order_date
    from orders
    cross join observation_window
    left join account_merges
        on orders.customer_id = account_merges.customer_id
    where cast(orders.ordered_at as date) <= observation_window.observation_end

)

select * from attributed
