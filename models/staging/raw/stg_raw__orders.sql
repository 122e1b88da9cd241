-- Usable rows only: the rest are in quarantined_raw_rows, with the reason.
with

checked as (

    select * from {{ ref('base_raw__orders') }}

),

usable as (

    select
        order_id,
        customer_id,
        -- A refund is never a purchase, whatever status the export gave it.
        case when is_refund then 'refunded' else order_status end as order_status,
        sales_channel,
        order_total,
        is_refund,
        case when is_refund then -order_total else cast(0 as numeric(18, 2)) end as returned_value,
        ordered_at
    from checked
    where quarantine_reason is null

)

select * from usable
