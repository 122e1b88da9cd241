-- Usable rows only: the rest are in quarantined_raw_rows, with the reason.
with

checked as (

    select * from {{ ref('base_raw__web_events') }}

),

usable as (

    select
        event_id,
        customer_id,
        session_id,
        event_type,
        page_type,
        device_type,
        occurred_at
    from checked
    where quarantine_reason is null

)

select * from usable
