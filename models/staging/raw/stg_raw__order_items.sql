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
        abs(quantity) as quantity,
        abs(unit_price) as unit_price,
        discount_amount,
        is_returned or is_refund as is_returned,
        is_refund,
        cast(case
            when is_refund then abs(quantity) * abs(unit_price)
            when is_returned then abs(quantity) * unit_price - coalesce(discount_amount, 0)
            else 0
        end as numeric(18, 2)) as returned_value
    from checked
    where quarantine_reason is null

)

select * from usable
