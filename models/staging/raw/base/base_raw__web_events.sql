with

source as (

    select * from {{ source('raw', 'web_events') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('event_id') }} as event_id,
        {{ clean_id('customer_id') }} as customer_id,
        {{ clean_id('session_id') }} as session_id,

        ---------- strings
        {{ clean_enum('event_type') }} as event_type,
        {{ clean_enum('page_type') }} as page_type,
        {{ clean_enum('device_type') }} as device_type,

        ---------- timestamps
        {{ to_utc_timestamp('occurred_at') }} as occurred_at

    from source

),

checked as (

    select
        *,
        case
            when event_id is null then 'missing_event_id'
            when customer_id is null then 'missing_customer_id'
            when occurred_at is null then 'missing_timestamp'
        end as quarantine_reason
    from renamed

)

select * from checked
