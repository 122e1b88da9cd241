-- Web events up to observation_end, attributed to the canonical customer.
with

web_events as (

    select * from {{ ref('stg_raw__web_events') }}

),

account_merges as (

    select * from {{ ref('int_customer_merges_resolved') }}

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

attributed as (

    select
        web_events.event_id,
        coalesce(account_merges.canonical_customer_id, web_events.customer_id) as customer_id,
        web_events.session_id,
        web_events.event_type,
        web_events.page_type,
        web_events.device_type,
        web_events.occurred_at
    from web_events
    cross join observation_window
    left join account_merges
        on web_events.customer_id = account_merges.customer_id
    where cast(web_events.occurred_at as date) <= observation_window.observation_end

)

select * from attributed
