with

source as (

    select * from {{ source('raw', 'products') }}

),

renamed as (

    select

        ----------  ids
        -- Text, as catalogues have them (ASINs, SKUs or numbers); the cast reads a table loaded when they were
        -- bigint.
        {{ clean_id('cast(product_id as ' ~ type_text() ~ ')') }} as product_id,

        ---------- strings
        nullif(trim(title), '') as title,
        -- The category as the shop displays it, and a lower-cased key that matches whatever its case.
        nullif(trim(category), '') as category,
        {{ clean_enum('category') }} as category_key,
        nullif(trim(brand), '') as brand,
        nullif(trim(description), '') as description,

        ---------- numerics
        cast(price as numeric(18, 2)) as price

    from source

),

checked as (

    select
        *,
        case
            when product_id is null then 'missing_product_id'
            when title is null then 'missing_title'
            when price < 0 then 'negative_price'
        end as quarantine_reason
    from renamed

)

select * from checked
