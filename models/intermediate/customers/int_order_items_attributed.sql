-- Order lines of attributed orders, valued, with their category's reference price.
with

order_items as (

    select * from {{ ref('stg_raw__order_items') }}

),

orders as (

    select * from {{ ref('int_orders_attributed') }}

),

product_categories as (

    select * from {{ ref('product_categories') }}

),

attributed as (

    select
        order_items.order_item_id,
        order_items.order_id,
        orders.customer_id,
        order_items.product_category,
        product_categories.department,
        order_items.quantity,
        order_items.unit_price,
        order_items.discount_amount,
        product_categories.typical_unit_price,
        order_items.quantity * order_items.unit_price as list_value,
        -- A discount the export does not give (NULL) takes nothing off; the line is still valued.
        order_items.quantity * order_items.unit_price - coalesce(order_items.discount_amount, 0) as net_value,
        order_items.is_returned,
        order_items.is_refund as is_refund_line,
        order_items.returned_value,
        order_items.discount_amount > 0 as is_discounted,
        orders.is_purchase,
        orders.order_date
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    left join product_categories
        on order_items.product_category = product_categories.product_category

)

select * from attributed
