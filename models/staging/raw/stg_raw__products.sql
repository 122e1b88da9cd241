-- Usable rows only: the rest are in quarantined_raw_rows, with the reason.
with

checked as (

    select * from {{ ref('base_raw__products') }}

),

usable as (

    select
        product_id,
        title,
        category,
        category_key,
        brand,
        price,
        description
    from checked
    where quarantine_reason is null

)

select * from usable
