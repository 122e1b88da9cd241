-- Usable rows only: the rest are in quarantined_raw_rows, with the reason.
with

checked as (

    select * from {{ ref('base_raw__orders') }}

),

usable as (

    select
        order_id,
        customer_id,
        order_status,
        sales_channel,
        order_total,
        ordered_at
    from checked
    where quarantine_reason is null

)

select * from usable
