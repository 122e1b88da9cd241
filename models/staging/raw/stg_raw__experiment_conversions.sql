with

source as (

    select * from {{ source('raw', 'experiment_conversions') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('experiment_id') }} as experiment_id,
        {{ clean_id('visitor_id') }} as visitor_id,

        ---------- numerics
        cast(conversion_value as numeric(18, 2)) as conversion_value,

        ---------- timestamps
        {{ to_utc_timestamp('converted_at') }} as converted_at

    from source

)

select * from renamed
