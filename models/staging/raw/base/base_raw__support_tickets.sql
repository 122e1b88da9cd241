with

source as (

    select * from {{ source('raw', 'support_tickets') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('ticket_id') }} as ticket_id,
        {{ clean_id('customer_id') }} as customer_id,

        ---------- strings
        {{ clean_enum('contact_channel') }} as contact_channel,
        {{ clean_enum('complexity') }} as complexity,
        {{ clean_enum('topic') }} as topic,

        ---------- numerics
        satisfaction_score,

        ---------- timestamps
        {{ to_utc_timestamp('opened_at') }} as opened_at,
        {{ to_utc_timestamp('resolved_at') }} as resolved_at

    from source

),

checked as (

    select
        *,
        case
            when ticket_id is null then 'missing_ticket_id'
            when customer_id is null then 'missing_customer_id'
            when opened_at is null then 'missing_timestamp'
            when resolved_at < opened_at then 'resolved_before_opened'
        end as quarantine_reason
    from renamed

)

select * from checked
