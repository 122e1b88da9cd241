-- Usable rows only: the rest are in quarantined_raw_rows, with the reason.
with

checked as (

    select * from {{ ref('base_raw__support_tickets') }}

),

usable as (

    select
        ticket_id,
        customer_id,
        contact_channel,
        complexity,
        topic,
        satisfaction_score,
        opened_at,
        resolved_at
    from checked
    where quarantine_reason is null

)

select * from usable
