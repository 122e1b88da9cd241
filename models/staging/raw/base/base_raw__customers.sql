with

source as (

    select * from {{ source('raw', 'customers') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('customer_id') }} as customer_id,

        ---------- strings
        lower(trim(email)) as email,
        upper(trim(country_code)) as country_code,
        {{ clean_enum('acquisition_channel') }} as acquisition_channel,

        ---------- booleans
        coalesce(marketing_opt_in, false) as is_marketing_opt_in,

        ---------- timestamps
        {{ to_utc_timestamp('signed_up_at') }} as signed_up_at

    from source

),

checked as (

    select
        *,
        case
            when customer_id is null then 'missing_customer_id'
        end as quarantine_reason
    from renamed

)

select * from checked
