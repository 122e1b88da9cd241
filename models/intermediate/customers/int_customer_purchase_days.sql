-- One row per customer and day with a completed order: the day grain of the BG/NBD convention.
with

orders as (

    select * from {{ ref('int_orders_attributed') }}
    where is_purchase

),

purchase_days as (

    select
        customer_id,
        order_date as purchase_date,
        count(*) as order_count,
        cast(sum(order_total) as numeric(18, 2)) as day_total
    from orders
    group by customer_id, order_date

),

sequenced as (

    select
        customer_id,
        purchase_date,
        order_count,
        day_total,
        row_number() over (partition by customer_id order by purchase_date) as purchase_day_number,
        lag(purchase_date) over (partition by customer_id order by purchase_date) as previous_purchase_date,
        lead(purchase_date) over (partition by customer_id order by purchase_date) as next_purchase_date
    from purchase_days

)

select * from sequenced
