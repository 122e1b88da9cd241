with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('order_id') }} as order_id,
        {{ clean_id('customer_id') }} as customer_id,

        ---------- strings
        {{ clean_enum('order_status') }} as order_status,
        {{ clean_enum('sales_channel') }} as sales_channel,

        ---------- numerics
        cast(order_total as numeric(18, 2)) as order_total,

        ---------- timestamps
        {{ to_utc_timestamp('ordered_at') }} as ordered_at

    from source

),

checked as (

    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when customer_id is null then 'missing_customer_id'
            when ordered_at is null then 'missing_timestamp'
            when order_total is null then 'missing_amount'
            when ordered_at > {{ load_time() }} then 'ordered_after_load'
        end as quarantine_reason,
        -- A negative total is money paid back: a refund, usable like any order (see stg_raw__orders).
        coalesce(order_total < 0, false) as is_refund
    from renamed

)

select * from checked
