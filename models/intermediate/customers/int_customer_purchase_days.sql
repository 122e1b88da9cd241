-- One row per customer and purchase day: the day grain of the BG/NBD convention. The first day with a completed
-- order starts the customer's history whatever came back of it (BG/NBD's trial purchase, neither counted as a
-- repeat nor valued); after it, a day whose completed orders all went back (net value 0 or less) is no purchase.
with

orders as (

    select * from {{ ref('int_orders_valued') }}
    where is_purchase

),

order_days as (

    select
        customer_id,
        order_date as purchase_date,
        count(*) as order_count,
        sum(gross_value) as gross_value,
        sum(returned_value) as returned_value,
        sum(net_value) as net_value
    from orders
    group by customer_id, order_date

),

order_days_numbered as (

    select
        *,
        row_number() over (partition by customer_id order by purchase_date) as order_day_number
    from order_days

),

purchase_days as (

    select
        customer_id,
        purchase_date,
        order_count,
        gross_value,
        returned_value,
        net_value
    from order_days_numbered
    where order_day_number = 1 or net_value > 0

),

sequenced as (

    select
        customer_id,
        purchase_date,
        order_count,
        gross_value,
        returned_value,
        net_value,
        row_number() over (partition by customer_id order by purchase_date) as purchase_day_number,
        lag(purchase_date) over (partition by customer_id order by purchase_date) as previous_purchase_date,
        lead(purchase_date) over (partition by customer_id order by purchase_date) as next_purchase_date
    from purchase_days

)

select * from sequenced
