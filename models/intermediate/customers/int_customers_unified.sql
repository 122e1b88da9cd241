-- One row per canonical customer seen up to observation_end, in any source: an account, an order, a web event
-- or a support ticket.
with

accounts as (

    select * from {{ ref('stg_raw__customers') }}

),

account_merges as (

    select * from {{ ref('int_customer_merges_resolved') }}

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

orders as (

    select * from {{ ref('int_orders_attributed') }}

),

web_events as (

    select * from {{ ref('int_web_events_attributed') }}

),

support_tickets as (

    select * from {{ ref('int_support_tickets_attributed') }}

),

account_sign_ups as (

    select
        coalesce(account_merges.canonical_customer_id, accounts.customer_id) as customer_id,
        accounts.signed_up_at as seen_at
    from accounts
    cross join observation_window
    left join account_merges
        on accounts.customer_id = account_merges.customer_id
    where cast(accounts.signed_up_at as date) <= observation_window.observation_end

),

sightings as (

    select
        customer_id,
        seen_at
    from account_sign_ups
    union all
    select
        customer_id,
        ordered_at as seen_at
    from orders
    union all
    select
        customer_id,
        occurred_at as seen_at
    from web_events
    union all
    select
        customer_id,
        opened_at as seen_at
    from support_tickets

),

first_sightings as (

    select
        customer_id,
        min(seen_at) as first_seen_at
    from sightings
    group by customer_id

),

merged_accounts as (

    select
        canonical_customer_id as customer_id,
        count(*) as merged_account_count
    from account_merges
    group by canonical_customer_id

),

unified as (

    select
        first_sightings.customer_id,
        accounts.country_code,
        accounts.acquisition_channel,
        coalesce(accounts.is_marketing_opt_in, false) as is_marketing_opt_in,
        coalesce(merged_accounts.merged_account_count, 0) as merged_account_count,
        first_sightings.first_seen_at
    from first_sightings
    left join accounts
        on first_sightings.customer_id = accounts.customer_id
    left join merged_accounts
        on first_sightings.customer_id = merged_accounts.customer_id

)

select * from unified
