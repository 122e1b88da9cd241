-- What each purchase was worth, gross and net of what went back: one row per completed order, plus one per refund
-- that no earlier purchase in the window can take. See the `order_value` doc for the definitions.
with

orders as (

    select * from {{ ref('int_orders_attributed') }}
    where is_purchase or is_refund

),

-- The lines of purchases, attributed and valued once, in int_order_items_attributed.
order_items as (

    select * from {{ ref('int_order_items_attributed') }}
    where is_purchase

),

line_values as (

    select
        order_id,
        count(*) as item_lines,
        sum(case when is_refund_line then returned_value else 0 end) as refund_line_value,
        sum(returned_value) as line_returned_value
    from order_items
    group by order_id

),

-- Only a customer with a refund needs their orders put in time order: everyone else's purchases took none.
customers_with_refunds as (

    select distinct customer_id
    from orders
    where is_refund

),

-- Purchases and refunds of a customer in time order (a purchase before a refund of the same moment): each
-- refund carries the number of purchases before it, i.e. the number of the purchase it gives money back on.
timeline as (

    select
        order_id,
        customer_id,
        is_refund,
        ordered_at,
        order_date,
        returned_value as refund_value,
        sum(case when is_refund then 0 else 1 end) over (
            partition by customer_id
            order by ordered_at, is_refund, order_id
            rows between unbounded preceding and current row
        ) as purchase_number
    from orders
    where customer_id in (select customers_with_refunds.customer_id from customers_with_refunds)

),

refunds_by_purchase as (

    select
        customer_id,
        purchase_number,
        sum(refund_value) as refund_value
    from timeline
    where is_refund and purchase_number > 0
    group by customer_id, purchase_number

),

refunds_by_purchase_order as (

    select
        timeline.order_id,
        refunds_by_purchase.refund_value
    from timeline
    inner join refunds_by_purchase
        on
            timeline.customer_id = refunds_by_purchase.customer_id
            and timeline.purchase_number = refunds_by_purchase.purchase_number
    where not timeline.is_refund

),

purchases as (

    select
        orders.order_id,
        orders.customer_id,
        true as is_purchase,
        orders.ordered_at,
        orders.order_date,
        coalesce(line_values.item_lines, 0) as item_lines,
        -- The total is what was charged, after discounts and net of the refund lines in the order (an export's
        -- total is the sum of its lines' amounts): those lines are added back to give what was sold.
        orders.order_total + coalesce(line_values.refund_line_value, 0) as gross_value,
        coalesce(line_values.line_returned_value, 0) as line_returned_value,
        coalesce(refunds_by_purchase_order.refund_value, 0) as refunded_later_value
    from orders
    left join line_values
        on orders.order_id = line_values.order_id
    left join refunds_by_purchase_order
        on orders.order_id = refunds_by_purchase_order.order_id
    where not orders.is_refund

),

unmatched_refunds as (

    select
        order_id,
        customer_id,
        false as is_purchase,
        ordered_at,
        order_date,
        0 as item_lines,
        cast(0 as numeric(18, 2)) as gross_value,
        cast(0 as numeric(18, 2)) as line_returned_value,
        refund_value as refunded_later_value
    from timeline
    where is_refund and purchase_number = 0

),

purchases_and_refunds as (

    select * from purchases
    union all
    select * from unmatched_refunds

),

valued as (

    select
        order_id,
        customer_id,
        is_purchase,
        ordered_at,
        order_date,
        item_lines,
        cast(gross_value as numeric(18, 2)) as gross_value,
        cast(line_returned_value as numeric(18, 2)) as line_returned_value,
        cast(refunded_later_value as numeric(18, 2)) as refunded_later_value,
        cast(line_returned_value + refunded_later_value as numeric(18, 2)) as returned_value,
        cast(gross_value - line_returned_value - refunded_later_value as numeric(18, 2)) as net_value
    from purchases_and_refunds

)

select * from valued
