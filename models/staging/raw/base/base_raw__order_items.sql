with

source as (

    select * from {{ source('raw', 'order_items') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('order_item_id') }} as order_item_id,
        {{ clean_id('order_id') }} as order_id,

        ---------- strings
        {{ clean_enum('product_category') }} as product_category,

        ---------- numerics
        quantity,
        cast(unit_price as numeric(18, 2)) as unit_price,
        -- NULL when the export does not say (a transactions-only file): unknown is not "no discount".
        cast(discount_amount as numeric(18, 2)) as discount_amount,

        ---------- booleans
        is_returned

    from source

),

checked as (

    select
        *,
        case
            when order_item_id is null then 'missing_order_item_id'
            when order_id is null then 'missing_order_id'
            when quantity is null then 'missing_quantity'
            when quantity = 0 then 'zero_quantity'
            when unit_price is null then 'missing_amount'
            -- Two minus signs make a positive line: a purchase or a refund? Neither can be told, so set aside.
            when quantity < 0 and unit_price < 0 then 'negative_quantity_and_amount'
        end as quarantine_reason,
        -- A line worth less than nothing (a negative quantity or a negative amount) is a refund: a return of
        -- the customer's purchase, kept in staging with its magnitudes and `is_refund` (see stg_raw__order_items).
        coalesce(quantity < 0 or unit_price < 0, false) as is_refund
    from renamed

)

select * from checked
