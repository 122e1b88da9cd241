-- Usable rows only: the rest are in quarantined_raw_rows, with the reason.
with

checked as (

    select * from {{ ref('base_raw__order_items') }}

),

usable as (

    select
        order_item_id,
        order_id,
        product_category,
        quantity,
        unit_price,
        discount_amount,
        is_returned
    from checked
    where quarantine_reason is null

)

select * from usable
