-- One row per customer and day on which they kept something: the day grain of the BG/NBD convention. A day whose
-- completed orders all went back (net value 0 or less) is not a purchase day.
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

purchase_days as (

    select * from order_days
    where net_value > 0

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
